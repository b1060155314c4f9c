/** Pairs as prompts, replies as log-likelihoods, tokenizers (pure functions and real tokenizer files). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  codePointLength,
  encodePair,
  pairResult,
  replyChoices,
  LogprobReplyError,
} from '../src/engine/benchmarks/loglikelihood/pairs.js';
import { loadPairTokenizer, tokenizerBackendOf } from '../src/engine/benchmarks/loglikelihood/tokenizer.js';
import { argmax, mc2Score } from '../src/engine/benchmarks/loglikelihood/define.js';
import { hellaswagPreprocess, pyCapitalize } from '../src/engine/benchmarks/loglikelihood/tasks.js';
import { isNelError } from '../src/common/errors.js';
import { byteBpeTokenizerJson } from './support/byte-bpe-tokenizer.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-llp-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A vLLM-style choice from (token, logprob, top) triples with offsets from the token texts. */
function choice(entries: [string, number | null, Record<string, number> | null][], index = 0) {
  const offsets: number[] = [];
  let at = 0;
  for (const [t] of entries) {
    offsets.push(at);
    at += codePointLength(t);
  }
  return {
    index,
    text: entries.map((e) => e[0]).join(''),
    logprobs: {
      tokens: entries.map((e) => e[0]),
      token_logprobs: entries.map((e) => e[1]),
      top_logprobs: entries.map((e) => e[2]),
      text_offset: offsets,
    },
  };
}

test('text prompts: the continuation is the tokens from the context end; sum and is_greedy', () => {
  const enc = encodePair({ context: 'The capital is', continuation: ' Paris' }, null);
  assert.deepEqual(enc, { kind: 'text', prompt: 'The capital is Paris', contextChars: 14 });
  const c = choice([
    ['The', null, null],
    [' capital', -2, { ' capital': -2 }],
    [' is', -0.5, { ' is': -0.5 }],
    [' Par', -0.25, { ' Par': -0.25, ' Lon': -3 }],
    ['is', -0.125, { is: -0.125 }],
  ]);
  const r = pairResult(c, enc, 0);
  assert.equal(r.loglikelihood, -0.375);
  assert.equal(r.tokens, 2);
  assert.equal(r.isGreedy, true);
  assert.equal(r.straddles, false);
  // a better alternative at one continuation position: not greedy
  const c2 = choice([
    ['The', null, null],
    [' capital', -2, { ' capital': -2 }],
    [' is', -0.5, { ' is': -0.5 }],
    [' Par', -0.25, { ' Par': -0.25 }],
    ['is', -1, { is: -1, ' Rome': -0.5 }],
  ]);
  assert.equal(pairResult(c2, enc, 0).isGreedy, false);
  // max_tokens 1: the trailing generated token is ignored
  const c3 = choice([
    ...c.logprobs.tokens.map(
      (t, i) =>
        [t, c.logprobs.token_logprobs[i], c.logprobs.top_logprobs[i]] as [
          string,
          number | null,
          Record<string, number> | null,
        ],
    ),
    [' !', -9, { ' !': -9 }],
  ]);
  assert.equal(pairResult(c3, enc, 1).loglikelihood, -0.375);
});

test('text offsets are code points: an emoji before the boundary does not shift it', () => {
  const enc = encodePair({ context: 'Smile 😀 is', continuation: ' joy' }, null);
  assert.equal(enc.kind === 'text' && enc.contextChars, 10);
  const r = pairResult(
    choice([
      ['Smile', null, null],
      [' 😀', -1, null],
      [' is', -1, null],
      [' joy', -0.5, null],
    ]),
    enc,
    0,
  );
  assert.equal(r.loglikelihood, -0.5);
});

test('a token spanning the boundary is reported (and counted with the context, as upstream)', () => {
  const enc = encodePair({ context: 'Answer: th', continuation: 'e end' }, null);
  const r = pairResult(
    choice([
      ['Answer', null, null],
      [':', -1, null],
      [' the', -1, null],
      [' end', -0.5, null],
    ]),
    enc,
    0,
  );
  assert.equal(r.straddles, true);
  assert.equal(r.loglikelihood, -0.5);
});

test('replies that are not prompt log-probabilities fail with a clear reason', () => {
  const enc = encodePair({ context: 'a b', continuation: ' c' }, null);
  assert.throws(() => pairResult({ index: 0, text: 'x', logprobs: null }, enc, 0), LogprobReplyError);
  assert.throws(() => replyChoices({ choices: [{ index: 1 }] }, 2), /no choice with index 0/);
  assert.throws(
    () =>
      pairResult(
        choice([
          ['a', null, null],
          [' b', -1, null],
        ]),
        enc,
        0,
      ),
    /continuation has no token/,
  );
  // choices come back in any order: sorted by index
  const ordered = replyChoices(
    {
      choices: [
        { index: 1, n: 'b' },
        { index: 0, n: 'a' },
      ],
    },
    2,
  ) as { n: string }[];
  assert.deepEqual(
    ordered.map((c) => c.n),
    ['a', 'b'],
  );
});

test('tiktoken cl100k_base: the whole text split at the context tokens, trailing space moved', async () => {
  const tok = (await loadPairTokenizer({
    extra: { tokenizer: 'cl100k_base', tokenizer_backend: 'tiktoken' },
    env: {},
  }))!;
  const ctx = 'Question: What is the capital of France?\nAnswer:';
  const enc = encodePair({ context: ctx, continuation: ' Paris' }, tok);
  assert.equal(enc.kind, 'tokens');
  if (enc.kind !== 'tokens') return;
  assert.deepEqual(enc.prompt, tok.encode(`${ctx} Paris`));
  assert.deepEqual(enc.prompt.slice(0, enc.contextTokens), tok.encode(ctx));
  // the context's trailing whitespace goes with the continuation, as the harness's _encode_pair
  const spaced = encodePair({ context: 'Answer: ', continuation: 'Paris' }, tok);
  assert.ok(spaced.kind === 'tokens');
  if (spaced.kind !== 'tokens') return;
  assert.deepEqual(spaced.prompt.slice(0, spaced.contextTokens), tok.encode('Answer:'));
  assert.deepEqual(spaced.prompt, tok.encode('Answer: Paris'));
  // the reply's entries from contextTokens on are the continuation
  const ids = enc.prompt;
  const reply = {
    index: 0,
    logprobs: {
      tokens: ids.map(String),
      token_logprobs: ids.map((_id, i) => (i === 0 ? null : -(i + 1))),
      top_logprobs: ids.map(() => null),
      text_offset: ids.map(() => 0),
    },
  };
  const r = pairResult(reply, enc, 0);
  let want = 0;
  for (let i = enc.contextTokens; i < ids.length; i++) want -= i + 1;
  assert.equal(r.loglikelihood, want);
  // max_length keeps the continuation and cuts the context from the left
  const cut = encodePair({ context: ctx, continuation: ' Paris' }, tok, 4);
  assert.ok(cut.kind === 'tokens' && cut.prompt.length === 4);
});

test('huggingface tokenizer.json: a file, a folder, and a hub repository downloaded once into the cache', async () => {
  const json = JSON.stringify(byteBpeTokenizerJson());
  const folder = join(dir, 'tok');
  mkdirSync(folder);
  writeFileSync(join(folder, 'tokenizer.json'), json);
  const byFile = (await loadPairTokenizer({
    extra: { tokenizer: join(folder, 'tokenizer.json'), tokenizer_backend: 'huggingface' },
    env: {},
  }))!;
  const byFolder = (await loadPairTokenizer({ extra: { tokenizer: folder }, env: {} }))!;
  // bytes are tokens; "Ġt" + "he" merge into "Ġthe"
  const ids = byFile.encode('An the');
  assert.equal(ids.length, 2);
  assert.deepEqual(byFolder.encode('An the'), ids);
  assert.deepEqual(byFile.encode('A'), [65]);

  let hits = 0;
  const hub = createServer((req, res) => {
    hits++;
    if (req.url === '/org/tiny/resolve/main/tokenizer.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json);
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((ok) => hub.listen(0, '127.0.0.1', () => ok()));
  const env = {
    HF_ENDPOINT: `http://127.0.0.1:${(hub.address() as { port: number }).port}`,
    NEMO_EVALUATOR_CACHE_DIR: join(dir, 'cache'),
  };
  try {
    const a = (await loadPairTokenizer({
      extra: { tokenizer: 'org/tiny', tokenizer_backend: 'huggingface' },
      env,
      cwd: dir,
    }))!;
    assert.deepEqual(a.encode('An the'), ids);
    const before = hits;
    const b = (await loadPairTokenizer({
      extra: { tokenizer: 'org/tiny', tokenizer_backend: 'huggingface' },
      env,
      cwd: dir,
    }))!;
    assert.deepEqual(b.encode('An the'), ids);
    assert.equal(hits, before, 'the second load reads the cache');
    assert.ok(
      readFileSync(join(dir, 'cache', 'tokenizers', 'org', 'tiny', 'main', 'tokenizer.json'), 'utf8').length >
        0,
    );
    await assert.rejects(
      loadPairTokenizer({
        extra: { tokenizer: 'org/missing', tokenizer_backend: 'huggingface' },
        env,
        cwd: dir,
      }),
      (e: unknown) => isNelError(e) && /HTTP 404/.test(e.message),
    );
  } finally {
    await new Promise<void>((ok) => hub.close(() => ok()));
  }
});

test('tokenizer options: backends, and one-line errors for bad values', async () => {
  assert.equal(tokenizerBackendOf({}), null);
  assert.equal(tokenizerBackendOf({ tokenizer_backend: 'None', tokenizer: null }), null);
  assert.equal(tokenizerBackendOf({ tokenizer: 'x/y' }), 'huggingface');
  assert.equal(tokenizerBackendOf({ tokenizer_backend: 'tiktoken' }), 'tiktoken');
  assert.throws(
    () => tokenizerBackendOf({ tokenizer_backend: 'sentencepiece' }),
    /unknown config.params.extra.tokenizer_backend/,
  );
  await assert.rejects(
    loadPairTokenizer({
      extra: { tokenizer: join(dir, 'nope.json'), tokenizer_backend: 'huggingface' },
      env: {},
    }),
    /tokenizer not found/,
  );
  await assert.rejects(
    loadPairTokenizer({ extra: { tokenizer: 'no-such-encoding', tokenizer_backend: 'tiktoken' }, env: {} }),
    /tiktoken has no encoding/,
  );
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"model": {"type": "Nope"}}');
  await assert.rejects(
    loadPairTokenizer({ extra: { tokenizer: bad, tokenizer_backend: 'huggingface' }, env: {} }),
    /not a usable tokenizer.json/,
  );
});

test('scoring helpers: argmax takes the first of ties; mc2 is the true-answer probability mass', () => {
  assert.equal(argmax([-1, -0.5, -0.5]), 1);
  const lls = [-1, -2, -3];
  const p = lls.map(Math.exp);
  assert.ok(Math.abs(mc2Score(lls, [1, 0, 1]) - (p[0]! + p[2]!) / (p[0]! + p[1]! + p[2]!)) < 1e-15);
  // very negative log-likelihoods do not underflow to 0/0
  assert.ok(Math.abs(mc2Score([-2000, -2001], [1, 0]) - 1 / (1 + Math.exp(-1))) < 1e-12);
});

test('hellaswag preprocessing and Python capitalize', () => {
  assert.equal(pyCapitalize('tHEN rinse'), 'Then rinse');
  assert.equal(pyCapitalize(''), '');
  assert.equal(hellaswagPreprocess('  A [title] B [step] C  D '), 'A. B C D');
});
