import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestTimeoutError, createHttpTransport } from './http-transport.js';

/** A server that answers /ok at once and never answers anything else. */
async function server(): Promise<{ url: string; close(): Promise<void> }> {
  const srv: Server = createServer((req, res) => {
    req.resume();
    if (req.url === '/ok') req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

test('a reply arrives; a silent server times out with RequestTimeoutError', async () => {
  const s = await server();
  const t = createHttpTransport({ connections: 2 });
  try {
    const ok = await t.post(`${s.url}/ok`, '{}', { 'content-type': 'application/json' }, { timeoutMs: 5000 });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, '{"ok":true}');
    const started = Date.now();
    await assert.rejects(t.post(`${s.url}/hang`, '{}', {}, { timeoutMs: 300 }), RequestTimeoutError);
    assert.ok(Date.now() - started < 5000);
  } finally {
    await t.close();
    await s.close();
  }
});

test('a cancelling signal fails the requests in flight at once and every later one', async () => {
  const s = await server();
  const t = createHttpTransport({ connections: 4 });
  const ctl = new AbortController();
  try {
    const inflight = [1, 2, 3].map(() =>
      t.post(`${s.url}/hang`, '{}', {}, { timeoutMs: 60_000, signal: ctl.signal }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    ctl.abort('SIGINT');
    const settled = await Promise.allSettled(inflight);
    assert.deepEqual(
      settled.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.ok(Date.now() - started < 2000, 'cancelled promptly');
    await assert.rejects(t.post(`${s.url}/ok`, '{}', {}, { timeoutMs: 5000, signal: ctl.signal }), /aborted/);
    // a request without that signal still works (a new pool)
    const ok = await t.post(`${s.url}/ok`, '{}', {}, { timeoutMs: 5000 });
    assert.equal(ok.status, 200);
  } finally {
    await t.close();
    await s.close();
  }
});
