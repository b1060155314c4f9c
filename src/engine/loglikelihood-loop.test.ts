import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdapterResponse } from './adapters/types.js';
import type { EncodedPair } from './benchmarks/loglikelihood/pairs.js';
import type { BenchmarkSample, LoglikelihoodRun, SampleStream } from './benchmarks/types.js';
import { EndpointRequestError, type ModelClient } from './client/model-client.js';
import { runWorkerPool } from './client/worker-pool.js';
import { silentLogger } from './logging.js';
import { createLoglikelihoodLoop, pairKeyText } from './loglikelihood-loop.js';

const text = (...prompts: string[]): EncodedPair[] =>
  prompts.map((prompt) => ({ kind: 'text', prompt, contextChars: 0 }));
const ids = (...prompts: number[][]): EncodedPair[] =>
  prompts.map((prompt) => ({ kind: 'tokens', prompt, contextTokens: 0 }));

test('journal key texts: different models, logprobs or prompts never give the same text', () => {
  const cases: [string, number, EncodedPair[]][] = [
    ['m', 1, text('ab', 'c')],
    ['m', 1, text('a', 'bc')],
    ['m', 1, text('abc')],
    ['m', 1, text('1:a')],
    ['m', 1, text('', '1:a')],
    ['m', 1, text('a|1', '')],
    ['m|1', 1, text('a')],
    ['m', 11, text('a')],
    ['m', 1, text('a')],
    ['m1', 1, text('a')],
    ['m', 1, text('[1,2]')],
    ['m', 1, ids([1, 2])],
    ['m', 1, ids([1], [2])],
    ['m', 1, ids([12])],
    ['m', 1, [...text('a'), ...ids([1])]],
    ['m', 1, [...ids([1]), ...text('a')]],
    ['m', 1, text('é', 'e\u0301')],
    ['m', 1, text('\ud83d\ude00')],
    ['', 1, text('a')],
  ];
  const seen = new Map<string, number>();
  cases.forEach(([model, logprobs, enc], i) => {
    const t = pairKeyText(model, logprobs, enc);
    assert.equal(seen.get(t), undefined, `case ${i} gives the text of case ${seen.get(t)}: ${t}`);
    seen.set(t, i);
  });
  // where the continuation starts is part of the key: the same prompt split elsewhere is another pair
  assert.notEqual(
    pairKeyText('m', 1, [{ kind: 'text', prompt: 'x y', contextChars: 1 }]),
    pairKeyText('m', 1, [{ kind: 'text', prompt: 'x y', contextChars: 2 }]),
  );
  assert.notEqual(
    pairKeyText('m', 1, [{ kind: 'tokens', prompt: [1, 2], contextTokens: 1 }]),
    pairKeyText('m', 1, [{ kind: 'tokens', prompt: [1, 2], contextTokens: 0 }]),
  );
  // and nothing else: the same pairs, the same text
  assert.equal(pairKeyText('m', 1, text('a', 'b')), pairKeyText('m', 1, text('a', 'b')));
});

/** A log-likelihood run of `n` samples, two text pairs each (context `c<i>`, continuations ` a` and ` b`). */
function tinyRun(n: number): { ll: LoglikelihoodRun; stream: SampleStream } {
  const samples: BenchmarkSample[] = Array.from({ length: n }, (_v, i) => ({
    id: `s${i}`,
    index: i,
    data: {},
  }));
  const ll: LoglikelihoodRun = {
    pairs: (s) => [' a', ' b'].map((continuation) => ({ context: `c${s.index}`, continuation })),
    encode: (p) => ({ kind: 'text', prompt: p.context + p.continuation, contextChars: p.context.length }),
    batchSize: 1,
    logprobs: 1,
    score: (s, results) => ({
      sampleId: s.id,
      scores: { acc: results[0]!.loglikelihood > results[1]!.loglikelihood ? 1 : 0 },
      extracted: [],
    }),
    referenceChoice: () => 0,
  };
  return { ll, stream: { total: n, samples: () => samples } };
}

/** A prompt-logprobs reply for text prompts `c<i> a`: the context one token, the continuation another. */
function replyFor(body: Record<string, unknown>): AdapterResponse {
  const prompts = (Array.isArray(body.prompt) ? body.prompt : [body.prompt]) as string[];
  const generated = body.max_tokens as number;
  const choices = prompts.map((p, index) => {
    const cut = p.lastIndexOf(' ');
    const lps = [null, -1, ...Array(generated).fill(-2)];
    return {
      index,
      text: p,
      logprobs: {
        tokens: [p.slice(0, cut), p.slice(cut), ...Array(generated).fill('x')],
        token_logprobs: lps,
        top_logprobs: lps.map((v) => (v === null ? null : { t: v })),
        text_offset: [0, cut, ...Array(generated).fill(p.length)],
      },
    };
  });
  const text = JSON.stringify({ choices });
  return { status: 200, headers: {}, body: JSON.parse(text), text, latencyMs: 0, cacheHit: false };
}

async function runTiny(
  n: number,
  complete: ModelClient['complete'],
): Promise<{ recorded: number; warnings: string[] }> {
  const { ll, stream } = tinyRun(n);
  const warnings: string[] = [];
  let recorded = 0;
  const loop = createLoglikelihoodLoop({
    ll,
    stream,
    modelId: 'm',
    client: { complete },
    log: { ...silentLogger, warn: (m: string) => warnings.push(m) },
    stop: new AbortController().signal,
    allowedFailed: 0,
    journalPath: null,
    onAnswer: () => undefined,
    record: async () => {
      recorded++;
    },
  });
  await runWorkerPool(loop.batches(), 4, loop.worker);
  loop.finish();
  loop.close();
  return { recorded, warnings };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('the first request decides max_tokens: a 200 lets the others go before its reply is read', async () => {
  const events: string[] = [];
  let calls = 0;
  const result = await runTiny(3, async (body, meta) => {
    const call = ++calls;
    events.push(`send ${call} max_tokens ${String(body.max_tokens)}`);
    if (call === 1) {
      meta.onReply?.(replyFor(body));
      // the first reply is "being read" until the others have gone out
      for (let i = 0; i < 20 && calls < 4; i++) await tick();
      events.push('first read');
    }
    return { response: replyFor(body), attempts: 1 };
  });
  assert.equal(result.recorded, 3);
  // the other three workers sent theirs while the first reply was still being read
  assert.deepEqual(events.slice(0, 4), [
    'send 1 max_tokens 0',
    'send 2 max_tokens 0',
    'send 3 max_tokens 0',
    'send 4 max_tokens 0',
  ]);
  assert.ok(events.indexOf('first read') > 3);
  assert.ok(events.every((e) => e === 'first read' || e.endsWith('max_tokens 0')));
  assert.equal(calls, 6);
});

test('a refused max_tokens 0 holds the others until the retry with max_tokens 1 is answered', async () => {
  const sent: number[] = [];
  const result = await runTiny(3, async (body, meta) => {
    sent.push(body.max_tokens as number);
    if (body.max_tokens === 0) {
      meta.onReply?.({ ...replyFor(body), status: 400 });
      throw new EndpointRequestError('HTTP 400: max_tokens must be at least 1');
    }
    return { response: replyFor(body), attempts: 1 };
  });
  assert.equal(result.recorded, 3);
  assert.deepEqual(sent, [0, 1, 1, 1, 1, 1, 1], 'max_tokens 0 is tried once, then 1 for the run');
  assert.ok(result.warnings.some((w) => /max_tokens 1/.test(w)));
});

const NO_LOGPROBS = 'choices[0] has no logprobs.token_logprobs (echo with logprobs was asked)';

test('a 200 without prompt log-probabilities to max_tokens 0 counts as a refusal: max_tokens 1 for the run', async () => {
  const sent: number[] = [];
  const result = await runTiny(3, async (body, meta) => {
    sent.push(body.max_tokens as number);
    if (body.max_tokens === 0) {
      meta.onReply?.({ ...replyFor(body), fault: NO_LOGPROBS });
      throw new EndpointRequestError(
        `HTTP 200 that is not a valid completion: ${NO_LOGPROBS}`,
        undefined,
        NO_LOGPROBS,
      );
    }
    return { response: replyFor(body), attempts: 1 };
  });
  assert.equal(result.recorded, 3);
  assert.deepEqual(sent, [0, 1, 1, 1, 1, 1, 1]);
  assert.ok(result.warnings.some((w) => /max_tokens 1/.test(w)));
});

test('a server without prompt log-probabilities at max_tokens 1 either ends the run with that error', async () => {
  // (the requests that waited for the first still try once each: a failure of one sample is not theirs)
  const sent: number[] = [];
  await assert.rejects(
    runTiny(3, async (body) => {
      sent.push(body.max_tokens as number);
      throw new EndpointRequestError(
        `HTTP 200 that is not a valid completion: ${NO_LOGPROBS}`,
        'hint',
        NO_LOGPROBS,
      );
    }),
    (e: unknown) => e instanceof EndpointRequestError && e.fault === NO_LOGPROBS,
  );
  assert.deepEqual(sent.slice(0, 2), [0, 1]);
  assert.ok(sent.length <= 8, `${sent.length} requests`);
});
