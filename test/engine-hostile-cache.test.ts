/**
 * The request cache never keeps or replays a bad reply, end to end through the `nemo-evaluator` CLI against
 * a hostile endpoint on 127.0.0.1: bad 200s are really sent again and never cached, a rerun after recovery
 * scores like an uninterrupted run with every sample really answered, damaged rows and damaged databases
 * heal with one warning, empty content is flagged, and the cache lives in the run's own output dir.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  startHostileEndpoint,
  OK,
  type Behaviour,
  type HostileEndpoint,
} from './support/hostile-endpoint.js';
import {
  linesMatching,
  runEngine,
  samplesOf,
  scoreOf,
  uninterruptedScore,
  workspace,
  type Workspace,
} from './engine-hostile-support.js';

let ws: Workspace;
let reference: number;

before(async () => {
  ws = workspace(12);
  reference = await uninterruptedScore(ws);
  assert.ok(reference > 0 && reference < 1, `reference score ${reference}`);
});
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const BAD_200: Behaviour['kind'][] = ['non_json', 'no_choices', 'empty_choices'];

for (const kind of BAD_200) {
  test(`a 200 that is ${kind}: retried for real, never cached; the rerun after recovery scores like an uninterrupted run`, async () => {
    const server = await startHostileEndpoint(() => ({ kind }) as Behaviour);
    const out = join(ws.dir, `bad-${kind}`);
    try {
      const failed = await runEngine(ws, { url: server.url, outputDir: out, params: { max_retries: 2 } });
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(
        failed.stderr,
        /failed after 3 attempts \(max_retries=2\): HTTP 200 that is not a valid completion/,
      );
      assert.ok(server.requests.length > 0);
      // Every attempt reached the server: no attempt was a cache replay.
      for (const p of new Set(server.requests.map((r) => r.prompt))) assert.equal(server.countFor(p), 3, p);
      assert.ok(!existsSync(join(out, 'results.yml')));

      server.setPlan(OK);
      const before = server.requests.length;
      const rerun = await runEngine(ws, { url: server.url, outputDir: out });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(scoreOf(out), reference);
      // Each sample was really answered by the server, and nothing bad came back from the cache.
      assert.equal(server.answeredPrompts().size, ws.prompts.length);
      assert.equal(server.requests.length - before, ws.prompts.length);
    } finally {
      await server.close();
    }
  });
}

test('a bad-reply episode inside one run is ridden out; only valid replies are cached (a rerun sends nothing)', async () => {
  // The first two requests of every prompt get a broken 200 (alternating kinds), then the server recovers.
  const server = await startHostileEndpoint(({ nthForPrompt }) =>
    nthForPrompt < 2 ? { kind: nthForPrompt === 0 ? 'empty_choices' : 'non_json' } : { kind: 'ok' },
  );
  const out = join(ws.dir, 'episode');
  try {
    const r = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(scoreOf(out), reference);
    for (const p of ws.prompts) assert.equal(server.countFor(p), 3, p);
    const sent = server.requests.length;
    const rerun = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(server.requests.length, sent, 'the rerun is served from the cache');
    assert.equal(scoreOf(out), reference);
  } finally {
    await server.close();
  }
});

test('damaged cache rows (not JSON, not a completion) are dropped and sent again with one warning naming the file', async () => {
  const server = await startHostileEndpoint(OK);
  const out = join(ws.dir, 'damaged-rows');
  try {
    const first = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(first.code, 0, first.stderr);
    const dbFile = join(out, 'cache', 'responses', 'cache.db');
    const db = new Database(dbFile);
    const keys = db.prepare('SELECT key FROM Cache ORDER BY rowid LIMIT 3').pluck().all() as string[];
    db.prepare('UPDATE Cache SET value = ? WHERE key = ?').run(Buffer.from('{"choices": [{"mess'), keys[0]);
    db.prepare('UPDATE Cache SET value = ? WHERE key = ?').run(Buffer.from('{"choices": []}'), keys[1]);
    db.prepare('UPDATE Cache SET value = ? WHERE key = ?').run(Buffer.from([0xff, 0xfe, 0x00]), keys[2]);
    db.close();
    const sent = server.requests.length;
    const rerun = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(server.requests.length - sent, 3, 'exactly the three damaged rows were requested again');
    assert.equal(scoreOf(out), reference);
    const warnings = linesMatching(rerun.stderr, /dropped a cached reply/);
    assert.equal(warnings.length, 1, rerun.stderr);
    assert.ok(warnings[0]!.includes(dbFile), warnings[0]);
    // The rows were replaced by valid replies: a third run sends nothing.
    const third = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(third.code, 0, third.stderr);
    assert.equal(server.requests.length - sent, 3);
    assert.equal(linesMatching(third.stderr, /dropped a cached reply/).length, 0);
  } finally {
    await server.close();
  }
});

test('a cache database SQLite rejects is moved aside and rebuilt with a warning', async () => {
  const server = await startHostileEndpoint(OK);
  const out = join(ws.dir, 'damaged-db');
  try {
    const first = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(first.code, 0, first.stderr);
    const dir = join(out, 'cache', 'responses');
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    writeFileSync(join(dir, 'cache.db'), 'this is not an SQLite database, just text '.repeat(200));
    const sent = server.requests.length;
    const rerun = await runEngine(ws, { url: server.url, outputDir: out });
    assert.equal(rerun.code, 0, rerun.stderr);
    const lines = linesMatching(rerun.stderr, /cache database .* is damaged/);
    assert.equal(lines.length, 1, rerun.stderr);
    assert.ok(lines[0]!.includes(join(dir, 'cache.db')), lines[0]);
    assert.ok(
      readdirSync(dir).some((f) => f.startsWith('cache.db.corrupt-')),
      readdirSync(dir).join(' '),
    );
    assert.equal(server.requests.length - sent, ws.prompts.length, 'every request sent again');
    assert.equal(scoreOf(out), reference);
  } finally {
    await server.close();
  }
});

test('content null and reasoning-only replies are scored as empty answers, flagged per sample and counted in the log', async () => {
  const [nullPrompt, reasoningPrompt] = [ws.prompts[0]!, ws.prompts[1]!];
  const server = await startHostileEndpoint(({ prompt }) =>
    prompt === nullPrompt
      ? { kind: 'null_content' }
      : prompt === reasoningPrompt
        ? { kind: 'reasoning_only' }
        : { kind: 'ok' },
  );
  const out = join(ws.dir, 'empty-content');
  try {
    const r = await runEngine(ws, {
      url: server.url,
      outputDir: out,
      adapterConfig: { use_reasoning: true },
    });
    assert.equal(r.code, 0, r.stderr);
    const samples = samplesOf(out);
    const flagged = samples.filter((s) => Array.isArray(s.flags) && s.flags.includes('empty_content'));
    assert.deepEqual(
      flagged.map((s) => s.prompt.at(-1).content).sort(),
      [nullPrompt, reasoningPrompt].sort(),
    );
    for (const s of flagged) {
      assert.deepEqual(s.responses, ['']);
      assert.equal(s.scores.correct, 0);
    }
    assert.equal(samples.filter((s) => s.flags === undefined).length, ws.prompts.length - 2);
    assert.equal(linesMatching(r.stderr, /2 sample\(s\) got a reply with empty content/).length, 1, r.stderr);
    // Each was asked once: an empty answer is a valid reply, not retried.
    assert.equal(server.countFor(nullPrompt), 1);
  } finally {
    await server.close();
  }
});

test("a caching interceptor without cache_dir keeps its cache in the run's own output dir, never a shared /tmp", async () => {
  const server = await startHostileEndpoint(OK);
  const adapterConfig = {
    interceptors: [{ name: 'caching', config: { reuse_cached_responses: true } }, { name: 'endpoint' }],
  };
  const out = join(ws.dir, 'own-cache');
  try {
    const r = await runEngine(ws, { url: server.url, outputDir: out, adapterConfig });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(out, 'cache', 'responses', 'cache.db')));
    // A second invocation against a server that refuses everything gets nothing from the first one.
    server.setPlan(() => ({ kind: 'status', status: 401 }));
    const other = join(ws.dir, 'own-cache-2');
    const second = await runEngine(ws, { url: server.url, outputDir: other, adapterConfig });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /HTTP 401/);
    assert.ok(!existsSync(join(other, 'results.yml')));
  } finally {
    await server.close();
  }
});
