/**
 * The Slurm executor: each task is one batch script (`<task>/run.sub`) for sbatch, in upstream's
 * layout on the cluster. This build plans and dry-runs (`nel run --dry-run` writes the scripts into a
 * staging directory and prints them); submitting, killing, resuming and reading logs are not available
 * yet, and a real run refuses in one line before anything is written.
 */
import { NelError } from '../../common/errors.js';
import type { LoadedConfig } from '../../config/index.js';
import type { BuildPlanOptions } from '../../launcher/plan.js';
import type { InvocationPlan } from '../../launcher/types.js';
import type { Executor } from '../types.js';
import { buildSlurmPlan, formatSlurmDryRun, isSlurmPlan } from './plan.js';
import { SLURM } from './status.js';

const ON_CLUSTER = {
  kill: 'cancel it on the cluster with scancel (its Slurm job ids are in <task>/.slurm_job_id.list and .slurm_next_job_id)',
  resume: 'submit <task>/run.sub again with sbatch on the cluster',
  logs: 'read <task>/logs/ on the cluster: slurm-<id>.log (the job), client-<id>.log (the evaluation), server-*.log',
};

/** The one-line refusal of everything that needs a cluster. */
export function notLaunchable(what: string, plan?: InvocationPlan, hint?: string): NelError {
  const staged = plan && isSlurmPlan(plan) ? ` (staged in ${plan.invocationDir})` : '';
  return new NelError(
    'LAUNCH_FAILED',
    `execution.type slurm cannot ${what} from this build yet: it prepares the sbatch scripts only`,
    {
      hint:
        hint ??
        `run with --dry-run to write each task's run.sub${staged}; copy the invocation folder to execution.output_dir on the cluster and submit each run.sub with sbatch`,
    },
  );
}

/** The plan; a real run is refused once the config is known to be valid, so nothing is written. */
function plan(loaded: LoadedConfig, opts: BuildPlanOptions): InvocationPlan {
  const p = buildSlurmPlan(loaded, opts);
  if (!opts.dryRun) throw notLaunchable('submit jobs');
  return p;
}

export const slurmExecutor: Executor = {
  name: SLURM,
  plan,
  formatDryRun: formatSlurmDryRun,
  checkRuntime: async (p) => {
    throw notLaunchable('submit jobs', p);
  },
  launch: async (p) => {
    throw notLaunchable('submit jobs', p);
  },
  kill: async () => {
    throw notLaunchable('kill jobs', undefined, ON_CLUSTER.kill);
  },
  resume: async () => {
    throw notLaunchable('resume jobs', undefined, ON_CLUSTER.resume);
  },
  streamLogs: async () => {
    throw notLaunchable('stream logs', undefined, ON_CLUSTER.logs);
  },
  info: async () => {
    throw notLaunchable('describe jobs', undefined, ON_CLUSTER.logs);
  },
};
