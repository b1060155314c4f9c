import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCorrectAt, startReferenceEndpoint } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-ref-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'gsm8k.jsonl');
writeFileSync(
  file,
  Array.from({ length: 10 }, (_v, i) =>
    JSON.stringify({ question: `What is ${i} + ${i}?`, answer: `${i}+${i}=${2 * i}\n#### ${2 * i}` }),
  ).join('\n'),
);

test('exactly floor(N * acc) samples are answered correctly', () => {
  for (const [n, acc] of [
    [1319, 0.5],
    [10, 0.3],
    [7, 1],
    [7, 0],
  ] as const) {
    let correct = 0;
    for (let i = 0; i < n; i++) if (isCorrectAt(i, acc)) correct++;
    assert.equal(correct, Math.floor(n * acc));
  }
});

test('chat answers, models, usage, unknown prompts, hashed auth in /stats', async () => {
  const ep = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: file, modelId: 'm1' });
  try {
    const models = (await (await fetch(`${ep.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.equal(models.data[0].id, 'm1');
    const prompt = `Solve the following math problem step by step. The last line of your response should be of the form "The final answer is <number>" where <number> is the final numerical answer, without units.\n\nWhat is 3 + 3?`;
    const res = await fetch(`${ep.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer canary-secret', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm1',
        messages: [
          { role: 'system', content: 'x' },
          { role: 'user', content: prompt },
        ],
      }),
    });
    const body = (await res.json()) as {
      choices: { message: { content: string } }[];
      usage: { total_tokens: number };
    };
    assert.match(body.choices[0].message.content, /The final answer is 6$/);
    assert.ok(body.usage.total_tokens > 0);
    const unknown = await fetch(`${ep.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'hello' }),
    });
    assert.equal(
      ((await unknown.json()) as { choices: { text: string }[] }).choices[0].text,
      'I do not know.',
    );
    const stats = (await (await fetch(`${ep.url}/stats`)).json()) as Record<string, unknown>;
    assert.equal(stats.unknown_prompts, 1);
    assert.equal(stats.answered_ok, 2);
    assert.deepEqual(stats.auth_seen, [createHash('sha256').update('canary-secret').digest('hex')]);
    assert.ok(!JSON.stringify(stats).includes('canary-secret'));
  } finally {
    await ep.close();
  }
});

test('faults are injected deterministically: 429 with Retry-After, 500, reset', async () => {
  const outcomes = async () => {
    const ep = await startReferenceEndpoint({
      benchmark: 'gsm8k',
      datasetPath: file,
      faultRate: 0.5,
      seed: 7,
      retryAfterSeconds: 0,
    });
    const seen: string[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        try {
          const r = await fetch(`${ep.url}/v1/completions`, {
            method: 'POST',
            body: JSON.stringify({ prompt: `p${i}` }),
          });
          await r.text();
          seen.push(r.status === 429 ? `429:${r.headers.get('retry-after')}` : String(r.status));
        } catch {
          seen.push('reset');
        }
      }
      const stats = ep.stats();
      assert.equal(stats.total, 30);
      assert.equal(stats.distinct_bodies, 30);
      return seen;
    } finally {
      await ep.close();
    }
  };
  const first = await outcomes();
  assert.deepEqual(await outcomes(), first);
  for (const kind of ['200', '429:0', '500', 'reset'])
    assert.ok(first.includes(kind), `${kind} in ${first.join(',')}`);
});

test('a hanging request is released when the server closes', async () => {
  const ep = await startReferenceEndpoint({
    benchmark: 'gsm8k',
    datasetPath: file,
    faultRate: 1,
    faults: ['hang'],
  });
  const pending = fetch(`${ep.url}/v1/completions`, { method: 'POST', body: '{"prompt":"x"}' }).then(
    () => 'answered',
    () => 'closed',
  );
  for (let i = 0; i < 200 && !ep.stats().by_status.hang; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(ep.stats().by_status.hang, 1);
  await ep.close();
  assert.equal(await pending, 'closed');
});

test('one endpoint answers several benchmarks, each from its own data set', async () => {
  const { getBenchmark } = await import('../engine/benchmarks/index.js');
  const { runSelfCheck } = await import('./self-check.js');
  const mmluFile = join(dir, 'mmlu.jsonl');
  writeFileSync(
    mmluFile,
    Array.from({ length: 8 }, (_v, i) =>
      JSON.stringify({
        question: `Which is ${i}?`,
        subject: 's',
        choices: ['a', 'b', String(i), 'd'],
        answer: 2,
      }),
    ).join('\n'),
  );
  const ep = await startReferenceEndpoint({
    benchmarks: [
      { benchmark: 'gsm8k', datasetPath: file },
      { benchmark: 'builtin.mmlu', datasetPath: mmluFile },
    ],
    accuracy: 1,
  });
  try {
    for (const [name, path] of [
      ['gsm8k', file],
      ['mmlu', mmluFile],
    ] as const) {
      const run = await runSelfCheck({
        benchmark: getBenchmark(name)!,
        url: ep.url,
        endpointType: 'chat',
        params: { extra: { dataset_path: path } },
      });
      const metric = Object.values(run.result.tasks)[0]!.metrics;
      const value = Object.values(Object.values(metric)[0]!.scores)[0]!.value;
      assert.equal(value, 1, `${name} answered from its own gold answers`);
    }
    assert.equal(ep.stats().unknown_prompts, 0);
    assert.equal(ep.stats().samples_indexed, 18);
  } finally {
    await ep.close();
  }
  await assert.rejects(
    startReferenceEndpoint({ benchmarks: [{ benchmark: 'gsm8k' }, { benchmark: 'nosuch' }] }),
    /unknown benchmark "nosuch"/,
  );
});

test('completions with echo + logprobs: text, text lists, token ids and lists of them, in vLLM format', async () => {
  const wf = join(dir, 'winogrande.jsonl');
  writeFileSync(
    wf,
    JSON.stringify({
      qID: 'q1',
      sentence: 'Ann beat Bo so _ won.',
      option1: 'Ann',
      option2: 'Bo',
      answer: '1',
    }) + '\n',
  );
  const ep = await startReferenceEndpoint({ benchmark: 'winogrande', datasetPath: wf });
  const post = async (body: Record<string, unknown>) => {
    const res = await fetch(`${ep.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  try {
    // the gold pair (option1) of a sample answered correctly: continuation total -1, greedy
    const gold = await post({ prompt: 'Ann beat Bo so Ann won.', echo: true, logprobs: 1, max_tokens: 0 });
    assert.equal(gold.status, 200);
    const lp = gold.body.choices[0].logprobs;
    assert.deepEqual(lp.tokens, ['Ann', ' beat', ' Bo', ' so', ' Ann', ' won.']);
    assert.deepEqual(lp.text_offset, [0, 3, 8, 11, 14, 18]);
    assert.deepEqual(lp.token_logprobs, [null, -1, -1, -1, -1, -1]);
    assert.equal(lp.top_logprobs[0], null);
    assert.deepEqual(lp.top_logprobs[5], { ' won.': -1 });
    assert.equal(gold.body.choices[0].text, 'Ann beat Bo so Ann won.');
    // the other pair: -3 over its continuation, with a higher-ranked alternative; batched with the gold one
    const both = await post({
      prompt: ['Ann beat Bo so Bo won.', 'Ann beat Bo so Ann won.'],
      echo: true,
      logprobs: 2,
      max_tokens: 0,
    });
    assert.deepEqual(
      both.body.choices.map((c: any) => c.index),
      [0, 1],
    );
    const other = both.body.choices[0].logprobs;
    assert.equal(other.token_logprobs[5], -3);
    assert.ok(Object.values(other.top_logprobs[5] as Record<string, number>).some((v) => v > -3));
    assert.equal(Object.keys(both.body.choices[1].logprobs.top_logprobs[5]).length, 2);
    // max_tokens 1 appends one generated token after the echoed prompt
    const one = await post({ prompt: 'Ann beat Bo so Ann won.', echo: true, logprobs: 1, max_tokens: 1 });
    assert.equal(one.body.choices[0].logprobs.tokens.length, 7);
    assert.equal(one.body.choices[0].logprobs.text_offset[6], 23);
    // token ids: one token per id; a list of id lists is a batch
    const ids = await post({ prompt: [5, 6, 7], echo: true, logprobs: 1, max_tokens: 0 });
    assert.deepEqual(ids.body.choices[0].logprobs.token_logprobs, [null, -1, -1]);
    const idBatch = await post({
      prompt: [
        [5, 6],
        [7, 8, 9],
      ],
      echo: true,
      logprobs: 1,
      max_tokens: 0,
    });
    assert.equal(idBatch.body.choices[1].logprobs.tokens.length, 3);
    // bad prompts are refused
    assert.equal((await post({ prompt: [[1], 'x'], echo: true, logprobs: 1 })).status, 400);
    assert.equal(ep.stats().unknown_prompts, 3, 'the three token-id prompts are not indexed');
  } finally {
    await ep.close();
  }
  const refusing = await startReferenceEndpoint({
    benchmark: 'winogrande',
    datasetPath: wf,
    refuseMaxTokensZero: true,
  });
  try {
    const res = await fetch(`${refusing.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'Ann beat Bo so Ann won.', echo: true, logprobs: 1, max_tokens: 0 }),
    });
    assert.equal(res.status, 400);
  } finally {
    await refusing.close();
  }
});
