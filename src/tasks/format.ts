/** Text and JSON views of the task catalogue for `nel ls tasks` and `nel ls task NAME`. */
import { dumpYaml } from '../common/yaml.js';
import { builtinEquivalentOf, equivalentName } from './builtin-equivalent.js';
import { BUILTIN_HARNESS } from './builtin-catalogue.js';
import type { TaskCatalogue, TaskDefinition } from './types.js';

/** Registry host of an image reference (`nvcr.io`), or `local` for an image without one. */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'local';
}

export interface TaskListEntry {
  task: string;
  endpoint_type: string;
  harness: string;
  container: string;
  arch: string;
  description: string;
  /** The built-in benchmark that runs this upstream task with --builtin-engine (null: none; built-in tasks: null). */
  builtin_equivalent: string | null;
}

/** The catalogue's tasks as listed; `builtinOnly`: only upstream tasks with a built-in equivalent. */
export function taskListEntries(cat: TaskCatalogue, opts: { builtinOnly?: boolean } = {}): TaskListEntry[] {
  const entries = cat.tasks.map((t) => ({
    task: t.name,
    endpoint_type: t.supportedEndpointTypes.join(','),
    harness: t.harness,
    container: t.container,
    arch: t.arch ?? '',
    description: t.description,
    builtin_equivalent: t.harness === BUILTIN_HARNESS ? null : (builtinEquivalentOf(t, cat)?.name ?? null),
  }));
  return opts.builtinOnly ? entries.filter((e) => e.builtin_equivalent !== null) : entries;
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** `nel ls tasks`: a table grouped by harness and container, or `{"tasks": [...]}` with `json`. */
export function formatTaskList(
  cat: TaskCatalogue,
  opts: { json?: boolean; builtinOnly?: boolean } = {},
): string {
  const entries = taskListEntries(cat, opts);
  if (opts.json) return JSON.stringify({ tasks: entries }, null, 2) + '\n';
  const groups = new Map<string, TaskListEntry[]>();
  for (const e of entries) {
    const key = `${e.harness}\u0000${e.container}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(e);
  }
  const out: string[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    out.push(`harness: ${first.harness}`);
    out.push(`container: ${first.container}`);
    out.push(`arch: ${first.arch || 'unknown'}`);
    out.push(`registry: ${imageRegistry(first.container)}`);
    const ew = Math.max(13, ...list.map((e) => e.endpoint_type.length)); // the endpoint column fits its longest
    out.push(`${'task'.padEnd(36)}${'endpoint'.padEnd(ew + 1)}description`);
    for (const e of list) {
      const mark = e.builtin_equivalent ? `[built-in: ${e.builtin_equivalent}] ` : '';
      const desc = mark + oneLine(e.description);
      out.push(
        `${e.task.padEnd(35)} ${e.endpoint_type.padEnd(ew)} ${desc.length > 100 ? desc.slice(0, 97) + '...' : desc}`.trimEnd(),
      );
    }
    out.push('');
  }
  const equivalents = entries.filter((e) => e.builtin_equivalent !== null).length;
  out.push(
    opts.builtinOnly
      ? `${entries.length} upstream tasks run on the built-in engine (nel run --builtin-engine)`
      : `${entries.length} tasks available; ${equivalents} marked [built-in: X] also run on the built-in engine (nel run --builtin-engine; nel ls tasks --builtin-engine lists them)`,
  );
  return out.join('\n') + '\n';
}

/** `nel ls task NAME`: the details of one task, including its framework defaults as YAML. */
export function formatTaskDetail(task: TaskDefinition, opts: { json?: boolean } = {}): string {
  if (opts.json) {
    return (
      JSON.stringify(
        {
          task: task.name,
          harness: task.harness,
          container: task.container,
          endpoint_type: task.endpointType,
          supported_endpoint_types: task.supportedEndpointTypes,
          arch: task.arch ?? null,
          description: task.description,
          is_unlisted: task.isUnlisted,
          builtin_equivalent: task.harness === BUILTIN_HARNESS ? null : (equivalentName(task) ?? null),
          defaults: task.defaults ?? null,
        },
        null,
        2,
      ) + '\n'
    );
  }
  const lines = [
    `task: ${task.name}`,
    `harness: ${task.harness}`,
    `container: ${task.container}`,
    `arch: ${task.arch ?? 'unknown'}`,
    `endpoint types: ${task.supportedEndpointTypes.join(', ')}`,
    `description: ${oneLine(task.description)}`,
  ];
  if (task.isUnlisted) lines.push('unlisted: yes (not in the catalogue)');
  const equivalent = task.harness === BUILTIN_HARNESS ? undefined : equivalentName(task);
  if (equivalent) lines.push(`built-in equivalent: ${equivalent} (nel run --builtin-engine)`);
  if (task.defaults) {
    lines.push('defaults:');
    for (const l of dumpYaml(task.defaults).trimEnd().split('\n')) lines.push(`  ${l}`);
  }
  return lines.join('\n') + '\n';
}
