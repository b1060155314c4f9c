/**
 * 6. Code-execution throughput: programs per second through the sandbox (src/engine/benchmarks/
 * code-execution.ts) at its parallelism, against starting the same interpreter with a trivial program
 * at the same parallelism (the floor).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CODE_EXECUTION_PARALLELISM,
  resolveInterpreter,
  runPythonProgram,
} from '../../src/engine/benchmarks/code-execution.js';
import { errorText, type BenchOptions } from '../lib/context.js';
import type { GoalVerdict } from '../lib/goals.js';
import { fillRatios, medianOf, type Row, type SuiteResult, type Table } from '../lib/results.js';
import { fmt, rotate } from '../lib/stats.js';

export const SANDBOX_LABELS = {
  floor: 'bare interpreter start, trivial program (floor)',
  withSite: 'bare interpreter start with site, trivial program',
  trivial: 'sandbox, trivial program',
  mbpp: 'sandbox, MBPP canonical solution + tests',
} as const;
const GOAL_RATIO = 0.8;
const TIMEOUT_S = 20;

/** One bare start of `python args`, as the sandbox spawns it (own process group, clean environment). */
function bareStart(executable: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(executable, args, {
      stdio: 'ignore',
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_S * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`${executable} ${args.join(' ')} exited ${code}`));
    });
  });
}

/** `count` executions of `one(i)` with `parallelism` at a time; executions per second. */
async function rate(count: number, parallelism: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: parallelism }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** The MBPP test split's programs (canonical code + tests, as the benchmark joins them), or null. */
function mbppPrograms(dataDir: string): string[] | null {
  const file = join(dataDir, 'mbpp', 'mbpp.jsonl');
  if (!existsSync(file)) return null;
  return (
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { task_id: number; code: string; test_list: string[] })
      // 367's tests need its setup code; 123's solution alone takes seconds of CPU and would dominate
      .filter((r) => r.task_id >= 11 && r.task_id <= 510 && r.task_id !== 367 && r.task_id !== 123)
      .map((r) => `${r.code}\n${r.test_list.join('\n')}\n`)
  );
}

interface Contender {
  label: string;
  scope: string;
  one: (i: number) => Promise<void>;
}

export async function codeExecution(opts: BenchOptions): Promise<SuiteResult> {
  const count = opts.smoke ? 40 : 300;
  const parallelism = CODE_EXECUTION_PARALLELISM;
  const interpreter = await resolveInterpreter(process.env.NEMO_EVALUATOR_PYTHON ?? 'python3');
  const sandboxFlags = interpreter.path ? ['-I', '-S'] : ['-I'];
  const result: SuiteResult = {
    key: 'sandbox',
    title: '6. Code-execution throughput',
    description:
      `${count} program executions per contender and round at the sandbox's parallelism (${parallelism} at a time: ` +
      `the CPUs, 2 to 8), interpreter \`${interpreter.executable}\`. The floor starts the interpreter as the sandbox ` +
      `does (\`${sandboxFlags.join(' ')}\`, own process group, clean environment) with \`-c pass\`; the sandbox runs ` +
      'each program in a fresh temp dir through its runner (resource limits, import hooks, time limit, completion mark). ' +
      "The MBPP row runs the test split's canonical solutions with their tests in order (without 123, whose " +
      'solution alone takes seconds of CPU, and 367, whose tests need its setup code).',
    tables: [],
    facts: { parallelism, count },
    notes: [],
  };
  const programs = mbppPrograms(opts.dataDir);
  const sandboxRun = async (program: string): Promise<void> => {
    const r = await runPythonProgram(program, { timeoutSeconds: TIMEOUT_S });
    if (!r.passed) throw new Error(`sandbox run ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  };
  const contenders: Contender[] = [
    {
      label: SANDBOX_LABELS.floor,
      scope: `${sandboxFlags.join(' ')} -c pass`,
      one: () => bareStart(interpreter.executable, [...sandboxFlags, '-c', 'pass']),
    },
    { label: SANDBOX_LABELS.trivial, scope: 'runPythonProgram("pass")', one: () => sandboxRun('pass\n') },
  ];
  if (interpreter.path) {
    contenders.push({
      label: SANDBOX_LABELS.withSite,
      scope: '-I -c pass',
      one: () => bareStart(interpreter.executable, ['-I', '-c', 'pass']),
    });
  }
  if (programs) {
    contenders.push({
      label: SANDBOX_LABELS.mbpp,
      scope: 'runPythonProgram(code + tests)',
      one: (i) => sandboxRun(programs[i % programs.length]!),
    });
  }
  const rows = new Map<string, Row>(
    contenders.map((c) => [c.label, { label: c.label, scope: c.scope, values: [] }]),
  );
  if (!programs) {
    rows.set(SANDBOX_LABELS.mbpp, {
      label: SANDBOX_LABELS.mbpp,
      values: [],
      unavailable: `no mbpp/mbpp.jsonl in ${opts.dataDir}`,
    });
  }
  // one warm-up round (page cache, interpreter resolution) that is not counted
  for (const c of contenders) await rate(Math.min(count, 2 * parallelism), parallelism, c.one).catch(() => 0);
  for (let round = 0; round < opts.rounds; round++) {
    for (const c of rotate(contenders, round)) {
      const row = rows.get(c.label)!;
      try {
        const v = await rate(count, parallelism, c.one);
        row.values.push(v);
        opts.log(`  sandbox round ${round + 1}: ${c.label}: ${v.toFixed(1)} executions/s`);
      } catch (e) {
        (row.errors ??= []).push(errorText(e));
        opts.log(`  sandbox round ${round + 1}: ${c.label}: FAILED ${errorText(e)}`);
      }
    }
  }
  const table: Table = {
    title: `Parallelism ${parallelism}, ${count} executions per round`,
    unit: 'executions/s',
    better: 'higher',
    floor: SANDBOX_LABELS.floor,
    rows: [...rows.values()],
  };
  fillRatios(table);
  result.tables.push(table);
  return result;
}

/** The goal: the sandbox running a trivial program at >= 0.8x the floor's executions per second. */
export function codeExecutionGoals(results: SuiteResult[], smoke: boolean): GoalVerdict[] {
  const goal = `Code execution at the sandbox's parallelism: >= ${GOAL_RATIO}x the bare interpreter start (executions/s)`;
  const s = results.find((r) => r.key === 'sandbox');
  const t = s?.tables[0];
  const sandbox = medianOf(t, SANDBOX_LABELS.trivial);
  const floor = medianOf(t, SANDBOX_LABELS.floor);
  if (sandbox === null || floor === null) {
    const row = t?.rows.find((r) => r.values.length === 0);
    const reason = row?.unavailable ?? row?.errors?.[0] ?? (s ? 'not measured' : 'suite not run');
    return [{ goal, measured: 'n/a', status: 'N/A', why: reason }];
  }
  const ratio = sandbox / floor;
  const withSite = medianOf(t, SANDBOX_LABELS.withSite);
  const mbpp = medianOf(t, SANDBOX_LABELS.mbpp);
  const extras = [
    withSite !== null ? `with site: ${fmt(withSite)}` : '',
    mbpp !== null ? `MBPP programs: ${fmt(mbpp)}` : '',
  ].filter(Boolean);
  const v: GoalVerdict = {
    goal,
    measured:
      `${fmt(sandbox)} vs ${fmt(floor)} executions/s = ${ratio.toFixed(2)}x at parallelism ${String(s?.facts.parallelism)}` +
      (extras.length ? ` (${extras.join('; ')})` : '') +
      (smoke ? ' (smoke sizes: indicative only)' : ''),
    status: ratio >= GOAL_RATIO ? 'PASS' : 'MISS',
  };
  if (v.status === 'MISS') {
    const p = Number(s?.facts.parallelism ?? 1);
    v.why =
      `${((1 - ratio / GOAL_RATIO) * 100).toFixed(0)}% short of ${GOAL_RATIO}x: each execution takes about ` +
      `${fmt((p / sandbox - p / floor) * 1000)} ms more than a bare start (temp dir, program file, runner, pipes).`;
  }
  return [v];
}
