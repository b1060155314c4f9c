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

/** The one-line refusal of everything that needs a cluster. */
export function notLaunchable(what: string, plan?: InvocationPlan): NelError {
  const staged = plan && isSlurmPlan(plan) ? ` (staged in ${plan.invocationDir})` : '';
  return new NelError(
    'LAUNCH_FAILED',
    `execution.type slurm cannot ${what} from this build yet: it prepares the sbatch scripts only`,
    {
      hint: `run with --dry-run to write each task's run.sub${staged}; copy the invocation folder to execution.output_dir on the cluster and submit each run.sub with sbatch`,
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
    throw notLaunchable('kill jobs');
  },
  resume: async () => {
    throw notLaunchable('resume jobs');
  },
  streamLogs: async () => {
    throw notLaunchable('stream logs');
  },
  info: async () => {
    throw notLaunchable('describe jobs');
  },
};
