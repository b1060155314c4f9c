/** Invocation directory layout and the `-t` task filter (launcher-spec 5.1, 5.2, 7.1). */
import { join, resolve } from 'node:path';
import { NelError } from '../common/errors.js';
import { localStamp } from '../common/ids.js';
import type { Obj } from '../common/objects.js';

/** `<abs output_dir>/<YYYYmmdd_HHMMSS>-<inv>` (local time, no microseconds). */
export function invocationDirPath(
  outputDir: string,
  invocationId: string,
  now: Date,
  cwd = process.cwd(),
): string {
  return join(resolve(cwd, outputDir), `${localStamp(now)}-${invocationId}`);
}

/**
 * The task directory name `<task name>.<index>`. A `/` (or NUL) in a task name would leave the
 * invocation dir, so those characters become `_`; everything else is kept as written.
 */
export function taskDirName(taskName: string, index: number): string {
  return `${taskName.replace(/[/\u0000]/g, '_')}.${index}`;
}

/**
 * Keep the tasks the `-t` filters select, in config order. A filter equal to a task's name selects every
 * task with that name; `<name>.<index>` selects the one at that (original) index. Unknown filters are an
 * error listing what is available. The kept tasks are renumbered by the caller (job index = position).
 */
export function filterTasks(tasks: Obj[], filters: string[] | undefined): Obj[] {
  if (!filters || filters.length === 0) return tasks;
  if (tasks.length === 0) {
    throw new NelError('TASK_FILTER', 'No tasks defined in config. Cannot filter tasks.', {
      hint: 'add tasks under evaluation.tasks',
    });
  }
  const names = tasks.map((t) => String(t.name ?? ''));
  const uniqueNames = names.map((n, i) => `${n}.${i}`);
  const keep = new Set<number>();
  const unknown: string[] = [];
  for (const f of filters) {
    let hit = false;
    names.forEach((n, i) => {
      if (n === f || uniqueNames[i] === f) {
        keep.add(i);
        hit = true;
      }
    });
    if (!hit) unknown.push(f);
  }
  if (unknown.length > 0) {
    const list = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
    throw new NelError(
      'TASK_FILTER',
      `Requested task(s) not found in config: ${list(unknown)}. Available tasks: ${list(uniqueNames)}`,
      { hint: 'use a task name from the config, or <name>.<index> for one of several tasks with that name' },
    );
  }
  return tasks.filter((_, i) => keep.has(i));
}
