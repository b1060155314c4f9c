/** Loading task catalogues (built-in or an upstream `all_tasks_irs.yaml`) and resolving task names. */
import { readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse } from 'yaml';
import { NelError } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { engineImageRef } from '../runtime/engine-image-ref.js';
import {
  BUILTIN_HARNESS,
  builtinEngineTasks,
  UPSTREAM_HARNESSES,
  builtinHarnessDescription,
  upstreamContainer,
} from './builtin-catalogue.js';
import type { HarnessInfo, TaskCatalogue, TaskDefinition, TaskQuery } from './types.js';

function task(
  name: string,
  harness: string,
  container: string,
  types: string[],
  description: string,
  extra: Partial<TaskDefinition> = {},
): TaskDefinition {
  const supported = types.length > 0 ? types : ['chat'];
  return {
    name,
    harness,
    container,
    endpointType: supported[0]!,
    supportedEndpointTypes: supported,
    description,
    isUnlisted: false,
    ...extra,
  };
}

/** The `builtin` harness and its tasks (always part of every catalogue). */
export function builtinEngineHarness(): { harness: HarnessInfo; tasks: TaskDefinition[] } {
  const h = builtinHarnessDescription();
  const container = engineImageRef();
  return {
    harness: { name: h.name, container, description: h.description },
    tasks: builtinEngineTasks().map(([name, types, desc]) =>
      task(name, BUILTIN_HARNESS, container, types, desc),
    ),
  };
}

/** The catalogue compiled into the tool: common upstream tasks (v0.1.28 era facts) plus `builtin`. */
export function builtinCatalogue(): TaskCatalogue {
  const harnesses: HarnessInfo[] = [];
  const tasks: TaskDefinition[] = [];
  for (const h of UPSTREAM_HARNESSES) {
    const container = upstreamContainer(h);
    harnesses.push({ name: h.name, container, description: h.description });
    for (const [name, types, desc] of h.tasks) {
      tasks.push(task(name, h.name, container, Array.isArray(types) ? types : [types], desc));
    }
  }
  const b = builtinEngineHarness();
  return { source: 'built-in', harnesses: [...harnesses, b.harness], tasks: [...tasks, ...b.tasks] };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Build a catalogue from the parsed upstream IRs document (`harnesses[]`, `tasks[]` with `defaults`). */
export function catalogueFromIrs(doc: unknown, source: string): TaskCatalogue {
  const bad = (what: string): never => {
    throw new NelError('CONFIG_INVALID', `task catalogue ${source}: ${what}`, {
      hint: 'use a file in the upstream all_tasks_irs.yaml shape (harnesses: [...], tasks: [...])',
    });
  };
  if (!isPlainObject(doc)) bad('not a YAML mapping');
  const d = doc as Obj;
  if (!Array.isArray(d.tasks)) bad('no `tasks` list');
  const harnesses: HarnessInfo[] = [];
  const byName = new Map<string, HarnessInfo>();
  for (const raw of Array.isArray(d.harnesses) ? d.harnesses : []) {
    if (!isPlainObject(raw) || !str(raw.name)) continue;
    const h: HarnessInfo = {
      name: raw.name as string,
      container: str(raw.container) ?? '',
      description: str(raw.description),
      arch: str(raw.arch),
      url: str(raw.url),
    };
    harnesses.push(h);
    byName.set(h.name, h);
  }
  const tasks: TaskDefinition[] = [];
  (d.tasks as unknown[]).forEach((raw, i) => {
    if (!isPlainObject(raw) || !str(raw.name) || !str(raw.harness))
      bad(`tasks[${i}] needs a name and a harness`);
    const r = raw as Obj;
    const h = byName.get(r.harness as string);
    const container = str(r.container) ?? h?.container ?? '';
    if (!container)
      bad(`task ${String(r.harness)}.${String(r.name)} has no container (neither its own nor its harness's)`);
    const defaults = isPlainObject(r.defaults) ? r.defaults : undefined;
    const cfg = defaults && isPlainObject(defaults.config) ? defaults.config : undefined;
    const types = Array.isArray(cfg?.supported_endpoint_types)
      ? (cfg!.supported_endpoint_types as unknown[]).filter((t): t is string => typeof t === 'string')
      : [];
    tasks.push(
      task(r.name as string, r.harness as string, container, types, str(r.description) ?? '', {
        arch: str(r.arch) ?? h?.arch,
        defaults,
      }),
    );
  });
  if (!byName.has(BUILTIN_HARNESS)) {
    const b = builtinEngineHarness();
    harnesses.push(b.harness);
    tasks.push(...b.tasks);
  }
  return { source, harnesses, tasks };
}

const fileCache = new Map<string, { mtimeMs: number; size: number; cat: TaskCatalogue }>();

/** Read an upstream-format catalogue file (kept in memory for the process, keyed by path + mtime). */
export function readCatalogueFile(path: string): TaskCatalogue {
  const abs = resolvePath(path);
  let st;
  let text: string;
  try {
    st = statSync(abs);
    const hit = fileCache.get(abs);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.cat;
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new NelError(
      'CONFIG_NOT_FOUND',
      `cannot read the task catalogue ${abs}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        hint: 'check the path given by --tasks-file or NEL_TASKS_FILE',
      },
    );
  }
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: false });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new NelError('CONFIG_PARSE', `invalid YAML in the task catalogue ${abs}: ${msg}`, {
      hint: 'use an upstream all_tasks_irs.yaml file',
    });
  }
  const cat = catalogueFromIrs(doc, abs);
  fileCache.set(abs, { mtimeMs: st.mtimeMs, size: st.size, cat });
  return cat;
}

/**
 * The catalogue to use: `tasksFile`, else `$NEL_TASKS_FILE`, else the built-in one.
 * A loaded file replaces the built-in upstream tasks; the `builtin` harness is always kept.
 */
export function loadTaskCatalogue(opts: { tasksFile?: string; env?: NodeJS.ProcessEnv } = {}): TaskCatalogue {
  const env = opts.env ?? process.env;
  const file = opts.tasksFile || env.NEL_TASKS_FILE;
  return file ? readCatalogueFile(file) : builtinCatalogue();
}

const LS_HINT = 'run `nel ls tasks` to see the known tasks';

function withQuery(def: TaskDefinition, q: TaskQuery): TaskDefinition {
  const endpointType = q.endpoint_type || def.endpointType;
  return { ...def, endpointType };
}

function unlisted(taskName: string, harness: string, container: string, q: TaskQuery): TaskDefinition {
  return {
    name: taskName,
    harness,
    container,
    endpointType: q.endpoint_type || 'chat',
    supportedEndpointTypes: [q.endpoint_type || 'chat'],
    description: '',
    isUnlisted: true,
  };
}

/**
 * Resolve a config's task entry as upstream does (launcher-spec 3): `task` must be unique (tasks of the
 * `builtin` harness are only chosen by a bare name when no upstream task has that name), `harness.task`
 * is exact, more than one dot is an error; an explicit `container` makes the task unlisted unless the
 * catalogue lists that task for that container; `harness.task` with an unknown task of a known harness
 * runs unlisted on the harness's container.
 */
export function resolveTask(cat: TaskCatalogue, q: TaskQuery): TaskDefinition {
  const name = q.name;
  const parts = name.split('.');
  if (!name || parts.length > 2 || parts.some((p) => p === '')) {
    throw new NelError(
      'TASK_NOT_FOUND',
      `invalid query=${JSON.stringify(name)}: a task is \`task\` or \`harness.task\``,
      {
        hint: LS_HINT,
      },
    );
  }
  const harness = parts.length === 2 ? parts[0]! : undefined;
  const taskName = parts[parts.length - 1]!;
  const harnessInfo = harness ? cat.harnesses.find((h) => h.name === harness) : undefined;

  if (q.container) {
    const container = q.container;
    const imageHarnesses = [
      ...new Set(cat.tasks.filter((t) => t.container === container).map((t) => t.harness)),
    ];
    if (harness && imageHarnesses.length > 0 && !imageHarnesses.includes(harness)) {
      throw new NelError(
        'TASK_NOT_FOUND',
        `Harness '${harness}' does not match container. Container supports: ${pyList(imageHarnesses)}`,
        { hint: 'fix the harness prefix of the task name or the container' },
      );
    }
    const listed = cat.tasks.filter(
      (t) => t.container === container && t.name === taskName && (!harness || t.harness === harness),
    );
    if (listed.length === 1) return withQuery(listed[0]!, q);
    const h = harness ?? (imageHarnesses.length === 1 ? imageHarnesses[0]! : '');
    return unlisted(taskName, h, container, q);
  }

  if (harness) {
    const found = cat.tasks.find((t) => t.harness === harness && t.name === taskName);
    if (found) return withQuery(found, q);
    // The built-in engine's benchmarks are all known: an unknown one can never run, so it is a typo.
    if (harness === BUILTIN_HARNESS) {
      const close = closeNames(
        cat.tasks.filter((t) => t.harness === BUILTIN_HARNESS),
        taskName,
      );
      throw new NelError(
        'TASK_NOT_FOUND',
        `unknown task ${name}${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''}`,
        { hint: `${LS_HINT}; the built-in engine has no task '${taskName}'` },
      );
    }
    if (harnessInfo && harnessInfo.container) return unlisted(taskName, harness, harnessInfo.container, q);
    throw new NelError(
      'TASK_NOT_FOUND',
      `Harness '${harness}' not found in supported harnesses. Either use a supported harness or provide an explicit container.`,
      { hint: `known harnesses: ${cat.harnesses.map((x) => x.name).join(', ')}` },
    );
  }

  const matches = cat.tasks.filter((t) => t.name === taskName);
  const upstream = matches.filter((t) => t.harness !== BUILTIN_HARNESS);
  const chosen = upstream.length > 0 ? upstream : matches;
  if (chosen.length === 1) return withQuery(chosen[0]!, q);
  if (chosen.length > 1) {
    throw new NelError(
      'TASK_AMBIGUOUS',
      `there are multiple tasks named '${taskName}' in the mapping, please select one of ${pyList(matches.map((t) => `${t.harness}.${t.name}`))}`,
      { hint: 'write the task as harness.task' },
    );
  }
  throw new NelError(
    'TASK_NOT_FOUND',
    `Task '${taskName}' not found. Use <harness>.<task> format or provide an explicit container.`,
    { hint: suggest(cat, taskName) },
  );
}

function pyList(items: string[]): string {
  return `[${items.map((s) => `'${s}'`).join(', ')}]`;
}

/** Edit distance (insertions, deletions, substitutions), for suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * `harness.task` names of the tasks closest to `name`: within an edit distance of a third of its length
 * (at least 1), or containing it / contained in it; nearest first, at most five.
 */
function closeNames(tasks: TaskCatalogue['tasks'], name: string): string[] {
  const lower = name.toLowerCase();
  const limit = Math.max(1, Math.floor(lower.length / 3));
  const scored: [number, string][] = [];
  for (const t of tasks) {
    const n = t.name.toLowerCase();
    const d = editDistance(lower, n);
    if (d <= limit || n.includes(lower) || lower.includes(n)) scored.push([d, `${t.harness}.${t.name}`]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return [...new Set(scored.map(([, s]) => s))].slice(0, 5);
}

function suggest(cat: TaskCatalogue, name: string): string {
  const close = closeNames(cat.tasks, name);
  return close.length > 0 ? `did you mean ${close.join(', ')}? (${LS_HINT})` : LS_HINT;
}
