/**
 * The status reader of Slurm jobs. This build prepares run.sub scripts but does not submit them, so
 * it has no Slurm job ids to ask squeue/sacct about: every record reads `unknown`, never a guess.
 */
import type { ExecutorStatus } from '../types.js';

/** The name the Slurm executor's jobs carry in the exec DB (`executor`) and in `execution.type`. */
export const SLURM = 'slurm';

export const slurmStatus: ExecutorStatus = {
  readJobStatus: () => ({ state: 'unknown', progress: null, exitCode: null }),
  reconcile: () => {},
  cause: () => ({
    cause: 'the state of Slurm jobs is not read by this build (it does not submit them yet)',
    hint: 'ask Slurm directly: squeue --me, or sacct -j <slurm job id>',
  }),
};
