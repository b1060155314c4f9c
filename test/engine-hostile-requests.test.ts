/**
 * Bounded requests and honest retries, end to end through the `nemo-evaluator` CLI against a hostile
 * endpoint on 127.0.0.1: a dripping body ends at request_timeout, SIGTERM ends a run within seconds with
 * requests in flight, an oversize reply fails naming the limit (and reports stay small), outages of 5xx
 * and resets are ridden out, Retry-After above the cap is logged once, and failed samples can be tolerated.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startHostileEndpoint, OK } from './support/hostile-endpoint.js';
import {
  linesMatching,
  resultsOf,
  runEngine,
  samplesOf,
  scoreOf,
  spawnEngine,
  uninterruptedScore,
  workspace,
  type Workspace,
} from './engine-hostile-support.js';

let ws: Workspace;
let reference: number;

before(async () => {
  ws = workspace(12);
  reference = await uninterruptedScore(ws);
});
after(() => rmSync(ws.dir, { recursive: true, force: true }));

test('a reply dripping one byte a second ends within about request_timeout', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'drip' }));
  try {
    const r = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'drip'),
      params: { request_timeout: 3, max_retries: 0, parallelism: 2 },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /timed out after 3 s/);
    assert.ok(r.ms < 9000, `took ${r.ms} ms with request_timeout 3 s`);
  } finally {
    await server.close();
  }
});

test('a body that stops short of its end just before request_timeout still ends at about request_timeout', async () => {
  // The last byte arrives at 2.5 s of a 3 s timeout; an idle-read limit alone would wait until 5.5 s.
  const server = await startHostileEndpoint(() => ({ kind: 'stall', pauseMs: 2500 }));
  try {
    const r = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'stall'),
      params: { request_timeout: 3, max_retries: 0, parallelism: 2 },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /timed out after 3 s/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms with request_timeout 3 s`);
  } finally {
    await server.close();
  }
});

test('SIGTERM ends a run within a few seconds with requests in flight, and a rerun completes it', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'hang' }));
  const out = join(ws.dir, 'sigterm');
  try {
    const p = spawnEngine(ws, { url: server.url, outputDir: out, params: { request_timeout: 600 } });
    while (server.requests.length < 4) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    p.kill('SIGTERM');
    const r = await p.done;
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(ms < 5000, `ended ${ms} ms after SIGTERM`);
    assert.ok(existsSync(join(out, '.nemo_evaluator_interrupted')));
    server.setPlan(OK);
    const rerun = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(scoreOf(out), reference);
    assert.equal(server.answeredPrompts().size, ws.prompts.length);
  } finally {
    await server.close();
  }
});

test('SIGTERM during a long backoff wait ends the run at once', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'status', status: 503 }));
  try {
    const p = spawnEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'sigterm-backoff'),
      extra: { retry_base_seconds: 60, retry_cap_seconds: 60 },
    });
    while (server.requests.length < 4) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    p.kill('SIGTERM');
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 5000, `ended ${Date.now() - t0} ms after SIGTERM`);
    // The long waits were announced at info level.
    assert.ok(
      linesMatching(r.stderr, /waiting \d+(\.\d)? s before retry 1 of 5: HTTP 503/).length >= 1,
      r.stderr,
    );
  } finally {
    await server.close();
  }
});

test('a reply over the maximum reply size fails with a line naming the limit (default 32 MiB, and configured)', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'huge', bytes: 40 * 1024 * 1024 }));
  try {
    const byDefault = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'huge-default'),
      params: { parallelism: 1 },
    });
    assert.equal(byDefault.code, 1, byDefault.stderr);
    assert.match(byDefault.stderr, /maximum reply size of 32 MiB \(config\.params\.extra\.max_response_mb\)/);
    assert.equal(server.requests.length, 1, 'an oversize reply is not retried');

    server.setPlan(() => ({ kind: 'huge', bytes: 3 * 1024 * 1024 }));
    const configured = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'huge-1'),
      params: { parallelism: 1 },
      extra: { max_response_mb: 1 },
    });
    assert.equal(configured.code, 1, configured.stderr);
    const lines = linesMatching(configured.stderr, /maximum reply size of 1 MiB/);
    assert.equal(lines.length, 1, configured.stderr);
  } finally {
    await server.close();
  }
});

test('reports never embed unbounded bodies: large accepted replies are cut in report.json and report.html', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'huge', bytes: 2 * 1024 * 1024 }));
  const out = join(ws.dir, 'big-report');
  try {
    const r = await runEngine(ws, { url: server.url, outputDir: out, extra: { max_response_mb: 4 } });
    assert.equal(r.code, 0, r.stderr);
    const cache = statSync(join(out, 'cache', 'responses', 'cache.db')).size;
    assert.ok(cache > 12 * 2 * 1024 * 1024, 'the cache holds the full replies');
    for (const f of ['report.json', 'report.html']) {
      const size = statSync(join(out, f)).size;
      assert.ok(size < 1024 * 1024, `${f} is ${size} bytes`);
    }
    assert.match(readFileSync(join(out, 'report.json'), 'utf8'), /truncated: \d+ characters in all/);
  } finally {
    await server.close();
  }
});

test('an outage of 5xx and connection resets is ridden out (fast policy); the score equals an uninterrupted run', async () => {
  const server = await startHostileEndpoint(({ elapsedMs, n }) =>
    elapsedMs < 3000 ? (n % 2 ? { kind: 'status', status: 502 } : { kind: 'reset' }) : { kind: 'ok' },
  );
  const out = join(ws.dir, 'outage-fast');
  try {
    server.restartClock();
    const r = await runEngine(ws, {
      url: server.url,
      outputDir: out,
      extra: { retry_base_seconds: 0.5, retry_cap_seconds: 2 },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(scoreOf(out), reference);
    assert.equal(server.answeredPrompts().size, ws.prompts.length);
    assert.ok(server.requests.some((q) => q.behaviour === 'reset'));
  } finally {
    await server.close();
  }
});

test('the default retry policy rides out a 30 s storm of 500s with max_retries 5', async () => {
  const small = workspace(4);
  const server = await startHostileEndpoint(({ elapsedMs }) =>
    elapsedMs < 30_000 ? { kind: 'status', status: 500 } : { kind: 'ok' },
  );
  const out = join(small.dir, 'outage-default');
  try {
    server.restartClock();
    const r = await runEngine(small, {
      url: server.url,
      outputDir: out,
      params: { max_retries: 5 },
      extra: { retry_base_seconds: undefined, retry_cap_seconds: undefined },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.answeredPrompts().size, small.prompts.length);
    assert.ok(server.requests.filter((q) => q.behaviour === 'status').length >= small.prompts.length * 3);
    assert.ok(
      linesMatching(r.stderr, /^\[I .*waiting \d+(\.\d)? s before retry \d of 5: HTTP 500/).length > 0,
      r.stderr,
    );
  } finally {
    await server.close();
    rmSync(small.dir, { recursive: true, force: true });
  }
});

test('a Retry-After above the cap is logged once with both values and the wait is capped', async () => {
  const server = await startHostileEndpoint(({ nthForPrompt }) =>
    nthForPrompt === 0 ? { kind: 'status', status: 429, retryAfter: '120' } : { kind: 'ok' },
  );
  const out = join(ws.dir, 'retry-after');
  try {
    const r = await runEngine(ws, { url: server.url, outputDir: out, extra: { retry_cap_seconds: 0.5 } });
    assert.equal(r.code, 0, r.stderr);
    const lines = linesMatching(r.stderr, /Retry-After/);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /asked to wait 120 s \(Retry-After\); waiting 0\.5 s/);
    assert.ok(r.ms < 20_000);
    assert.equal(scoreOf(out), reference);
  } finally {
    await server.close();
  }
});

test('a 400 for one prompt fails the run by default, naming the endpoint error', async () => {
  const bad = ws.prompts[4]!;
  const server = await startHostileEndpoint(({ prompt }) =>
    prompt === bad
      ? { kind: 'status', status: 400, body: '{"error":{"message":"prompt is too long for this model"}}' }
      : { kind: 'ok' },
  );
  try {
    const r = await runEngine(ws, { url: server.url, outputDir: join(ws.dir, 'fail-fast') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 400: .*prompt is too long for this model/);
    assert.equal(server.countFor(bad), 1, 'a 400 is not retried');
  } finally {
    await server.close();
  }
});

test('tolerated failed samples are recorded with the endpoint error, counted as wrong, reported; over the limit the run fails naming the sample', async () => {
  const bad = [ws.prompts[0]!, ws.prompts[4]!];
  const server = await startHostileEndpoint(({ prompt }) =>
    bad.includes(prompt)
      ? { kind: 'status', status: 400, body: '{"error":{"message":"prompt is too long for this model"}}' }
      : { kind: 'ok' },
  );
  try {
    const out = join(ws.dir, 'tolerated');
    const r = await runEngine(ws, { url: server.url, outputDir: out, extra: { max_failed_samples: 2 } });
    assert.equal(r.code, 0, r.stderr);
    const failed = samplesOf(out).filter((s) => s.error !== undefined);
    assert.deepEqual(failed.map((s) => s.prompt.at(-1).content).sort(), [...bad].sort());
    for (const s of failed) {
      assert.match(s.error, /HTTP 400: .*prompt is too long/);
      assert.equal(s.scores.correct, 0);
    }
    const doc = resultsOf(out);
    assert.equal(doc.failed_samples.count, 2);
    assert.equal(doc.failed_samples.allowed, 2);
    assert.equal(doc.failed_samples.samples.length, 2);
    // Both bad samples would have been right (1+7, 5+35): counted as wrong, the score drops by 2/12.
    assert.ok(Math.abs(scoreOf(out) - (reference - 2 / 12)) < 1e-9, String(scoreOf(out)));
    assert.equal(
      linesMatching(r.stderr, /2 sample\(s\) failed and were counted as wrong/).length,
      1,
      r.stderr,
    );

    // A fraction: 0.1 of 12 samples allows 1; the second failure ends the run naming it.
    const over = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'over'),
      params: { parallelism: 1 },
      extra: { max_failed_samples: 0.1 },
    });
    assert.equal(over.code, 1, over.stderr);
    const errLine = linesMatching(over.stderr, /^error:/);
    assert.equal(errLine.length, 1, over.stderr);
    assert.match(
      errLine[0]!,
      /sample \S+ failed: .*HTTP 400: .*prompt is too long.*2 failed samples, more than config\.params\.extra\.max_failed_samples allows: 1/,
    );
  } finally {
    await server.close();
  }
});

test('401 for everything fails the run even when failures are tolerated', async () => {
  const server = await startHostileEndpoint(() => ({ kind: 'status', status: 401 }));
  try {
    const r = await runEngine(ws, {
      url: server.url,
      outputDir: join(ws.dir, 'all-401'),
      extra: { max_failed_samples: 0.25 },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: sample \S+ failed: .*HTTP 401/);
  } finally {
    await server.close();
  }
});
