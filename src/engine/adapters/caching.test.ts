import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PyFloat, pyJsonDumps } from '../../common/pyjson.js';
import { interceptorDeps } from '../../../test/support/interceptor-deps.js';
import { cacheKey, cacheKeyText, cachingInterceptor } from './caching.js';
import { isAdapterResponse, type AdapterRequest, type AdapterResponse } from './types.js';

const body = {
  model: 'm',
  messages: [{ role: 'user', content: 'h\u00e9llo' }],
  temperature: 0.5,
  top_p: 1e-5,
  max_tokens: 4096,
};

test('the cache key is the sha256 of Python json.dumps(body, sort_keys=True)', () => {
  // What Python prints for json.dumps(body, sort_keys=True): sorted keys, ", " / ": ", \u escapes, 1e-05.
  const python =
    '{"max_tokens": 4096, "messages": [{"content": "h\\u00e9llo", "role": "user"}], "model": "m", "temperature": 0.5, "top_p": 1e-05}';
  const expected = createHash('sha256').update(python, 'utf8').digest('hex');
  assert.equal(expected, 'd54bea525d64867909e505bf51f8c11d5b4eeeb94ff26293ca213fe377eda16c');
  assert.equal(cacheKey(body), expected);
  assert.equal(cacheKey(body, 0), expected);
  assert.notEqual(cacheKey(body, 1), expected, 'repeats >= 1 get their own key');
  assert.notEqual(cacheKey(body, 1), cacheKey(body, 2));
});

test('the fast cache-key serialiser gives the same text as pyJsonDumps', () => {
  const values: unknown[] = [
    body,
    { b: 1, a: [1, 2.5, -0.0001, 1e-7, 1e21, true, false, null], c: 'tab\there "q" back\\slash' },
    {
      ctl: '\u0000\u0001\u001f\b\f\n\r',
      del: 'x\u007fy',
      uni: 'caf\u00e9 \u4e2d \ud83d\ude00',
      lone: '\ud800',
    },
    { '\ud83d\ude00': 1, '\uffff': 2, a: 3, Z: 4, '': 5 },
    { nested: { z: [{ y: 'x', x: new PyFloat(1) }], a: {} }, list: [], n: NaN, inf: -Infinity },
    'plain',
    42,
    [undefined, 'é'],
  ];
  for (const v of values) assert.equal(cacheKeyText(v), pyJsonDumps(v));
});

const req = (repeatIndex = 0): AdapterRequest => ({
  body: structuredClone(body),
  headers: {},
  meta: { requestId: 'r', sampleId: 's', repeatIndex },
});
const reply = (text: string): AdapterResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.parse(text) as unknown,
  text,
  latencyMs: 3,
  cacheHit: false,
});

test('stores requests, responses and headers in the diskcache layout and serves hits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caching-'));
  try {
    const ic = cachingInterceptor.build(
      { cache_dir: dir, reuse_cached_responses: true, save_requests: true },
      interceptorDeps(),
    );
    const r1 = req();
    const first = await ic.onRequest!(r1);
    assert.ok(!isAdapterResponse(first));
    await ic.onResponse!(reply('{"choices": [{"message": {"content": "hi"}}]}'), r1);
    const r2 = req();
    const second = await ic.onRequest!(r2);
    assert.ok(isAdapterResponse(second));
    assert.equal(second.cacheHit, true);
    assert.deepEqual(second.body, { choices: [{ message: { content: 'hi' } }] });
    assert.equal(second.headers['content-type'], 'application/json');
    // A different repeat index misses.
    assert.ok(!isAdapterResponse(await ic.onRequest!(req(1))));
    // Non-200 responses are not stored.
    const r3 = { ...req(2) };
    await ic.onRequest!(r3);
    await ic.onResponse!({ ...reply('{"error": 1}'), status: 500 }, r3);
    assert.ok(!isAdapterResponse(await ic.onRequest!(req(2))));
    await ic.close!();

    const key = cacheKey(body);
    for (const [sub, mode] of [
      ['responses', 1],
      ['requests', 2],
      ['headers', 2],
    ] as const) {
      const db = new Database(join(dir, sub, 'cache.db'), { readonly: true });
      const row = db.prepare('SELECT key, raw, mode, value FROM Cache WHERE key = ?').get(key) as {
        raw: number;
        mode: number;
        value: Buffer;
      };
      const settings = Object.fromEntries(
        (db.prepare('SELECT key, value FROM Settings').all() as { key: string; value: unknown }[]).map(
          (r) => [r.key, r.value],
        ),
      );
      db.close();
      assert.equal(row.raw, 1);
      assert.equal(row.mode, mode);
      assert.ok(Buffer.isBuffer(row.value));
      assert.equal(settings.eviction_policy, 'least-recently-stored');
      assert.equal(settings.size_limit, 1073741824);
      assert.equal(settings.sqlite_journal_mode, 'wal');
      if (sub === 'requests') assert.deepEqual(JSON.parse(row.value.toString('utf8')), body);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without reuse_cached_responses the cache records but never answers; max_saved_requests limits requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caching-'));
  try {
    const ic = cachingInterceptor.build(
      { cache_dir: dir, save_requests: true, max_saved_requests: 1 },
      interceptorDeps(),
    );
    for (let i = 0; i < 3; i++) {
      const r = { ...req(), body: { ...body, n: i } };
      assert.ok(!isAdapterResponse(await ic.onRequest!(r)));
      await ic.onResponse!(reply('{"ok": true}'), r);
    }
    assert.ok(!isAdapterResponse(await ic.onRequest!({ ...req(), body: { ...body, n: 0 } })));
    const stores = (
      ic as unknown as { stores: { requests: { count(): number }; responses: { count(): number } } }
    ).stores;
    assert.equal(stores.requests.count(), 1);
    assert.equal(stores.responses.count(), 3);
    await ic.close!();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reply with a fault is never stored; a stored reply that is not a valid completion is dropped once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-cache-fault-'));
  try {
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
    const ic = cachingInterceptor.build(
      { cache_dir: dir, reuse_cached_responses: true },
      interceptorDeps({ log }),
    );
    const req = (q: string) => ({
      body: { q },
      headers: {},
      meta: { requestId: 'r', sampleId: q, repeatIndex: 0 },
    });
    const reply = (text: string, fault?: string) => ({
      status: 200,
      headers: {},
      body: JSON.parse(text) as unknown,
      text,
      latencyMs: 1,
      cacheHit: false,
      ...(fault ? { fault } : {}),
    });
    const a = req('a');
    ic.onRequest!(a);
    ic.onResponse!(reply('{"choices":[]}', '"choices" is empty'), a);
    const b = req('b');
    ic.onRequest!(b);
    ic.onResponse!(reply('{"choices":[{"message":{"content":"ok"}}]}'), b);
    ic.flush();
    assert.equal(ic.stores.responses.count(), 1);
    // A row from elsewhere (an older version) that is not a valid completion.
    ic.stores.responses.put(cacheKey({ q: 'c' }), '{"choices":[]}', 1);
    ic.stores.responses.put(cacheKey({ q: 'd' }), 'not json', 1);
    assert.ok('status' in (ic.onRequest!(req('b')) as object), 'a valid row is a hit');
    assert.ok(!('status' in (ic.onRequest!(req('c')) as object)), 'an invalid row is a miss');
    assert.ok(!('status' in (ic.onRequest!(req('d')) as object)), 'a non-JSON row is a miss');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /responses\/cache\.db/);
    assert.equal(ic.stores.responses.has(cacheKey({ q: 'c' })), false);
    ic.close!();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
