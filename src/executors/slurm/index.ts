/**
 * The Slurm executor: each task is one batch script (`<task>/run.sub`) for sbatch, in upstream's
 * layout on the cluster. `nel run --dry-run` writes the scripts into a staging directory and prints
 * them; a real run copies the staged invocation to `execution.output_dir` on the cluster and submits
 * each run.sub (launch.ts), on this machine when `execution.hostname` names it, else over ssh on the
 * login node. Status (status.ts) asks Slurm once per cluster; kill, resume, logs and info are in
 * jobs.ts, loaded when first called.
 */
import type { Executor } from '../types.js';
import { slurmEndpointProber } from './endpoint-probe.js';
import { buildSlurmPlan, formatSlurmDryRun } from './plan.js';
import { SLURM } from './status.js';

export const slurmExecutor: Executor = {
  name: SLURM,
  plan: buildSlurmPlan,
  formatDryRun: formatSlurmDryRun,
  // The cluster is checked (paths, sbatch, the login node) by launch, before anything is copied there.
  checkRuntime: async () => {},
  launch: async (plan, opts) => (await import('./launch.js')).launchSlurm(plan, opts),
  kill: async (id, opts) => (await import('./jobs.js')).killSlurmJobs(id, opts),
  resume: async (id, opts) => (await import('./jobs.js')).resumeSlurmInvocation(id, opts),
  streamLogs: async (ids, opts) => (await import('./jobs.js')).streamSlurmLogs(ids, opts),
  info: async (ids, opts) => (await import('./jobs.js')).describeSlurmJobs(ids, opts),
  endpointProber: slurmEndpointProber,
  fetchArtifacts: async (recs, opts) => (await import('./artifacts.js')).fetchSlurmArtifacts(recs, opts),
};
