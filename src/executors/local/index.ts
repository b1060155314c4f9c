/**
 * The local executor: jobs run on this machine, in Docker containers or on the host, started as
 * detached bash scripts (run.sh per task, run_all.*.sh per invocation). Planning is loaded with this
 * module; launch, kill, resume, logs and info load when first called.
 */
import { NelError } from '../../common/errors.js';
import type { InvocationPlan } from '../../launcher/types.js';
import { dockerAvailable } from '../../runtime/docker.js';
import { engineImageRef } from '../../runtime/engine-image-ref.js';
import type { Executor } from '../types.js';
import { buildInvocationPlan, formatDryRun } from './plan.js';
import { LOCAL } from './status.js';

/** Docker plans: the daemon answers and nel's own engine image (when a job uses it) is built. */
async function checkRuntime(plan: InvocationPlan): Promise<void> {
  if (!plan.useDocker) return;
  const d = await dockerAvailable();
  if (!d.ok) {
    throw new NelError('DOCKER_UNAVAILABLE', `Docker is not available: ${d.reason ?? 'docker info failed'}`, {
      hint: 'start the Docker engine, or run the tasks on the host with `nel run --no-docker` (or execution.use_docker: false)',
    });
  }
  const ownImage = engineImageRef();
  if (plan.jobs.some((j) => j.evalImage === ownImage)) {
    const { imageExists } = await import('../../runtime/engine-image.js');
    if (!imageExists(ownImage)) {
      throw new NelError('DOCKER_UNAVAILABLE', `the engine image ${ownImage} is not built on this machine`, {
        hint: 'build it once with `nel build-image` (no registry needed), or run on the host with --no-docker',
      });
    }
  }
}

export const localExecutor: Executor = {
  name: LOCAL,
  plan: buildInvocationPlan,
  formatDryRun,
  checkRuntime,
  launch: async (plan, opts) => (await import('./launch.js')).launchInvocation(plan, opts),
  kill: async (id, opts) => (await import('./kill.js')).killJobOrInvocation(id, opts),
  resume: async (id, opts) => (await import('./resume.js')).resumeInvocation(id, opts),
  streamLogs: async (ids, opts) => (await import('./logs.js')).streamLogs(ids, opts),
  info: async (ids, opts) => (await import('./info.js')).describeJobs(ids, opts),
};
