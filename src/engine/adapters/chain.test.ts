import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../logging.js';
import { silentLogger } from '../logging.js';
import { chainOf } from './chain.js';
import { interceptorDeps as deps } from '../../../test/support/interceptor-deps.js';
import {
  payloadModifierInterceptor,
  requestLoggingInterceptor,
  systemMessageInterceptor,
} from './request-interceptors.js';
import {
  progressTrackingInterceptor,
  raiseClientErrorsInterceptor,
  reasoningInterceptor,
} from './response-interceptors.js';
import {
  FatalInterceptorError,
  type AdapterRequest,
  type AdapterResponse,
  type Interceptor,
} from './types.js';

const ctx = { outputDir: '/nonexistent', url: 'http://x/v1/chat/completions', log: silentLogger };
const baseReq = (body: Record<string, unknown>, headers: Record<string, string> = {}): AdapterRequest => ({
  body,
  headers,
  meta: { requestId: 'r1', sampleId: 's', repeatIndex: 0 },
});
const ok = (content: string, extra: Record<string, unknown> = {}): AdapterResponse => {
  const body = {
    choices: [{ message: { role: 'assistant', content, ...extra } }],
    usage: { completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 4 } },
  };
  return { status: 200, headers: {}, body, text: JSON.stringify(body), latencyMs: 1, cacheHit: false };
};

/** A fake endpoint that records what reached it and answers `answer`. */
function fakeEndpoint(answer: () => AdapterResponse, seen: AdapterRequest[]): Interceptor {
  return {
    name: 'endpoint',
    stage: 'request_to_response',
    onRequest(req) {
      seen.push(structuredClone(req));
      return answer();
    },
  };
}

test('system_message strategies rebuild messages with one system message first', async () => {
  const messages = [
    { role: 'user', content: 'q' },
    { role: 'system', content: 'old' },
  ];
  const run = async (strategy?: string) => {
    const ic = systemMessageInterceptor.build(
      { system_message: 'new', ...(strategy ? { strategy } : {}) },
      deps(),
    );
    return ((await ic.onRequest!(baseReq({ messages }))) as AdapterRequest).body.messages;
  };
  assert.deepEqual(await run(), [
    { role: 'system', content: 'new\nold' },
    { role: 'user', content: 'q' },
  ]);
  assert.deepEqual(await run('append'), [
    { role: 'system', content: 'old\nnew' },
    { role: 'user', content: 'q' },
  ]);
  assert.deepEqual(await run('replace'), [
    { role: 'system', content: 'new' },
    { role: 'user', content: 'q' },
  ]);
});

test('payload_modifier removes recursively, then adds, then renames; headers too', async () => {
  const ic = payloadModifierInterceptor.build(
    {
      params_to_remove: ['logprobs'],
      params_to_add: { extra_body: { chat_template_kwargs: { enable_thinking: false } }, seed: 3 },
      params_to_rename: { max_tokens: 'max_completion_tokens' },
      headers_to_remove: ['X-Drop'],
      headers_to_add: { 'X-Team': 'eval' },
      headers_to_rename: { 'x-old': 'x-new' },
    },
    deps(),
  );
  const out = (await ic.onRequest!(
    baseReq(
      { model: 'm', logprobs: true, max_tokens: 5, nested: { logprobs: 1, keep: 2 } },
      { 'x-drop': '1', 'x-old': 'v' },
    ),
  )) as AdapterRequest;
  assert.deepEqual(out.body, {
    model: 'm',
    max_completion_tokens: 5,
    nested: { keep: 2 },
    extra_body: { chat_template_kwargs: { enable_thinking: false } },
    seed: 3,
  });
  assert.deepEqual(out.headers, { 'x-new': 'v', 'x-team': 'eval' });
  assert.throws(
    () => payloadModifierInterceptor.build({ headers_to_add: { Host: 'h' } }, deps()),
    /cannot be added/,
  );
});

test('request_logging redacts Authorization and stops after max_requests', async () => {
  const lines: string[] = [];
  const log: Logger = { ...silentLogger, info: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`) };
  const ic = requestLoggingInterceptor.build({}, deps({ log, url: 'http://x' }));
  for (let i = 0; i < 3; i++) await ic.onRequest!(baseReq({ n: i }, { authorization: 'Bearer sk-secret' }));
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.includes('[REDACTED]') && !l.includes('sk-secret')));
});

test('reasoning strips up to the last end token, keeps unfinished replies, and writes its stats block', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reasoning-'));
  try {
    const ic = reasoningInterceptor.build({}, deps({ outputDir: dir }));
    const r1 = (await ic.onResponse!(
      ok('<think>a b c</think>\n\nAnswer: B'),
      baseReq({}),
    )) as AdapterResponse;
    assert.equal((r1.body as any).choices[0].message.content, 'Answer: B');
    assert.equal(JSON.parse(r1.text).choices[0].message.content, 'Answer: B');
    const r2 = (await ic.onResponse!(ok('<think>still thinking'), baseReq({}))) as AdapterResponse;
    assert.equal((r2.body as any).choices[0].message.content, '<think>still thinking');
    const r3 = (await ic.onResponse!(
      ok('plain', { reasoning_content: 'r1 r2' }),
      baseReq({}),
    )) as AdapterResponse;
    assert.equal((r3.body as any).choices[0].message.content, 'plain');
    const cached = { ...ok('<think>x</think>y'), cacheHit: true };
    assert.equal(
      (((await ic.onResponse!(cached, baseReq({}))) as AdapterResponse).body as any).choices[0].message
        .content,
      '<think>x</think>y',
    );
    await ic.postEval!();
    const stats = JSON.parse(readFileSync(join(dir, 'eval_factory_metrics.json'), 'utf8')).reasoning;
    assert.equal(stats.total_responses, 3);
    assert.equal(stats.reasoning_finished_count, 2);
    assert.equal(stats.reasoning_unfinished_count, 1);
    assert.equal(stats.max_reasoning_words, 3);
    assert.equal(stats.total_reasoning_tokens, 12);
    const blanking = reasoningInterceptor.build({ include_if_not_finished: false }, deps({ outputDir: dir }));
    const r4 = (await blanking.onResponse!(ok('<think>never ends'), baseReq({}))) as AdapterResponse;
    assert.equal((r4.body as any).choices[0].message.content, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raise_client_errors: 4xx is fatal except 408/429; status_codes override', async () => {
  const ic = raiseClientErrorsInterceptor.build({}, deps());
  const res = (status: number): AdapterResponse => ({ ...ok('x'), status, text: 'nope' });
  await assert.rejects(async () => ic.onResponse!(res(401), baseReq({})), FatalInterceptorError);
  assert.equal((await ic.onResponse!(res(429), baseReq({}))).status, 429);
  assert.equal((await ic.onResponse!(res(500), baseReq({}))).status, 500);
  const only = raiseClientErrorsInterceptor.build({ status_codes: [500] }, deps());
  await assert.rejects(async () => only.onResponse!(res(500), baseReq({})), /HTTP 500/);
});

test('chain: request phase stops at the first response; response phase runs in reverse order; failures are skipped', async () => {
  const order: string[] = [];
  const seen: AdapterRequest[] = [];
  const tag = (name: string): Interceptor => ({
    name,
    stage: 'response',
    onResponse(r) {
      order.push(name);
      return r;
    },
  });
  const broken: Interceptor = {
    name: 'broken',
    stage: 'request',
    onRequest() {
      throw new Error('boom');
    },
  };
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
  const chain = chainOf(
    [
      broken,
      systemMessageInterceptor.build({ system_message: 'S' }, deps()),
      fakeEndpoint(() => ok('hi'), seen),
      tag('a'),
      tag('b'),
    ],
    { ...ctx, log },
  );
  const res = await chain.send(baseReq({ messages: [{ role: 'user', content: 'q' }] }));
  assert.equal(res.status, 200);
  assert.deepEqual(order, ['b', 'a']);
  assert.deepEqual(seen[0]!.body.messages, [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'q' },
  ]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /'broken' failed/);
  const fatal = chainOf(
    [fakeEndpoint(() => ({ ...ok('x'), status: 403 }), seen), raiseClientErrorsInterceptor.build({}, deps())],
    ctx,
  );
  await assert.rejects(() => fatal.send(baseReq({})), FatalInterceptorError);
});

test('progress_tracking counts non-cached 200s, writes its own file monotonically and posts only to a configured URL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'progress-'));
  try {
    writeFileSync(join(dir, 'progress'), '2\n');
    const posts: string[] = [];
    const fakeFetch = (async (_url: string, init: { body: string }) => {
      posts.push(init.body);
      return new Response('{}');
    }) as unknown as typeof fetch;
    const ic = progressTrackingInterceptor.build(
      { output_dir: dir, progress_tracking_interval: 2, progress_tracking_url: 'http://127.0.0.1:1/p' },
      deps({ outputDir: '/run-output', fetch: fakeFetch }),
    );
    for (const r of [ok('a'), { ...ok('b'), cacheHit: true }, ok('c'), { ...ok('d'), status: 500 }, ok('e')])
      await ic.onResponse!(r, baseReq({}));
    await ic.postEval!();
    assert.equal(readFileSync(join(dir, 'progress'), 'utf8').trim(), '5');
    assert.deepEqual(posts, ['{"samples_processed":4}', '{"samples_processed":5}']);
    const silent = progressTrackingInterceptor.build(
      { output_dir: dir },
      deps({ outputDir: '/run-output', fetch: fakeFetch }),
    );
    await silent.onResponse!(ok('x'), baseReq({}));
    assert.equal(posts.length, 2, 'no URL configured -> no request');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
