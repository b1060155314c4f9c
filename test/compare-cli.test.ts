/**
 * `nel compare` end to end: real GSM8K runs of the engine on the host against reference endpoints at
 * known accuracies, then compared by invocation and job id (text and --json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, launchedDir, startEndpoint, writeE2eConfig } from './support/e2e.js';
import { isCorrectAt } from '../src/reference-endpoint/index.js';
import { mcnemarExactP } from '../src/results/stats.js';
import type { PairComparison } from '../src/results/compare.js';

const LIMIT = 200;

test('nel compare: 0.70 vs 0.80 on GSM8K, identical runs, and a run with a different limit', async () => {
  const s = scratch('nel-compare-');
  const run = async (accuracy: number, limit: number, name: string): Promise<string> => {
    const ep = await startEndpoint('gsm8k', { accuracy });
    try {
      const cfg = writeE2eConfig(join(s.dir, `${name}.yaml`), {
        outputDir: join(s.dir, 'out', name),
        useDocker: false,
        tasks: [{ benchmark: 'gsm8k', endpoint: ep, limit, parallelism: 16 }],
      });
      const r = await nelAsync(['run', '--config', cfg, '--wait'], {
        cwd: s.dir,
        env: s.env,
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      return invocationIdOfDir(launchedDir(r));
    } finally {
      await ep.close();
    }
  };
  try {
    const a = await run(0.7, LIMIT, 'a');
    const b = await run(0.8, LIMIT, 'b');
    const b2 = await run(0.8, LIMIT, 'b2');
    const short = await run(0.8, 150, 'short');

    // the discordant pairs, from the reference endpoint's answer pattern over the first 200 samples
    let nb = 0;
    let nc = 0;
    for (let i = 0; i < LIMIT; i++) {
      const ra = isCorrectAt(i, 0.7);
      const rb = isCorrectAt(i, 0.8);
      if (ra && !rb) nb++;
      if (!ra && rb) nc++;
    }
    assert.equal(nc - nb, 20); // 160 - 140 right answers

    // A vs B, B vs an identical rerun, A vs the shorter run; prefixes of invocation ids and a job id
    const r = nel(['compare', a.slice(0, 6), b, `${short}.0`, '--json'], { cwd: s.dir, env: s.env });
    assert.equal(r.code, 0, r.stderr);
    const [ab, ashort] = JSON.parse(r.stdout) as PairComparison[];
    assert.equal(ab!.tasks.length, 1);
    const t = ab!.tasks[0]!;
    assert.equal(t.task, 'builtin.gsm8k');
    assert.deepEqual(t.samples, { a: LIMIT, b: LIMIT, both: LIMIT, onlyA: 0, onlyB: 0 });
    assert.deepEqual(t.warnings, []);
    assert.equal(t.promptMismatches, 0);
    const m = t.metrics.find((x) => x.metric === 'exact_match' && x.group === null)!;
    assert.equal(m.method, 'mcnemar-exact');
    assert.equal(m.meanA, 0.7);
    assert.equal(m.meanB, 0.8);
    assert.equal(m.diff, 0.1);
    assert.deepEqual(m.discordant, { b: nb, c: nc });
    assert.equal(m.p, mcnemarExactP(nb, nc));
    // scipy 1.17.1: binomtest(23, 66, 0.5).pvalue (b=23, c=43 counted the same way in Python)
    assert.deepEqual([nb, nc], [23, 43]);
    assert.ok(Math.abs(m.p - 0.01865726035402101) < 1e-12, `p ${m.p}`);
    assert.equal(m.significant, m.p < 0.05);
    assert.ok(m.ci[0] < 0.1 && 0.1 < m.ci[1], `CI ${m.ci}`);
    assert.equal(m.reportedA, 0.7);
    assert.equal(m.reportedB, 0.8);
    console.log(`A vs B: b=${nb} c=${nc} p=${m.p} CI=${m.ci}`);

    // the shorter run: the overlap is analysed and the limit difference reported
    const ts = ashort!.tasks[0]!;
    assert.deepEqual(ts.samples, { a: LIMIT, b: 150, both: 150, onlyA: 50, onlyB: 0 });
    assert.ok(ts.warnings.some((w) => /different sample sets: 200 vs 150 samples, 150 in both/.test(w)));
    assert.ok(ts.warnings.some((w) => /different limit_samples: 200 vs 150/.test(w)));
    assert.equal(ts.metrics[0]!.n, 150);

    const same = nel(['compare', b, b2, '--json'], { cwd: s.dir, env: s.env });
    assert.equal(same.code, 0, same.stderr);
    const sm = (JSON.parse(same.stdout) as PairComparison[])[0]!.tasks[0]!.metrics[0]!;
    assert.deepEqual(
      [sm.diff, sm.p, sm.ci, sm.discordant, sm.significant],
      [0, 1, [0, 0], { b: 0, c: 0 }, false],
    );

    // the text report
    const text = nel(['compare', a, b, short], { cwd: s.dir, env: s.env });
    assert.equal(text.code, 0, text.stderr);
    console.log(text.stdout);
    assert.match(text.stdout, /exact_match\s+200\s+0\.7000\s+0\.8000\s+\+0\.1000/);
    assert.match(text.stdout, new RegExp(`mcnemar b=${nb} c=${nc}`));
    assert.match(text.stdout, /warning: different sample sets: 200 vs 150 samples/);
    assert.match(text.stdout, /warning: different limit_samples: 200 vs 150/);

    // bad input: one line, with a hint, no stack
    const bad = nel(['compare', a, 'nosuchid'], { cwd: s.dir, env: s.env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: Invocation 'nosuchid' not found/m);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    const one = nel(['compare', a], { cwd: s.dir, env: s.env });
    assert.equal(one.code, 2);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
