/** 3. Peak RSS of the engine CLI over many samples (GNU time's max RSS, else /proc VmHWM polling). */
import { join } from 'node:path';
import { engineCli, runEngineCli } from '../contenders/engine.js';
import { errorText, makeTemp, removeTemp, type BenchOptions } from '../lib/context.js';
import { gsm8kSourceFile, readGsm8k, writeCycledGsm8k } from '../lib/data.js';
import { startEndpointChild } from '../lib/endpoint.js';
import type { Row, SuiteResult } from '../lib/results.js';

const RUN_TIMEOUT_MS = 20 * 60_000;

export async function memory(opts: BenchOptions): Promise<SuiteResult> {
  const sizes = opts.smoke ? [5000] : [5000, 25_000, 100_000];
  const largest = sizes[sizes.length - 1]!;
  const parallelism = 64;
  const result: SuiteResult = {
    key: 'memory',
    title: '3. Memory',
    description:
      `Peak RSS of \`nemo-evaluator run_eval\` (whole process, parallelism ${parallelism}, 0 ms latency) over ` +
      `${sizes.map((s) => s.toLocaleString('en-US')).join(', ')} distinct samples; the smaller sizes show how memory grows with the sample count.`,
    tables: [],
    facts: {},
    notes: [],
  };
  const reason = await engineCli.unavailable();
  const rssRows: Row[] = [];
  const rateRows: Row[] = [];
  const dir = makeTemp('memory');
  try {
    const source = readGsm8k(gsm8kSourceFile(opts.dataDir));
    // one file per size (each the first n records of the largest), so each run reads only its own samples
    const fileFor = (n: number): string => join(dir, `gsm8k-bench-${n}.jsonl`);
    for (const n of sizes) writeCycledGsm8k(source, n, fileFor(n));
    const datasetFile = fileFor(largest);
    const endpoint = reason ? null : await startEndpointChild({ datasetFile, latencyMs: 0 });
    try {
      for (const n of sizes) {
        const label = `engine CLI, ${n.toLocaleString('en-US')} samples`;
        const rss: Row = {
          label,
          scope: 'whole process',
          values: [],
          ...(reason ? { unavailable: reason } : {}),
        };
        const rate: Row = {
          label,
          scope: 'whole process',
          values: [],
          ...(reason ? { unavailable: reason } : {}),
        };
        rssRows.push(rss);
        rateRows.push(rate);
        if (!endpoint) continue;
        const outputDir = join(dir, `run-${n}`);
        try {
          const res = await runEngineCli(
            {
              samples: n,
              datasetFile: fileFor(n),
              contents: [],
              parallelism,
              endpoint,
              outputDir,
              timeoutMs: RUN_TIMEOUT_MS,
            },
            true,
          );
          if (res.peakRssKb == null) (rss.errors ??= []).push('peak RSS not measurable');
          else rss.values.push(res.peakRssKb / 1024);
          rate.values.push(n / res.seconds);
          if (res.completed < n) (rss.errors ??= []).push(`answered ${res.completed}/${n}`);
          opts.log(
            `  memory ${n}: ${res.peakRssKb == null ? '?' : (res.peakRssKb / 1024).toFixed(0)} MB peak, ${(n / res.seconds).toFixed(0)} samples/s`,
          );
          result.facts[`peakRssMb_${n}`] = res.peakRssKb == null ? null : res.peakRssKb / 1024;
        } catch (e) {
          (rss.errors ??= []).push(errorText(e));
          opts.log(`  memory ${n}: FAILED ${errorText(e)}`);
        } finally {
          removeTemp(outputDir);
        }
      }
      // The smallest sample count again, limited (limit_samples) from the largest file: what reading the
      // whole data set costs when only part of it is evaluated.
      if (endpoint && !opts.smoke && sizes.length > 1) {
        const n = sizes[0]!;
        const outputDir = join(dir, 'run-limited');
        try {
          const res = await runEngineCli(
            {
              samples: n,
              datasetFile,
              contents: [],
              parallelism,
              endpoint,
              outputDir,
              timeoutMs: RUN_TIMEOUT_MS,
            },
            true,
          );
          if (res.peakRssKb != null) {
            const mb = res.peakRssKb / 1024;
            result.facts.peakRssMbLimitedFromLargest = mb;
            const row: Row = {
              label: `engine CLI, ${n.toLocaleString('en-US')} samples via limit_samples from the ${largest.toLocaleString('en-US')}-record file`,
              scope: 'whole process',
              values: [mb],
            };
            rssRows.push(row);
            opts.log(`  memory ${n} limited from ${largest}: ${mb.toFixed(0)} MB peak`);
          }
        } catch (e) {
          result.notes.push(`limited run failed: ${errorText(e)}`);
        } finally {
          removeTemp(outputDir);
        }
      }
    } finally {
      await endpoint?.close();
    }
  } finally {
    removeTemp(dir);
  }
  const small = result.facts[`peakRssMb_${sizes[0]}`];
  const big = result.facts[`peakRssMb_${largest}`];
  if (typeof small === 'number' && typeof big === 'number' && largest > sizes[0]!) {
    result.facts.rssMbPer10kSamples = ((big - small) / (largest - sizes[0]!)) * 10_000;
  }
  result.facts.largestSamples = largest;
  result.tables.push({ title: 'Peak RSS', unit: 'MB', better: 'lower', rows: rssRows });
  result.tables.push({
    title: 'Throughput of the same runs',
    unit: 'samples/s',
    better: 'higher',
    rows: rateRows,
  });
  return result;
}
