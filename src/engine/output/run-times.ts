/** run_times/runtime_<n>.json and the `evaluation` block of eval_factory_metrics.json (engine-spec 6.5). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { mergeMetricsBlock } from './metrics-file.js';

export interface RuntimeMonitor {
  readonly runId: number;
  /** Sample memory now (also done every `intervalMs`). */
  sample(): void;
  /** Write runtime_<n>.json (called periodically and at the end). */
  write(): void;
  /** Stop the timer, write the final file and merge the `evaluation` block. */
  finish(extra?: { inferenceTimeSeconds?: number }): void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** One file per engine invocation in the same output dir: runtime_0.json, runtime_1.json, ... */
export function nextRunId(outputDir: string): number {
  const dir = join(outputDir, 'run_times');
  if (!existsSync(dir)) return 0;
  const ids = readdirSync(dir)
    .map((f) => /^runtime_(\d+)\.json$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  return ids.length ? Math.max(...ids) + 1 : 0;
}

export function startRuntimeMonitor(
  outputDir: string,
  now: () => number = Date.now,
  intervalMs = 5000,
): RuntimeMonitor {
  const runId = nextRunId(outputDir);
  const start = now();
  let peak = process.memoryUsage.rss();
  const file = join(outputDir, 'run_times', `runtime_${runId}.json`);
  const snapshot = (): Record<string, unknown> => {
    const end = now();
    return {
      run_id: runId,
      start_time: iso(start),
      end_time: iso(end),
      runtime_seconds: (end - start) / 1000,
      peak_memory_bytes: peak,
      peak_tree_memory_bytes: peak,
    };
  };
  const m: RuntimeMonitor = {
    runId,
    sample() {
      peak = Math.max(peak, process.memoryUsage.rss());
    },
    write() {
      writeFileAtomic(file, JSON.stringify(snapshot(), null, 2) + '\n');
    },
    finish(extra = {}) {
      clearInterval(timer);
      m.sample();
      const snap = snapshot();
      writeFileAtomic(file, JSON.stringify(snap, null, 2) + '\n');
      const runtime = snap.runtime_seconds as number;
      const inference = extra.inferenceTimeSeconds ?? 0;
      mergeMetricsBlock(outputDir, 'evaluation', {
        runtime_seconds: runtime,
        start_time: snap.start_time,
        end_time: snap.end_time,
        peak_memory_bytes: peak,
        peak_tree_memory_bytes: peak,
        // Runs in this output dir so far (this one included), not double-counted.
        total_runs: runId + 1,
        inference_time_seconds: inference,
        scoring_time_seconds: Math.max(0, runtime - inference),
      });
    },
  };
  let ticks = 0;
  const timer = setInterval(() => {
    m.sample();
    if (++ticks % Math.max(1, Math.round(intervalMs / 500)) === 0) m.write();
  }, 500);
  timer.unref();
  m.write();
  return m;
}
