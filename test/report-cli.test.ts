/**
 * `nel report` and `nel compare --html` without a browser: a real host-mode GSM8K run, its reports rebuilt
 * from the artifacts (by job and invocation id, to --output), the embedded data read back, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, launchedDir, startEndpoint, taskDirs, writeE2eConfig } from './support/e2e.js';
import { isCorrectAt } from '../src/reference-endpoint/index.js';
import { viewSamples } from '../src/results/report/sample-view.js';

const LIMIT = 10;

function embedded(file: string): Record<string, any> {
  const html = readFileSync(file, 'utf8');
  const m = /<script type="application\/json" id="nel-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, `no embedded data in ${file}`);
  return JSON.parse(m[1]!) as Record<string, any>;
}

/** The samples as a job page shows them: its embedded lines through the page's own view. */
const pageSamples = (data: Record<string, any>) =>
  viewSamples(data.lines, data.scores, data.requests).samples;

test('nel report: job and invocation reports from the artifacts; nel compare --html; bad input', async () => {
  const s = scratch('nel-report-cli-');
  const ep = await startEndpoint('gsm8k', { accuracy: 0.7 });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'a.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [{ benchmark: 'gsm8k', endpoint: ep, limit: LIMIT }],
    });
    const r = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const dir = launchedDir(r);
    const id = invocationIdOfDir(dir);
    const artifacts = join(taskDirs(dir)[0]!, 'artifacts');

    // the engine's report, at the end of the run
    const engine = embedded(join(artifacts, 'report.html'));
    assert.equal(engine.kind, 'job');
    assert.equal(engine.lines.length, LIMIT);
    assert.equal(pageSamples(engine).length, LIMIT);
    assert.equal(engine.scores.find((x: { headline: boolean }) => x.headline).value, 0.7);
    assert.ok(engine.stats.some(([k]: [string]) => k === 'avg_completion_tokens'));
    assert.ok(engine.timings.some(([k]: [string]) => k === 'runtime_seconds'));
    assert.ok(engine.requests.length > 0 && pageSamples(engine).some((x) => x.requests));

    // a job's report to another file
    const out = join(s.dir, 'job.html');
    const j = nel(['report', `${id}.0`, '--output', out], { cwd: s.dir, env: s.env });
    assert.equal(j.code, 0, j.stderr);
    assert.equal(j.stdout, `Report: ${out}\n`);
    const job = embedded(out);
    assert.equal(job.job.jobId, `${id}.0`);
    // the engine built its report from the documents it wrote; rebuilt from the files, it is the same
    for (const k of ['scores', 'params', 'lines', 'requests', 'stats', 'timings', 'notes'])
      assert.deepEqual(engine[k], job[k], k);
    for (const k of ['task', 'model', 'url', 'endpointType']) assert.equal(engine.job[k], job.job[k], k);
    assert.equal(job.job.model, 'reference-model');
    const wrong = Array.from({ length: LIMIT }, (_, i) => i).filter((i) => !isCorrectAt(i, 0.7)).length;
    assert.equal(pageSamples(job).filter((x) => x.verdict === 'wrong').length, wrong);

    // the invocation's report links the job's, relatively
    const inv = nel(['report', id], { cwd: s.dir, env: s.env });
    assert.equal(inv.code, 0, inv.stderr);
    const invFile = join(dir, 'report.html');
    assert.match(inv.stdout, new RegExp(`Report: ${invFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const data = embedded(invFile);
    assert.equal(data.kind, 'invocation');
    assert.equal(data.jobs.length, 1);
    assert.equal(data.jobs[0].href, `${taskDirs(dir)[0]!.split('/').pop()}/artifacts/report.html`);
    assert.equal(data.jobs[0].headline.value, 0.7);
    assert.equal(data.jobs[0].notRight, wrong);

    // compare --html of the run with itself: no disagreements
    const cmp = join(s.dir, 'cmp.html');
    const c = nel(['compare', id, `${id}.0`, '--html', cmp, '--json'], { cwd: s.dir, env: s.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout)[0].tasks[0].metrics[0].diff, 0);
    assert.deepEqual(embedded(cmp).disagreements, []);

    // bad input: one line and a hint, no stack, nothing written
    const missing = join(s.dir, 'no', 'such', 'dir', 'x.html');
    for (const args of [
      ['report', 'nosuchid'],
      ['report', `${id}.7`],
      ['report', id, '--output', missing],
      ['compare', id, id, '--html', missing],
    ]) {
      const b = nel(args, { cwd: s.dir, env: s.env });
      assert.notEqual(b.code, 0, args.join(' '));
      assert.match(b.stderr, /^error: .+\nhint: .+\n$/, b.stderr);
      assert.ok(!existsSync(missing));
    }
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
