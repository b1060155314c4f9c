import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { engineImageRef } from '../../src/runtime/engine-image-ref.js';

let cached: boolean | undefined;

export function dockerWorks(): boolean {
  if (cached === undefined) {
    if (process.env.NEL_TEST_DOCKER === '0') cached = false;
    else cached = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
  }
  return cached;
}

/**
 * Docker tests: run when the engine answers; with CI=true a missing engine is a failure, never a skip.
 * Returns false when the test was skipped.
 */
export function requireDocker(t: TestContext): boolean {
  if (dockerWorks()) return true;
  if (process.env.CI === 'true')
    throw new Error('CI=true but the Docker engine is not reachable (docker info failed)');
  t.skip('Docker engine not reachable');
  return false;
}

/** The engine image tag; `npm test` builds it before the tests run. */
export function engineImage(t: TestContext): string | undefined {
  if (!requireDocker(t)) return undefined;
  const ref = engineImageRef();
  const ok =
    spawnSync('docker', ['image', 'inspect', ref], { encoding: 'utf8', timeout: 20_000 }).status === 0;
  if (!ok) {
    if (process.env.CI === 'true')
      throw new Error(`engine image ${ref} is missing (npm test builds it first)`);
    t.skip(`engine image ${ref} not built (run: node dist/src/bin/nel.js build-image)`);
    return undefined;
  }
  return ref;
}
