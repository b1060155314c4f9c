/**
 * Comparing job artifacts: samples.jsonl parsing, repeats and pass@k (non-0/1 per-sample scores), sub-groups,
 * prompt and parameter checks, task matching, and bad files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compareJobs,
  compareRunJobs,
  formatComparison,
  loadArtifacts,
  parseSamplesJsonl,
  type LoadedJob,
} from '../src/results/compare.js';
import { NelError } from '../src/common/errors.js';

interface Line {
  sample_id: string;
  prompt?: unknown;
  scores: Record<string, number>;
  details?: Record<string, unknown>;
}

function writeJob(
  root: string,
  name: string,
  lines: Line[],
  params: Record<string, unknown>,
  reported: Record<string, number> = {},
): string {
  const dir = join(root, name, 'artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'samples.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'run_config.yml'), JSON.stringify({ config: { params } }));
  const metrics = Object.fromEntries(
    Object.entries(reported).map(([k, v]) => [k, { scores: { [k]: { value: v, stats: {} } } }]),
  );
  writeFileSync(join(dir, 'results.yml'), JSON.stringify({ results: { tasks: { t: { metrics } } } }));
  return dir;
}

const ids = (job: string, task = 'builtin.t') => ({ jobId: job, invocationId: job.split('.')[0]!, task });

test('repeats: per-sample means over n_samples are compared with the paired bootstrap', () => {
  const root = mkdtempSync(join(tmpdir(), 'nel-compare-art-'));
  try {
    // 4 repeats per sample: per-sample scores are fractions of 4
    const n = 60;
    const a = Array.from({ length: n }, (_, i) => ({
      sample_id: `s${i}`,
      prompt: [{ role: 'user', content: `q${i}` }],
      scores: {
        exact_match: Math.min(1, (i % 5) / 4),
        'pass@1': (i % 4) / 4,
        'pass@2': (i % 3) / 2,
      },
    }));
    const b = a.map((l, i) => ({
      ...l,
      scores: { ...l.scores, exact_match: Math.min(1, l.scores.exact_match + (i % 2) * 0.25) },
    }));
    const p = { limit_samples: null, temperature: 0.7, max_new_tokens: 512, extra: { n_samples: 4 } };
    const ja = loadArtifacts(writeJob(root, 'a', a, p), ids('aaa.0'));
    const jb = loadArtifacts(writeJob(root, 'b', b, p), ids('bbb.0'));
    const c = compareJobs(ja, jb, { seed: 3, resamples: 2000 });
    assert.deepEqual(c.warnings, []);
    assert.deepEqual(
      c.metrics.map((m) => [m.metric, m.method]),
      [
        ['exact_match', 'paired-bootstrap'],
        ['pass@1', 'paired-bootstrap'],
        ['pass@2', 'paired-bootstrap'],
      ],
    );
    const em = c.metrics[0]!;
    const expected = b.reduce((s, l, i) => s + l.scores.exact_match - a[i]!.scores.exact_match, 0) / n;
    assert.ok(Math.abs(em.diff - expected) < 1e-12);
    assert.ok(em.diff > 0 && em.ci[0] > 0 && em.p < 0.05 && em.significant, JSON.stringify(em));
    // pass@k unchanged between the runs: difference 0, p = 1
    assert.deepEqual([c.metrics[1]!.diff, c.metrics[1]!.p], [0, 1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sub-groups, prompt differences, parameter differences and reported scores', () => {
  const root = mkdtempSync(join(tmpdir(), 'nel-compare-art-'));
  try {
    const mk = (i: number, right: boolean, prompt: string): Line => ({
      sample_id: String(i),
      prompt,
      scores: { score: right ? 1 : 0 },
      details: { category: i % 2 ? 'physics' : 'law' },
    });
    const a = Array.from({ length: 40 }, (_, i) => mk(i, i % 3 === 0, `p${i}`));
    const b = Array.from({ length: 42 }, (_, i) => mk(i, i % 2 === 0, i === 5 ? 'changed' : `p${i}`));
    const ja = loadArtifacts(
      writeJob(root, 'a', a, { limit_samples: 40, temperature: 0, max_new_tokens: 256 }, { score: 0.35 }),
      ids('aaa.0'),
    );
    const jb = loadArtifacts(
      writeJob(root, 'b', b, { limit_samples: 42, temperature: 0.5, max_new_tokens: 256 }, { score: 0.5 }),
      ids('bbb.0'),
    );
    const c = compareJobs(ja, jb);
    assert.deepEqual(c.samples, { a: 40, b: 42, both: 40, onlyA: 0, onlyB: 2 });
    assert.equal(c.promptMismatches, 1);
    assert.deepEqual(
      c.params.map((p) => p.name),
      ['limit_samples', 'temperature'],
    );
    assert.equal(c.warnings.length, 4, c.warnings.join('\n'));
    assert.ok(c.warnings.includes('different prompts: 1 of the 40 shared samples'));
    assert.ok(c.warnings.includes('different temperature: 0 vs 0.5'));
    const whole = c.metrics.find((m) => m.group === null)!;
    assert.deepEqual([whole.n, whole.reportedA, whole.reportedB], [40, 0.35, 0.5]);
    const groups = c.metrics.filter((m) => m.group !== null);
    assert.deepEqual(
      groups.map((m) => [m.group, m.n]),
      [
        ['law', 20],
        ['physics', 20],
      ],
    );
    // physics = odd ids: A right at odd multiples of 3, B never right -> only b-discordant pairs
    const phys = groups[1]!;
    const oddThrees = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 2 && i % 3 === 0).length;
    assert.deepEqual(phys.discordant, { b: oddThrees, c: 0 });
    const text = formatComparison({ a: 'aaa', b: 'bbb', tasks: [c], onlyA: [], onlyB: [], warnings: [] });
    assert.match(text, /^ {2}physics score\s+20/m);
    assert.match(text, /score over each full run \(results\.yml\): A 0\.3500, B 0\.5000/);
    assert.match(text, /warning: different prompts: 1 of the 40 shared samples/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('samples.jsonl: no prompt, a torn last line, a later line replacing an earlier one, bad lines', () => {
  const m = parseSamplesJsonl(
    '{"sample_id":"1","scores":{"x":0}}\n{"sample_id":"1","scores":{"x":1}}\n{"sample_id":2,"scores":{"x":0}}\n{"sample_',
    'f',
  );
  assert.deepEqual([...m.keys()], ['1', '2']);
  assert.equal(m.get('1')!.scores.x, 1);
  assert.equal(m.get('1')!.promptHash, null);
  const job = (s: typeof m, task = 't'): LoadedJob => ({
    ...ids('j.0', task),
    artifactsDir: '',
    samples: s,
    params: {},
    reported: {},
  });
  const c = compareJobs(job(m), { ...job(m), params: null });
  assert.equal(c.promptMismatches, null);
  assert.ok(
    c.warnings.includes('parameters could not be checked: no run_config.yml for j.0'),
    c.warnings.join(),
  );
  assert.ok(c.warnings.includes('prompts could not be checked: samples.jsonl has no prompt'));
  assert.throws(
    () => parseSamplesJsonl('not json\n{"sample_id":"1","scores":{}}\n', 'f'),
    (e: unknown) => e instanceof NelError && /f:1 is not a JSON line/.test(e.message) && !!e.hint,
  );
  assert.throws(
    () => parseSamplesJsonl('{"scores":{}}\n', 'f'),
    (e: unknown) => e instanceof NelError && /f:1 has no sample_id/.test(e.message),
  );
  // tasks are matched by name; none in common is an error with a hint, extra tasks a warning
  const r = compareRunJobs({ a: 'A', b: 'B' }, [job(m, 't'), job(m, 'u')], [job(m, 't'), job(m, 'v')]);
  assert.deepEqual([r.tasks.map((t) => t.task), r.onlyA, r.onlyB], [['t'], ['u'], ['v']]);
  assert.throws(
    () => compareRunJobs({ a: 'A', b: 'B' }, [job(m, 'u')], [job(m, 'v')]),
    (e: unknown) => e instanceof NelError && /no task in common/.test(e.message) && !!e.hint,
  );
  assert.throws(
    () => loadArtifacts('/nonexistent/artifacts', ids('x.0')),
    (e: unknown) => e instanceof NelError && /has no .*samples\.jsonl/.test(e.message),
  );
});

test('IFEval details: per instruction type, the share followed, compared over the prompts with it', () => {
  const line = (id: string, ids: string[], strict: unknown, loose: unknown) =>
    JSON.stringify({
      sample_id: id,
      prompt: id,
      scores: {},
      details: { instruction_id_list: ids, strict, loose },
    });
  const a = parseSamplesJsonl(
    [
      line('1', ['x', 'y', 'x'], [true, false, false], [true, true, false]),
      line('2', ['y'], [true], [true]),
      line('3', ['x'], [false], [false]),
    ].join('\n'),
    'a',
  );
  // several responses per prompt: one list per response
  const b = parseSamplesJsonl(
    [
      line(
        '1',
        ['x', 'y', 'x'],
        [
          [true, true, true],
          [true, false, true],
        ],
        [
          [true, true, true],
          [true, true, true],
        ],
      ),
      line('2', ['y'], [[false], [false]], [[true], [false]]),
      line('3', ['x'], [[true], [false]], [[true], [true]]),
    ].join('\n'),
    'b',
  );
  assert.deepEqual(a.get('1')!.instructions, { x: { strict: 0.5, loose: 0.5 }, y: { strict: 0, loose: 1 } });
  assert.deepEqual(b.get('1')!.instructions, { x: { strict: 1, loose: 1 }, y: { strict: 0.5, loose: 1 } });
  const job = (s: typeof a, id: string): LoadedJob => ({
    ...ids(id),
    artifactsDir: '',
    samples: s,
    params: {},
    reported: {},
  });
  const c = compareJobs(job(a, 'a.0'), job(b, 'b.0'), { resamples: 500 });
  const got = c.metrics.map((m) => [m.group, m.metric, m.n, Number(m.diff.toFixed(6))]);
  assert.deepEqual(got, [
    // strict x: prompts 1 (0.5 -> 1) and 3 (0 -> 0.5); loose x: 1 (0.5 -> 1), 3 (0 -> 1)
    // strict y: prompts 1 (0 -> 0.5) and 2 (1 -> 0); loose y: 1 (1 -> 1), 2 (1 -> 0.5)
    ['instruction:x', 'inst_strict', 2, 0.5],
    ['instruction:x', 'inst_loose', 2, 0.75],
    ['instruction:y', 'inst_strict', 2, -0.25],
    ['instruction:y', 'inst_loose', 2, -0.25],
  ]);
});
