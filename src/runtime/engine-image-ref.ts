import { packageVersion } from '../common/version.js';

/** Name of the locally built engine image (never pulled from a registry). */
export const ENGINE_IMAGE_NAME = 'nemo-evaluator-ts';

/** The engine image reference for this package version: `nemo-evaluator-ts:<version>`. */
export function engineImageRef(version: string = packageVersion()): string {
  return `${ENGINE_IMAGE_NAME}:${version}`;
}
