import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { chainOf } from '../adapters/chain.js';
import { createEndpointInterceptor } from '../adapters/endpoint.js';
import { silentLogger } from '../logging.js';
import { createHttpTransport } from './http-transport.js';
import { createModelClient, EndpointRequestError } from './model-client.js';
import { backoffDelay, parseRetryAfter } from './retry.js';

type Step = (req: IncomingMessage, res: ServerResponse) => void;

/** A server that plays `steps` in order (the last one repeats) and counts requests. */
async function scriptedServer(steps: Step[]) {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => steps[Math.min(n++, steps.length - 1)]!(req, res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  return {
    url,
    count: () => n,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const okStep: Step = (_q, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"choices":[{"message":{"role":"assistant","content":"fine"}}]}');
};
const status =
  (code: number, headers: Record<string, string> = {}): Step =>
  (_q, res) => {
    res.writeHead(code, headers);
    res.end(`{"error":${code}}`);
  };
const reset: Step = (q) => q.socket.destroy();
const hang: Step = () => undefined;

function clientFor(
  url: string,
  opts: { maxRetries: number; timeoutMs?: number; now?: () => number; endpointType?: 'chat' | 'completions' },
) {
  const transport = createHttpTransport({ connections: 2 });
  const endpoint = createEndpointInterceptor({
    url,
    transport,
    timeoutMs: opts.timeoutMs ?? 5000,
    endpointType: opts.endpointType,
  });
  const chain = chainOf([endpoint], {
    outputDir: '/x',
    url,
    log: silentLogger,
  });
  const sleeps: number[] = [];
  const client = createModelClient({
    send: (r) => chain.send(r),
    maxRetries: opts.maxRetries,
    log: silentLogger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    now: opts.now,
    headers: { authorization: 'Bearer k' },
  });
  return { client, sleeps, close: () => transport.close() };
}

const meta = { requestId: '', sampleId: 's', repeatIndex: 0 };

test('429 with Retry-After (seconds and HTTP date), 500 and connection resets are retried', async () => {
  const fixedNow = Date.parse('2026-11-28T10:00:00Z');
  const srv = await scriptedServer([
    status(429, { 'retry-after': '3' }),
    status(503),
    reset,
    status(429, { 'retry-after': new Date(fixedNow + 7000).toUTCString() }),
    okStep,
  ]);
  const c = clientFor(srv.url, { maxRetries: 5, now: () => fixedNow });
  try {
    const r = await c.client.complete({ model: 'm' }, meta);
    assert.equal(r.attempts, 5);
    assert.equal(srv.count(), 5);
    // Retry-After 3 s; full-jitter backoff (random 0.5) for attempt 1 and 2; Retry-After date 7 s.
    assert.deepEqual(c.sleeps, [3000, backoffDelay(1, () => 0.5), backoffDelay(2, () => 0.5), 7000]);
  } finally {
    await c.close();
    await srv.close();
  }
});

test('400 is not retried; max_retries 0 means one attempt; retries are bounded', async () => {
  const bad = await scriptedServer([status(400)]);
  const c1 = clientFor(bad.url, { maxRetries: 5 });
  try {
    await assert.rejects(
      () => c1.client.complete({}, meta),
      (e: unknown) => e instanceof EndpointRequestError && /HTTP 400/.test(e.message),
    );
    assert.equal(bad.count(), 1);
    assert.deepEqual(c1.sleeps, []);
  } finally {
    await c1.close();
    await bad.close();
  }
  const down = await scriptedServer([status(500)]);
  const c2 = clientFor(down.url, { maxRetries: 0 });
  const c3 = clientFor(down.url, { maxRetries: 3 });
  try {
    await assert.rejects(() => c2.client.complete({}, meta), /after 1 attempt \(max_retries=0\)/);
    assert.equal(down.count(), 1);
    await assert.rejects(() => c3.client.complete({}, meta), /after 4 attempts/);
    assert.equal(down.count(), 5);
    assert.equal(c3.sleeps.length, 3);
  } finally {
    await c2.close();
    await c3.close();
    await down.close();
  }
});

test('a request that exceeds request_timeout is aborted and retried', async () => {
  const srv = await scriptedServer([hang, okStep]);
  const c = clientFor(srv.url, { maxRetries: 2, timeoutMs: 300 });
  try {
    const r = await c.client.complete({}, meta);
    assert.equal(r.attempts, 2);
    assert.equal(c.sleeps.length, 1);
  } finally {
    await c.close();
    await srv.close();
  }
});

test('Retry-After parsing and backoff bounds', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter('0.5', now), 500);
  assert.equal(parseRetryAfter('Sat, 28 Nov 2026 10:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('99999', now), 99_999_000, 'uncapped here: the client caps it');
  assert.equal(parseRetryAfter('99999', now, 60_000), 60_000, 'capped');
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
  // Equal jitter: each wait is in [ceiling/2, ceiling) for ceilings 2, 6, 18, 54, 60, 60 ... s.
  let minTotal = 0;
  for (let a = 0; a < 10; a++) {
    const ceiling = Math.min(60_000, 2000 * 3 ** a);
    const lo = backoffDelay(a, () => 0);
    const hi = backoffDelay(a, () => 0.999999);
    assert.equal(lo, ceiling / 2);
    assert.ok(hi < ceiling && hi >= lo, `${a}: ${hi}`);
    if (a < 5) minTotal += lo;
  }
  // The default max_retries (5) waits at least 70 s in all: a one-minute outage is ridden out.
  assert.equal(minTotal, 70_000);
  assert.equal(
    backoffDelay(0, () => 0, { baseMs: 100, capMs: 150 }),
    50,
  );
  assert.equal(
    backoffDelay(3, () => 0, { baseMs: 100, capMs: 150 }),
    75,
  );
});

test('a Retry-After above the cap is capped and logged once with both values; long waits are logged at info', async () => {
  const srv = await scriptedServer([status(429, { 'retry-after': '300' }), status(503), okStep]);
  const lines: string[] = [];
  const log = {
    debug: () => undefined,
    info: (m: string) => lines.push(`I ${m}`),
    warn: (m: string) => lines.push(`W ${m}`),
    error: (m: string) => lines.push(`E ${m}`),
  };
  const transport = createHttpTransport({ connections: 1 });
  const chain = chainOf([createEndpointInterceptor({ url: srv.url, transport, timeoutMs: 5000 })], {
    outputDir: '/x',
    url: srv.url,
    log,
  });
  const sleeps: number[] = [];
  const client = createModelClient({
    send: (r) => chain.send(r),
    maxRetries: 5,
    log,
    backoff: { baseMs: 8000, capMs: 10_000 },
    random: () => 0,
    sleep: async (ms) => void sleeps.push(ms),
  });
  try {
    const r = await client.complete({ model: 'm' }, { requestId: '', sampleId: 's1', repeatIndex: 0 });
    assert.equal(r.attempts, 3);
    assert.deepEqual(sleeps, [10_000, 5000]);
    assert.equal(lines.filter((l) => l.includes('Retry-After')).length, 1);
    assert.ok(
      lines.some((l) => /^W .*asked to wait 300 s \(Retry-After\); waiting 10 s/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^I waiting 10 s before retry 1 of 5: HTTP 429/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^I waiting 5 s before retry 2 of 5: HTTP 503/.test(l)),
      lines.join('\n'),
    );
  } finally {
    await transport.close();
    await srv.close();
  }
});

test('an HTTP 200 that is not a valid completion is retried (really sent again) and counted in attempts', async () => {
  const bad: Step = (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  };
  const srv = await scriptedServer([bad, bad, okStep]);
  const c = clientFor(srv.url, { maxRetries: 5 });
  try {
    const r = await c.client.complete({ model: 'm' }, { requestId: '', sampleId: 's', repeatIndex: 0 });
    assert.equal(r.attempts, 3);
    assert.equal(srv.count(), 3);
  } finally {
    await c.close();
    await srv.close();
  }
});

test('a server without prompt log-probabilities fails at once, with a hint that says what the task needs', async () => {
  const noLogprobs: Step = (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[{"index":0,"text":" ok","logprobs":null}]}');
  };
  const srv = await scriptedServer([noLogprobs]);
  const { client, close } = clientFor(srv.url.replace('/chat/completions', '/completions'), {
    maxRetries: 5,
    endpointType: 'completions',
  });
  try {
    const body = { model: 'm', prompt: 'Q: x\nA: y', echo: true, logprobs: 1, max_tokens: 0 };
    await assert.rejects(client.complete(body, meta), (e: unknown) => {
      assert.ok(e instanceof EndpointRequestError);
      assert.match(e.message, /no logprobs\.token_logprobs \(echo with logprobs was asked\)/);
      assert.match(e.hint ?? '', /needs prompt log-probabilities.*vLLM.*nel serve-model/);
      assert.match(e.fault ?? '', /echo with logprobs was asked/);
      return true;
    });
    assert.equal(srv.count(), 1, 'asking again cannot mend it: not retried');
    // a plain completion request to the same server is fine: the hint is only for what it lacks
    const plain = await client.complete({ model: 'm', prompt: 'hi' }, meta);
    assert.equal(plain.attempts, 1);
  } finally {
    await close();
    await srv.close();
  }
});

test('an endpoint fault of another kind keeps the default hint', async () => {
  const empty: Step = (_q, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  };
  const srv = await scriptedServer([empty]);
  const c = clientFor(srv.url, { maxRetries: 1 });
  try {
    await assert.rejects(c.client.complete({ model: 'm' }, meta), (e: unknown) => {
      assert.ok(e instanceof EndpointRequestError);
      assert.match(e.hint ?? '', /check the endpoint URL/);
      return true;
    });
  } finally {
    await c.close();
    await srv.close();
  }
});
