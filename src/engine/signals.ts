/**
 * SIGTERM: stop sending new requests and backoff waits, let in-flight requests finish for up to `graceMs`
 * (NEMO_EVALUATOR_SHUTDOWN_TIMEOUT_SECONDS, default 2 s), then abort them
 * (a repeated SIGTERM changes nothing; a SIGINT after it aborts them at once).
 * SIGINT: stop and abort in-flight requests after 1 s. The evaluation loop reads the two signals; the CLI
 * maps the outcome to exit codes (SIGTERM -> 0 with the interrupted marker, SIGINT -> 130).
 */
export type StopReason = 'SIGTERM' | 'SIGINT';

export interface ShutdownControl {
  /** Aborted when new work must stop; `reason` is the StopReason. */
  readonly stop: AbortSignal;
  /** Aborted when in-flight work must be cancelled. */
  readonly hard: AbortSignal;
  readonly reason: StopReason | null;
  dispose(): void;
}

export interface SignalSource {
  on(event: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

/**
 * How long requests in flight may finish after SIGTERM before they are cancelled: short, so a run ends
 * within a few seconds (and before `nel kill` escalates to SIGKILL); their answers are simply re-requested
 * by a rerun.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 2000;

export function shutdownGraceMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env.NEMO_EVALUATOR_SHUTDOWN_TIMEOUT_SECONDS);
  return Number.isFinite(v) && v >= 0 && env.NEMO_EVALUATOR_SHUTDOWN_TIMEOUT_SECONDS !== ''
    ? v * 1000
    : DEFAULT_SHUTDOWN_GRACE_MS;
}

export function installSignalHandlers(
  opts: { graceMs: number; source?: SignalSource; onSecondSignal?: (reason: StopReason) => void } = {
    graceMs: 30_000,
  },
): ShutdownControl {
  const source: SignalSource = opts.source ?? process;
  const stop = new AbortController();
  const hard = new AbortController();
  let reason: StopReason | null = null;
  let timer: NodeJS.Timeout | null = null;
  const trigger = (r: StopReason, graceMs: number): void => {
    // A stopper often delivers the same SIGTERM by several routes at once (process group, PID, a
    // forwarding shell): a repeated SIGTERM keeps the grace period; SIGINT after a stop cancels now.
    if (reason && r === 'SIGTERM') return;
    if (reason) {
      opts.onSecondSignal?.(r);
      hard.abort(r);
      return;
    }
    reason = r;
    stop.abort(r);
    timer = setTimeout(() => hard.abort(r), graceMs);
    timer.unref();
  };
  const onTerm = (): void => trigger('SIGTERM', opts.graceMs);
  const onInt = (): void => trigger('SIGINT', 1000);
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  return {
    stop: stop.signal,
    hard: hard.signal,
    get reason() {
      return reason;
    },
    dispose() {
      source.off('SIGTERM', onTerm);
      source.off('SIGINT', onInt);
      if (timer) clearTimeout(timer);
    },
  };
}
