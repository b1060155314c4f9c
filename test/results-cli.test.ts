/**
 * Scores on the command line, on a real finished run (gsm8k and humaneval against reference endpoints,
 * on the host): the headline in `nel status`, all metrics in `--json`, `nel ls runs`, `nel info`, and the
 * per-sample rows of `nel export --format jsonl`, each checked against the job's own artifacts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseYaml } from '../src/common/yaml.js';
import { nel, nelAsync, scratch } from './support/cli.js';
import {
  invocationIdOfDir,
  launchedDir,
  scoreOf,
  startEndpoint,
  taskDirs,
  writeE2eConfig,
} from './support/e2e.js';

const GSM8K = { accuracy: 0.75, limit: 20 };
const HUMANEVAL = { accuracy: 0.6, limit: 10 };

/** Every `tasks.<t>.metrics.<m>.scores.<s>.value` of a results.yml, as `<m>.<s>` -> value. */
function resultsValues(taskDir: string): Record<string, number> {
  const file = join(taskDir, 'artifacts', 'results.yml');
  const doc = parseYaml(readFileSync(file, 'utf8'), file) as {
    results: {
      tasks: Record<string, { metrics: Record<string, { scores: Record<string, { value: number }> }> }>;
    };
  };
  const out: Record<string, number> = {};
  for (const t of Object.values(doc.results.tasks))
    for (const [m, metric] of Object.entries(t.metrics))
      for (const [s, score] of Object.entries(metric.scores)) out[`${m}.${s}`] = score.value;
  return out;
}

const samplesOf = (taskDir: string) =>
  readFileSync(join(taskDir, 'artifacts', 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { sample_id: string; scores: Record<string, number>; extracted: unknown[] });

test('a finished run: status, status --json, ls runs, info and the jsonl export show its scores', async () => {
  const s = scratch('nel-results-cli-');
  const gsm8k = await startEndpoint('gsm8k', { accuracy: GSM8K.accuracy });
  const humaneval = await startEndpoint('humaneval', { accuracy: HUMANEVAL.accuracy });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: GSM8K.limit },
        { benchmark: 'humaneval', endpoint: humaneval, limit: HUMANEVAL.limit },
      ],
    });
    const run = await nelAsync(['run', '--config', cfg, '--no-docker', '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 120_000,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const invDir = launchedDir(run);
    const inv = invocationIdOfDir(invDir);
    const [gDir, hDir] = taskDirs(invDir) as [string, string];
    const gValue = scoreOf(gDir, 'gsm8k');
    const hValue = scoreOf(hDir, 'humaneval');
    assert.equal(gValue, GSM8K.accuracy);
    assert.equal(hValue, HUMANEVAL.accuracy);

    // nel run --wait ends with the score table; the numbers are the ones status shows
    assert.match(run.stdout, new RegExp(`builtin\\.gsm8k: gsm8k_exact_match=${gValue.toFixed(4)}`));

    // nel status: a Score column with each job's headline, equal to results.yml's value
    const table = nel(['status', inv], { cwd: s.dir, env: s.env });
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^Job ID\s+Status\s+Progress\s+Score\s+Container\s+Location$/);
    assert.match(
      lines[2]!,
      new RegExp(`^${inv}\\.0\\s+✓ SUCCESS\\s+20/20 .*\\s${gValue.toFixed(4)} exact_match\\s`),
    );
    assert.match(
      lines[3]!,
      new RegExp(`^${inv}\\.1\\s+✓ SUCCESS\\s+10/10 .*\\s${hValue.toFixed(4)} pass@1\\s`),
    );

    // nel status --json: every metric of results.yml, flat, plus the headline
    const json = JSON.parse(nel(['status', inv, '--json'], { cwd: s.dir, env: s.env }).stdout) as {
      job_id: string;
      metrics: Record<string, number>;
      headline: { metric: string; score: string; value: number; source: string };
    }[];
    assert.deepEqual(json[0]!.metrics, resultsValues(gDir));
    assert.deepEqual(json[1]!.metrics, resultsValues(hDir));
    assert.ok(Object.keys(json[1]!.metrics).length >= 1);
    assert.deepEqual(
      json.map((j) => [j.headline.metric, j.headline.score, j.headline.value, j.headline.source]),
      [
        ['exact_match', 'exact_match', gValue, 'definition'],
        ['pass@1', 'pass@1', hValue, 'definition'],
      ],
    );

    // nel ls runs: the model and the headline of each task
    const ls = nel(['ls', 'runs'], { cwd: s.dir, env: s.env });
    assert.equal(ls.code, 0, ls.stderr);
    const lsLines = ls.stdout.trimEnd().split('\n');
    assert.match(
      lsLines[0]!,
      /^invocation_id\s+earliest_job_ts\s+num_jobs\s+executor\s+benchmarks\s+model\s+scores$/,
    );
    assert.match(
      lsLines[1]!,
      new RegExp(
        `^${inv}\\s.*\\sreference-model\\s+builtin\\.gsm8k=${gValue.toFixed(4)} builtin\\.humaneval=${hValue.toFixed(4)}$`,
      ),
    );
    const lsJson = JSON.parse(nel(['ls', 'runs', '--json'], { cwd: s.dir, env: s.env }).stdout);
    assert.equal(lsJson[0].model, 'reference-model');
    assert.deepEqual(
      lsJson[0].jobs.map((j: { task: string; headline: { value: number } }) => [j.task, j.headline.value]),
      [
        ['builtin.gsm8k', gValue],
        ['builtin.humaneval', hValue],
      ],
    );

    // nel info: each job's metrics and where its report is
    const info = nel(['info', `${inv}.0`], { cwd: s.dir, env: s.env });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`Scores of ${inv}\\.0 \\(builtin\\.gsm8k\\)`));
    assert.match(
      info.stdout,
      new RegExp(`Headline: exact_match = ${gValue.toFixed(4)} \\(chosen by the benchmark definition\\)`),
    );
    for (const [k, v] of Object.entries(resultsValues(gDir)))
      assert.ok(info.stdout.includes(`${k} = ${Number.isInteger(v) ? v : v.toFixed(4)}`), k);
    const report = join(gDir, 'artifacts', 'report.html');
    assert.ok(
      info.stdout.includes(`Report: ${existsSync(report) ? report : 'none (no artifacts/report.html)'}`),
      info.stdout,
    );
    assert.ok(info.stdout.indexOf('Scores of') < info.stdout.indexOf('Exec DB:'));

    // nel export --format jsonl: one row per sample of both jobs, scores as in samples.jsonl
    const outDir = join(s.dir, 'exported');
    const ex = nel(['export', inv, '--dest', 'local', '--format', 'jsonl', '--output-dir', outDir], {
      cwd: s.dir,
      env: s.env,
    });
    assert.equal(ex.code, 0, ex.stdout + ex.stderr);
    const file = join(outDir, 'processed_samples.jsonl');
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const expected = [
      ...samplesOf(gDir).map((x) => ({ ...x, job: `${inv}.0`, task: 'gsm8k' })),
      ...samplesOf(hDir).map((x) => ({ ...x, job: `${inv}.1`, task: 'humaneval' })),
    ];
    assert.equal(rows.length, GSM8K.limit + HUMANEVAL.limit);
    assert.equal(rows.length, expected.length);
    rows.forEach((r, i) => {
      const e = expected[i]!;
      for (const k of [
        'model',
        'task',
        'invocation_id',
        'job_id',
        'sample_id',
        'scores',
        'extracted',
        'target',
      ])
        assert.ok(k in r, `row ${i} has ${k}`);
      assert.equal(r.model, 'reference-model');
      assert.equal(r.task, e.task);
      assert.equal(r.job_id, e.job);
      assert.equal(r.sample_id, e.sample_id);
      assert.deepEqual(r.scores, e.scores);
      assert.deepEqual(r.extracted, e.extracted);
    });
    const right = rows.filter((r) => r.task === 'gsm8k' && r.scores.exact_match === 1).length;
    assert.equal(right / GSM8K.limit, gValue, 'the rows add up to the headline');

    // exporting again replaces the job's rows instead of adding more
    const again = nel(['export', `${inv}.0`, '--format', 'jsonl', '--output-dir', outDir], {
      cwd: s.dir,
      env: s.env,
    });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, GSM8K.limit + HUMANEVAL.limit);
  } finally {
    await gsm8k.close();
    await humaneval.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
