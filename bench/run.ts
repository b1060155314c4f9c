/**
 * The performance suite: `npm run bench` (full, writes docs/PERFORMANCE.md) or `npm run bench -- --smoke`
 * (tiny sizes, prints the report and writes it to a temp file unless --write is given).
 * Options: --only <name>[,<name>] (throughput, peer, cached, memory, launcher, container, sandbox, slurm,
 * loglikelihood; the partial report goes to a temp file unless --write or --out is given), --rounds N,
 * --data DIR (folder holding gsm8k/test.jsonl; default ../shared/data beside the repository), --out FILE.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllChildren } from './lib/child.js';
import { errorText, removeAllTemps, type BenchOptions } from './lib/context.js';
import { judgeGoals } from './lib/goals.js';
import { machineInfo } from './lib/machine.js';
import { dataDir, repoRoot } from './lib/paths.js';
import { renderReport } from './lib/report.js';
import type { SuiteResult } from './lib/results.js';
import { cachedRerun, engineThroughput, peerComparison } from './suites/engine-throughput.js';
import { codeExecution, codeExecutionGoals } from './suites/code-execution.js';
import { containerOverhead } from './suites/container-overhead.js';
import { launcherLatency } from './suites/launcher-latency.js';
import { loglikelihoodGoals, loglikelihoodThroughput } from './suites/loglikelihood.js';
import { memory } from './suites/memory.js';
import { slurmScale } from './suites/slurm-scale.js';

const SUITES: { name: string; title: string; run: (o: BenchOptions) => Promise<SuiteResult> }[] = [
  { name: 'throughput', title: '1. Engine throughput', run: engineThroughput },
  { name: 'peer', title: '1b. Engine vs promptfoo (whole process)', run: peerComparison },
  { name: 'cached', title: '2. Cached rerun', run: cachedRerun },
  { name: 'memory', title: '3. Memory', run: memory },
  { name: 'launcher', title: '4. Launcher latency', run: launcherLatency },
  { name: 'container', title: '5. Container overhead', run: containerOverhead },
  { name: 'sandbox', title: '6. Code-execution throughput', run: codeExecution },
  { name: 'slurm', title: '7. Slurm submission and status', run: slurmScale },
  { name: 'loglikelihood', title: '8. Log-likelihood throughput', run: loglikelihoodThroughput },
];

export interface CliArgs {
  smoke: boolean;
  write: boolean;
  rounds: number | null;
  only: string[] | null;
  data: string | null;
  out: string | null;
}

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = { smoke: false, write: false, rounds: null, only: null, data: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--smoke') a.smoke = true;
    else if (flag === '--write') a.write = true;
    else if (flag === '--rounds') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error('--rounds must be an integer in 1..50');
      a.rounds = n;
    } else if (flag === '--only') {
      const names = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
      if (unknown.length)
        throw new Error(
          `unknown benchmark ${unknown.join(', ')} (use ${SUITES.map((s) => s.name).join(', ')})`,
        );
      a.only = [...(a.only ?? []), ...names];
    } else if (flag === '--data') a.data = value();
    else if (flag === '--out') a.out = value();
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write(
        'usage: npm run bench -- [--smoke] [--write] [--only NAME[,NAME]] [--rounds N] [--data DIR] [--out FILE]\n' +
          `benchmarks: ${SUITES.map((s) => s.name).join(', ')}\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  return a;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${errorText(e)}\n`);
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  const opts: BenchOptions = {
    smoke: args.smoke,
    rounds: args.rounds ?? (args.smoke ? 1 : 3),
    only: args.only,
    dataDir: dataDir(args.data ?? undefined),
    write: args.write,
    log: (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
  };
  const onSignal = (): void => {
    killAllChildren();
    removeAllTemps();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const loads: number[] = [loadavg()[0] ?? 0];
  const loadTimer = setInterval(() => loads.push(loadavg()[0] ?? 0), 5000);
  loadTimer.unref();
  const results: SuiteResult[] = [];
  for (const s of SUITES) {
    if (opts.only && !opts.only.includes(s.name)) continue;
    opts.log(`${s.title} ...`);
    try {
      results.push(await s.run(opts));
    } catch (e) {
      opts.log(`${s.title}: FAILED ${errorText(e)}`);
      results.push({
        key: s.name,
        title: s.title,
        description: '',
        tables: [],
        facts: {},
        notes: [],
        unavailable: errorText(e),
      });
    }
  }
  clearInterval(loadTimer);
  killAllChildren();
  removeAllTemps();

  const report = renderReport({
    machine: machineInfo(),
    results,
    goals: [
      ...judgeGoals(results, opts.smoke),
      ...codeExecutionGoals(results, opts.smoke),
      ...loglikelihoodGoals(results, opts.smoke),
    ],
    smoke: opts.smoke,
    rounds: opts.rounds,
    durationS: (Date.now() - started) / 1000,
    load: { samples: loads, cpus: cpus().length },
  });
  const target =
    args.out ??
    // a partial run (--smoke, --only) would replace the whole report with its part: a temp file unless --write
    ((opts.smoke || opts.only) && !args.write
      ? join(mkdtempSync(join(tmpdir(), 'nel-bench-report-')), 'PERFORMANCE.md')
      : join(repoRoot(), 'docs', 'PERFORMANCE.md'));
  writeFileSync(target, report);
  if (opts.smoke) process.stdout.write(report);
  opts.log(`report written to ${target} (${Math.round((Date.now() - started) / 1000)} s)`);
}

void main();
