/**
 * The llama.cpp model server on a real GGUF model (random, seeded weights written here): vLLM's
 * completions format with echo and prompt logprobs, checked against log-likelihoods computed directly
 * with llama.cpp; max_tokens, stop sequences, batched prompts, the chat template, health and models.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHATML_TEMPLATE, writeRandomLlamaGguf } from '../src/model-server/gguf-writer.js';
import { directLoglikelihood } from '../src/model-server/engine.js';
import { startModelServer, type ModelServer } from '../src/model-server/server.js';
import { repoRoot } from './support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-llamacpp-'));
const modelPath = join(dir, 'random.gguf');
let server: ModelServer;

interface Logprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}
interface Choice {
  index: number;
  text: string;
  logprobs: Logprobs | null;
  finish_reason: string;
  stop_reason: string | number | null;
}
interface Reply {
  choices: Choice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error?: { message: string };
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Reply }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Reply };
}

before(async () => {
  const written = writeRandomLlamaGguf(modelPath, { seed: 7 });
  assert.ok(written.bytes > 100_000 && written.bytes < 2_000_000, `a few hundred KB, got ${written.bytes}`);
  server = await startModelServer({ modelPath, servedModelName: 'tiny', threads: 1 });
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the GGUF file is written deterministically from its seed, and another seed gives other weights', () => {
  const a = join(dir, 'a.gguf');
  const b = join(dir, 'b.gguf');
  writeRandomLlamaGguf(a, { seed: 7 });
  writeRandomLlamaGguf(b, { seed: 8 });
  assert.deepEqual(readFileSync(a), readFileSync(modelPath));
  assert.notDeepEqual(readFileSync(b), readFileSync(modelPath));
  assert.equal(readFileSync(a).subarray(0, 4).toString('ascii'), 'GGUF');
});

test('health and models', async () => {
  const h = await fetch(server.url + '/health');
  assert.equal(h.status, 200);
  const m = (await (await fetch(server.url + '/v1/models')).json()) as {
    data: { id: string; max_model_len: number }[];
  };
  assert.equal(m.data.length, 1);
  assert.equal(m.data[0]!.id, 'tiny');
  assert.equal(m.data[0]!.max_model_len, 4096);
});

test('llama.cpp tokenizes with the GGUF vocabulary: pieces, byte fallback, control tokens, round trip', () => {
  const model = server.model;
  const text = 'The answer is 42, é!';
  const ids = model.tokenize(text, true);
  assert.equal(ids[0], 1, 'BOS first');
  assert.equal(model.detokenize(ids.slice(1), false), text);
  // é has no piece: two byte tokens
  assert.ok(
    ids.some((t) => t >= 3 && t < 259),
    'byte-fallback tokens are used',
  );
  const chat = model.tokenize('<|im_start|>user', false);
  assert.equal(model.detokenize(chat.slice(0, 1), true), '<|im_start|>');
});

test('echo + logprobs: per-token log-probabilities equal the ones llama.cpp computes directly', async () => {
  const context = 'Question: What is the capital of France?\nAnswer:';
  const continuation = ' Paris is the answer';
  const prompt = context + continuation;
  const { status, json } = await post('/v1/completions', {
    model: 'tiny',
    prompt,
    max_tokens: 0,
    echo: true,
    logprobs: 1,
    temperature: 0,
  });
  assert.equal(status, 200, JSON.stringify(json));
  const choice = json.choices[0]!;
  const lp = choice.logprobs!;
  assert.equal(choice.text, prompt);
  const ids = server.model.tokenize(prompt, true);
  assert.equal(lp.tokens.length, ids.length);
  assert.equal(json.usage.prompt_tokens, ids.length);
  assert.equal(json.usage.completion_tokens, 0);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  // text_offset: where each token starts in the returned text; the pieces rebuild it
  for (let i = 1; i < lp.tokens.length; i++) {
    const piece = lp.tokens[i]!;
    assert.equal(
      [...choice.text].slice(lp.text_offset[i], lp.text_offset[i]! + [...piece].length).join(''),
      piece,
    );
  }
  // the continuation's tokens: those whose text starts at or after the context's end
  const start = lp.text_offset.findIndex((o, i) => i > 0 && o >= [...context].length);
  assert.ok(start > 1);
  const direct = await directLoglikelihood(modelPath, ids.slice(0, start), ids.slice(start));
  const served = lp.token_logprobs.slice(start) as number[];
  assert.equal(served.length, direct.logprobs.length);
  for (let i = 0; i < served.length; i++) assert.ok(Math.abs(served[i]! - direct.logprobs[i]!) < 1e-4);
  const sum = served.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - direct.sum) < 1e-4, `${sum} vs ${direct.sum}`);
  // every prompt position, from the first
  const whole = await directLoglikelihood(modelPath, ids.slice(0, 1), ids.slice(1));
  for (let i = 1; i < ids.length; i++)
    assert.ok(Math.abs(lp.token_logprobs[i]! - whole.logprobs[i - 1]!) < 1e-4);
  // the logprobs are real distributions: negative, not all equal; top-1 is at least the token's own
  assert.ok(served.every((v) => v < 0));
  assert.ok(new Set(served.map((v) => v.toFixed(3))).size > 1);
  for (let i = 1; i < ids.length; i++) {
    const top = lp.top_logprobs[i]!;
    assert.ok(Math.max(...Object.values(top)) >= lp.token_logprobs[i]! - 1e-12);
  }
  // is_greedy agrees with the served top-1
  const greedy = lp.top_logprobs
    .slice(start)
    .every((top, k) => Math.max(...Object.values(top!)) <= served[k]! + 1e-12);
  assert.equal(greedy, direct.isGreedy);
});

test('token evaluation one at a time (other kernels) agrees with the served prompt logprobs to 1e-3', async () => {
  const ids = server.model.tokenize('Answer: the answer is 1000 and that is all', true);
  const { json } = await post('/v1/completions', { prompt: ids, max_tokens: 0, echo: true, logprobs: 0 });
  const stepwise = await directLoglikelihood(modelPath, ids.slice(0, 1), ids.slice(1), { mode: 'stepwise' });
  const served = json.choices[0]!.logprobs!.token_logprobs.slice(1) as number[];
  assert.equal(served.length, stepwise.logprobs.length);
  for (let i = 0; i < served.length; i++) assert.ok(Math.abs(served[i]! - stepwise.logprobs[i]!) < 1e-3);
  // token-id prompts get no BOS added
  assert.equal(json.usage.prompt_tokens, ids.length);
});

test('logprobs: N gives N alternatives (plus the token itself when it is not among them)', async () => {
  const { json } = await post('/v1/completions', {
    prompt: 'Hello world',
    max_tokens: 0,
    echo: true,
    logprobs: 3,
  });
  const lp = json.choices[0]!.logprobs!;
  for (let i = 1; i < lp.tokens.length; i++) {
    const top = lp.top_logprobs[i]!;
    const n = Object.keys(top).length;
    assert.ok(n === 3 || n === 4, `${n} entries`);
    assert.equal(top[lp.tokens[i]!], lp.token_logprobs[i]);
  }
});

test('max_tokens is honoured exactly, greedy generation is deterministic, logprobs of generated tokens', async () => {
  const body = { prompt: 'The answer is', max_tokens: 24, temperature: 0, logprobs: 1, ignore_eos: true };
  const a = (await post('/v1/completions', body)).json;
  const b = (await post('/v1/completions', body)).json;
  assert.equal(a.usage.completion_tokens, 24);
  assert.equal(a.choices[0]!.finish_reason, 'length');
  assert.equal(a.choices[0]!.logprobs!.tokens.length, 24);
  assert.equal(a.choices[0]!.text, b.choices[0]!.text);
  assert.deepEqual(a.choices[0]!.logprobs!.token_logprobs, b.choices[0]!.logprobs!.token_logprobs);
  // greedy: every generated token is the most likely one
  const lp = a.choices[0]!.logprobs!;
  lp.token_logprobs.forEach((v, i) =>
    assert.ok(Math.max(...Object.values(lp.top_logprobs[i]!)) <= v! + 1e-12),
  );
  for (const n of [1, 5]) {
    const r = (
      await post('/v1/completions', { prompt: 'x', max_tokens: n, temperature: 0, ignore_eos: true })
    ).json;
    assert.equal(r.usage.completion_tokens, n);
  }
});

test('stop sequences cut the text where they start; the stop string is the stop_reason', async () => {
  const free = (
    await post('/v1/completions', { prompt: 'Hello', max_tokens: 40, temperature: 0, ignore_eos: true })
  ).json;
  const text = free.choices[0]!.text;
  // a stop string taken from the middle of the free generation
  const stop = text.slice(10, 13);
  assert.equal(stop.length, 3);
  const first = text.indexOf(stop);
  const r = (
    await post('/v1/completions', {
      prompt: 'Hello',
      max_tokens: 40,
      temperature: 0,
      ignore_eos: true,
      stop: ['\u0000never', stop],
    })
  ).json;
  assert.equal(r.choices[0]!.text, text.slice(0, first));
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  assert.equal(r.choices[0]!.stop_reason, stop);
  assert.ok(r.usage.completion_tokens < 40);
  const kept = (
    await post('/v1/completions', {
      prompt: 'Hello',
      max_tokens: 40,
      temperature: 0,
      ignore_eos: true,
      stop,
      include_stop_str_in_output: true,
    })
  ).json;
  assert.equal(kept.choices[0]!.text, text.slice(0, first + stop.length));
});

test('batched prompts: one choice per prompt, each as if sent alone', async () => {
  const prompts = ['The answer is', 'Question: what', 'A B C D'];
  const batch = (
    await post('/v1/completions', { prompt: prompts, max_tokens: 4, temperature: 0, echo: true, logprobs: 1 })
  ).json;
  assert.equal(batch.choices.length, 3);
  let total = 0;
  for (const [i, p] of prompts.entries()) {
    const alone = (
      await post('/v1/completions', { prompt: p, max_tokens: 4, temperature: 0, echo: true, logprobs: 1 })
    ).json;
    assert.equal(batch.choices[i]!.index, i);
    assert.equal(batch.choices[i]!.text, alone.choices[0]!.text);
    assert.ok(batch.choices[i]!.text.startsWith(p));
    assert.deepEqual(batch.choices[i]!.logprobs!.token_logprobs, alone.choices[0]!.logprobs!.token_logprobs);
    total += alone.usage.prompt_tokens;
  }
  assert.equal(batch.usage.prompt_tokens, total);
  const ids = prompts.map((p) => server.model.tokenize(p, true));
  const byIds = (await post('/v1/completions', { prompt: ids, max_tokens: 0, echo: true, logprobs: 1 })).json;
  assert.equal(byIds.choices.length, 3);
  byIds.choices.forEach((c, i) =>
    assert.deepEqual(
      c.logprobs!.token_logprobs,
      batch.choices[i]!.logprobs!.token_logprobs.slice(0, ids[i]!.length),
    ),
  );
});

test('chat requests go through the model chat template', async () => {
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
  ];
  const chat = await post('/v1/chat/completions', {
    model: 'tiny',
    messages,
    max_tokens: 12,
    temperature: 0,
  });
  assert.equal(chat.status, 200);
  // the ChatML rendering, written out by hand
  const rendered =
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n';
  const ids = server.model.tokenize(rendered, false);
  assert.equal(chat.json.usage.prompt_tokens, ids.length);
  assert.ok(ids.filter((t) => server.model.detokenize([t], true) === '<|im_start|>').length === 3);
  // the same tokens as a completion prompt generate the same text
  const completion = (await post('/v1/completions', { prompt: ids, max_tokens: 12, temperature: 0 })).json;
  const content = (chat.json.choices[0] as unknown as { message: { content: string } }).message.content;
  assert.equal(content, completion.choices[0]!.text);
  assert.equal(chat.json.usage.completion_tokens, completion.usage.completion_tokens);
  // a model with another template renders another prompt
  const other = join(dir, 'other-template.gguf');
  writeRandomLlamaGguf(other, {
    seed: 7,
    chatTemplate:
      "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}assistant:",
  });
  const s2 = await startModelServer({ modelPath: other });
  try {
    const r = await fetch(s2.url + '/tokenize', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    const tok = (await r.json()) as { tokens: number[] };
    assert.equal(s2.model.detokenize(tok.tokens, true), 'system: Be brief.\nuser: What is 2+2?\nassistant:');
  } finally {
    await s2.close();
  }
  assert.ok(CHATML_TEMPLATE.includes('<|im_start|>'));
});

test('sampling at temperature > 0 is reproducible for a seed and differs across seeds', async () => {
  const body = { prompt: 'Hello', max_tokens: 16, temperature: 1, ignore_eos: true };
  const a = (await post('/v1/completions', { ...body, seed: 1 })).json.choices[0]!.text;
  const b = (await post('/v1/completions', { ...body, seed: 1 })).json.choices[0]!.text;
  const c = (await post('/v1/completions', { ...body, seed: 2 })).json.choices[0]!.text;
  const g = (await post('/v1/completions', { ...body, temperature: 0 })).json.choices[0]!.text;
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(a, g);
});

test('bad requests get a 400 with an OpenAI-style error, an unknown model a 404', async () => {
  const cases: [unknown, number, RegExp][] = [
    ['{not json', 400, /not valid JSON/],
    [{ prompt: 5 }, 400, /prompt must be/],
    [{ prompt: [] }, 400, /prompt must be/],
    [{ prompt: 'x', max_tokens: -1 }, 400, /max_tokens/],
    [{ prompt: 'x', max_tokens: 5000 }, 400, /maximum context length is 4096/],
    [{ prompt: [999999], max_tokens: 1 }, 400, /out of vocabulary/],
    [{ prompt: 'x', temperature: 'hot' }, 400, /temperature/],
    [{ prompt: 'x', stop: [1] }, 400, /stop/],
    [{ prompt: 'x', stream: true }, 400, /stream/],
    [{ prompt: 'x', model: 'gpt-9' }, 404, /does not exist/],
  ];
  for (const [body, status, re] of cases) {
    const r = await post('/v1/completions', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(r.json.error!.message, re);
  }
  const chat = await post('/v1/chat/completions', { messages: [] });
  assert.equal(chat.status, 400);
  const nf = await fetch(server.url + '/v1/embeddings', { method: 'POST', body: '{}' });
  assert.equal(nf.status, 404);
  // the server still answers afterwards
  assert.equal((await post('/v1/completions', { prompt: 'x', max_tokens: 1 })).status, 200);
});

test('a file that is not a GGUF model is refused with a one-line error', async () => {
  const bad = join(dir, 'bad.gguf');
  writeFileSync(bad, 'not a model');
  await assert.rejects(startModelServer({ modelPath: bad }), /could not load/);
  await assert.rejects(startModelServer({ modelPath: join(dir, 'missing.gguf') }), /no model file/);
});

test('the lock installs no GPU build of llama.cpp: CUDA and Vulkan builds resolve to a package no x64/arm machine installs', () => {
  const lock = JSON.parse(readFileSync(join(repoRoot(), 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { name?: string; cpu?: string[]; optional?: boolean }>;
  };
  const gpu = Object.entries(lock.packages).filter(([k]) =>
    /@node-llama-cpp\/[^/]*(cuda|vulkan|metal)/.test(k),
  );
  assert.ok(gpu.length >= 3);
  for (const [k, v] of gpu) {
    if (/mac-|win-/.test(k)) continue;
    assert.equal(v.name, '@node-llama-cpp/linux-riscv64', k);
    assert.deepEqual(v.cpu, ['riscv64']);
  }
  assert.ok(lock.packages['node_modules/@node-llama-cpp/linux-x64'], 'the CPU build is there');
});
