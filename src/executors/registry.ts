/**
 * The one place executors are registered: `execution.type` (and a job record's `executor`) -> the
 * executor. Each entry has the status reader (small, loaded with `nel status`) and a lazy loader for
 * everything else (plan, launch, kill, resume, logs, info), so commands pay only for what they use.
 */
import { NelError } from '../common/errors.js';
import { localStatus } from './local/status.js';
import { slurmStatus } from './slurm/status.js';
import type { Executor, ExecutorStatus } from './types.js';

interface ExecutorEntry {
  status: ExecutorStatus;
  load: () => Promise<Executor>;
}

const EXECUTORS: Record<string, ExecutorEntry> = {
  local: { status: localStatus, load: async () => (await import('./local/index.js')).localExecutor },
  slurm: { status: slurmStatus, load: async () => (await import('./slurm/index.js')).slurmExecutor },
};

/** The executor of a config without `execution.type`. */
export const DEFAULT_EXECUTOR = 'local';

/** The names of the registered executors, in registration order. */
export function executorNames(): string[] {
  return Object.keys(EXECUTORS);
}

const entryOf = (name: string): ExecutorEntry | undefined =>
  Object.prototype.hasOwnProperty.call(EXECUTORS, name) ? EXECUTORS[name] : undefined;

function notFound(name: string): NelError {
  return new NelError(
    'CONFIG_INVALID',
    `Executor ${name} not found. Available executors: [${executorNames().join(', ')}]`,
    { hint: `set execution.type to one of them (for example -o execution.type=${DEFAULT_EXECUTOR})` },
  );
}

/** The executor registered as `name`; NelError (upstream's message) when there is none. */
export async function getExecutor(name: string = DEFAULT_EXECUTOR): Promise<Executor> {
  const entry = entryOf(name);
  if (!entry) throw notFound(name);
  return entry.load();
}

/** The status reader of executor `name`, or undefined when no such executor is registered. */
export function executorStatus(name: string): ExecutorStatus | undefined {
  return entryOf(name)?.status;
}

/** `execution.type` of a resolved config (default: DEFAULT_EXECUTOR). */
export function executionType(resolved: unknown): string {
  const execution = (resolved as { execution?: { type?: unknown } } | null)?.execution;
  const t = execution?.type;
  return t === undefined || t === null || t === '' ? DEFAULT_EXECUTOR : String(t);
}
