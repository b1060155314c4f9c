/** Waiting for jobs is executor-neutral (launcher/wait.ts); these names are kept for existing callers. */
export { createProgressRenderer, formatProgressLine, waitForInvocation } from '../../launcher/wait.js';
export type { ProgressRendererOptions, WaitOptions } from '../../launcher/wait.js';
