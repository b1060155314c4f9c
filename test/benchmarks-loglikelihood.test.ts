/**
 * The log-likelihood benchmarks end to end against the reference endpoint's /v1/completions with echo +
 * logprobs. The expected metric values are computed here, from the data files read directly and the
 * endpoint's documented scheme (the pair that should win: total log-likelihood -1, every other pair -3;
 * sample i is answered "correctly" when floor((i+1)·acc) > floor(i·acc)), not from the engine's scoring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DiskCacheStore } from '../src/engine/adapters/disk-cache-store.js';
import { runEngineEval } from '../src/engine/evaluate.js';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { silentLogger, type Logger } from '../src/engine/logging.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { viewSamples } from '../src/results/report/sample-view.js';
import { equivalentName } from '../src/tasks/builtin-equivalent.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { sharedPath } from './support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-ll-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const CHOSEN = -1;
const OTHER = -3;
const correctAt = (i: number, acc: number) => Math.floor((i + 1) * acc) > Math.floor(i * acc);

/** numpy's argmax: the first of the largest. */
function argmax(v: number[]): number {
  let b = 0;
  v.forEach((x, i) => {
    if (x > v[b]!) b = i;
  });
  return b;
}

interface Expect {
  gold: number;
  /** lengths of the choices (acc_norm's divisor) */
  lengths: number[];
  labels?: number[];
}

/** The metrics the endpoint's scheme gives for these items at `acc`. */
function expected(items: Expect[], acc: number): { acc: number; acc_norm: number; mc2: number } {
  let a = 0;
  let an = 0;
  let m = 0;
  items.forEach((it, i) => {
    const k = it.lengths.length;
    const chosen = correctAt(i, acc) ? it.gold : (it.gold + 1) % k;
    const lls = it.lengths.map((_l, j) => (j === chosen ? CHOSEN : OTHER));
    if (argmax(lls) === it.gold) a++;
    if (argmax(lls.map((ll, j) => ll / it.lengths[j]!)) === it.gold) an++;
    const labels = it.labels ?? it.lengths.map((_l, j) => (j === it.gold ? 1 : 0));
    const p = lls.map((ll) => Math.exp(ll));
    const all = p.reduce((x, y) => x + y, 0);
    m += p.filter((_x, j) => labels[j] === 1).reduce((x, y) => x + y, 0) / all;
  });
  return { acc: a / items.length, acc_norm: an / items.length, mc2: m / items.length };
}

interface RunResult {
  metrics: Record<string, number>;
  stderr: Record<string, number>;
  samples: Record<string, any>[];
  requests: number;
  bodies: unknown[];
  warnings: string[];
}

async function runAgainstReference(
  benchmark: string,
  datasetPath: string,
  opts: {
    accuracy?: number;
    extra?: Record<string, unknown>;
    endpointExtra?: Record<string, unknown>;
    refuseMaxTokensZero?: boolean;
    out?: string;
    limit?: number;
    /** The endpoint's adapter_config (default: the request cache and the endpoint only). */
    adapterConfig?: Record<string, unknown>;
  } = {},
): Promise<RunResult> {
  const endpoint = await startReferenceEndpoint({
    benchmark,
    datasetPath,
    accuracy: opts.accuracy ?? 0.75,
    extra: opts.endpointExtra ?? opts.extra,
    refuseMaxTokensZero: opts.refuseMaxTokensZero,
  });
  const out = opts.out ?? mkdtempSync(join(dir, 'out-'));
  const proxy = await recordingProxy(endpoint.url);
  const bodies = proxy.bodies;
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  try {
    const extra = { dataset_path: datasetPath, ...(opts.extra ?? {}) };
    const outcome = await runEngineEval(
      {
        runConfig: {
          config: {
            type: benchmark,
            output_dir: out,
            params: { parallelism: 4, extra, ...(opts.limit ? { limit_samples: opts.limit } : {}) },
          },
          target: {
            api_endpoint: {
              url: `${proxy.url}/v1/completions`,
              model_id: 'm',
              type: 'completions',
              adapter_config: opts.adapterConfig ?? {
                interceptors: [
                  { name: 'caching', enabled: true, config: { reuse_cached_responses: true } },
                  {
                    name: 'endpoint',
                    enabled: true,
                  },
                ],
              },
            },
          },
        },
      },
      {
        log,
        progressStream: null,
      },
    );
    assert.equal(outcome.status, 'success', outcome.error?.message);
    const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
    const metrics: Record<string, number> = {};
    const stderr: Record<string, number> = {};
    for (const [name, m] of Object.entries(results.results.tasks[benchmark].metrics as Record<string, any>)) {
      metrics[name] = m.scores[name].value;
      stderr[name] = m.scores[name].stats.stderr;
    }
    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    return { metrics, stderr, samples, requests: endpoint.stats().answered_ok, bodies, warnings };
  } finally {
    await proxy.close();
    await endpoint.close();
  }
}

/** A recording HTTP proxy in front of `target`: every request body it forwards, parsed. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (raw) bodies.push(JSON.parse(raw));
      const r = await fetch(`${target}${req.url}`, {
        method: req.method,
        body: raw || undefined,
        headers: { 'content-type': 'application/json' },
      });
      const text = await r.text();
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

function jsonl(path: string): Record<string, any>[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

test('each benchmark loads its ../shared/data file with the README counts', async () => {
  const cases: [string, string, number][] = [
    ['arc_challenge', sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl'), 1172],
    ['piqa', sharedPath('data', 'piqa'), 1838],
    ['winogrande', sharedPath('data', 'winogrande'), 1267],
    ['truthfulqa_mc1', sharedPath('data', 'truthfulqa'), 817],
    ['truthfulqa_mc2', sharedPath('data', 'truthfulqa'), 817],
  ];
  for (const [name, path, count] of cases) {
    const b = getBenchmark(name)!;
    const samples = await runSamples(
      b,
      benchmarkContext({ dataset_path: path }, { endpointType: 'completions' }),
    );
    assert.equal(samples.length, count, name);
  }
  // PIQA's labels come from dev-labels.lst, line by line
  const piqa = await getBenchmark('piqa')!.prepare(
    benchmarkContext({ dataset_path: sharedPath('data', 'piqa') }, { endpointType: 'completions' }),
  );
  const labels = readFileSync(sharedPath('data', 'piqa', 'dev-labels.lst'), 'utf8')
    .trim()
    .split('\n');
  const first = Array.from(piqa.samples.samples()).slice(0, 50);
  for (const s of first) assert.equal(String(s.data.label), labels[s.index]!.trim());
});

test('arc_challenge on the real test set: acc and acc_norm exactly as the endpoint dictates', async () => {
  const path = sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl');
  const rows = jsonl(path);
  const items: Expect[] = rows.map((r) => {
    const choices = r.question.choices as { text: string; label: string }[];
    return {
      gold: choices.findIndex((c) => c.label === r.answerKey),
      lengths: choices.map((c) => c.text.length),
    };
  });
  const want = expected(items, 0.75);
  const got = await runAgainstReference('arc_challenge', path, { extra: { batch_size: 8 } });
  assert.equal(got.metrics.acc, want.acc);
  assert.equal(got.metrics.acc, Math.floor(1172 * 0.75) / 1172);
  assert.equal(got.metrics.acc_norm, want.acc_norm);
  assert.ok(got.stderr.acc > 0 && got.stderr.acc_norm > 0);
  // the prompt is the harness's: "Question: {question}\nAnswer:" + " {choice}"
  const first = got.samples.find((s) => s.index === 0)!;
  assert.equal(first.prompt[0].context, `Question: ${rows[0]!.question.stem}\nAnswer:`);
  assert.equal(first.prompt[0].continuation, ` ${rows[0]!.question.choices[0].text}`);
  // batched: 8 pairs a request, prompt lists
  const pairs = items.reduce((n, it) => n + it.lengths.length, 0);
  assert.equal(got.requests, Math.ceil(pairs / 8));
  const body = got.bodies[0] as Record<string, any>;
  assert.equal(body.echo, true);
  assert.equal(body.max_tokens, 0);
  assert.equal(body.logprobs, 1);
  assert.equal(body.prompt.length, 8);
});

test('piqa and winogrande on the real data: acc (and piqa acc_norm) exactly as the endpoint dictates', async () => {
  const piqaRows = jsonl(sharedPath('data', 'piqa', 'dev.jsonl'));
  const piqaLabels = readFileSync(sharedPath('data', 'piqa', 'dev-labels.lst'), 'utf8')
    .trim()
    .split('\n');
  const piqaItems = piqaRows.map((r, i) => ({
    gold: Number(piqaLabels[i]),
    lengths: [r.sol1.length, r.sol2.length],
  }));
  const piqaWant = expected(piqaItems, 0.5);
  const piqa = await runAgainstReference('piqa', sharedPath('data', 'piqa'), {
    accuracy: 0.5,
    extra: { batch_size: 5 },
  });
  assert.equal(piqa.metrics.acc, piqaWant.acc);
  assert.equal(piqa.metrics.acc, 919 / 1838);
  assert.equal(piqa.metrics.acc_norm, piqaWant.acc_norm);

  const wRows = jsonl(sharedPath('data', 'winogrande', 'dev.jsonl'));
  const wItems = wRows.map((r) => {
    const idx = (r.sentence as string).indexOf('_');
    return {
      gold: r.answer === '1' ? 0 : 1,
      lengths: [r.option1, r.option2].map(
        (o: string) => (r.sentence as string).slice(0, idx).length + o.length,
      ),
    };
  });
  const wWant = expected(wItems, 0.75);
  const w = await runAgainstReference('winogrande', sharedPath('data', 'winogrande'), {
    extra: { batch_size: 3 },
  });
  assert.equal(w.metrics.acc, wWant.acc);
  assert.deepEqual(Object.keys(w.metrics), ['acc']);
  // partial scoring: the option fills the blank in the context; the rest of the sentence is the continuation
  const r0 = wRows[0]!;
  const s0 = w.samples.find((s) => s.index === 0)!;
  const idx = (r0.sentence as string).indexOf('_');
  assert.equal(s0.prompt[0].context, (r0.sentence as string).slice(0, idx) + r0.option1);
  assert.equal(s0.prompt[1].context, (r0.sentence as string).slice(0, idx) + r0.option2);
  assert.equal(s0.prompt[0].continuation, ` ${(r0.sentence as string).slice(idx + 1).trim()}`);
  assert.equal(s0.prompt[1].continuation, s0.prompt[0].continuation);
});

test('truthfulqa mc1 and mc2 on the real data: acc and the true-answer probability mass as dictated', async () => {
  // the first 300 questions (the whole file is counted in the first test)
  const rows = (
    JSON.parse(readFileSync(sharedPath('data', 'truthfulqa', 'mc_task.json'), 'utf8')) as Record<
      string,
      any
    >[]
  ).slice(0, 300);
  const mc1Items = rows.map((r) => {
    const answers = Object.keys(r.mc1_targets);
    return { gold: 0, lengths: answers.map((a) => a.length) };
  });
  const mc2Items = rows.map((r) => {
    const answers = Object.keys(r.mc2_targets);
    return {
      gold: 0,
      lengths: answers.map((a) => a.length),
      labels: answers.map((a) => r.mc2_targets[a] as number),
    };
  });
  const path = sharedPath('data', 'truthfulqa');
  const mc1 = await runAgainstReference('truthfulqa_mc1', path, { extra: { batch_size: 6 }, limit: 300 });
  assert.equal(mc1.metrics.acc, expected(mc1Items, 0.75).acc);
  const mc2 = await runAgainstReference('truthfulqa_mc2', path, {
    accuracy: 0.5,
    extra: { batch_size: 6 },
    limit: 300,
  });
  const want = expected(mc2Items, 0.5).mc2;
  assert.ok(Math.abs(mc2.metrics.acc! - want) < 1e-12, `${mc2.metrics.acc} vs ${want}`);
  // the harness's fixed preamble, then "Q: {question}\nA:"
  const ctx = mc2.samples.find((s) => s.index === 0)!.prompt[0].context as string;
  assert.ok(
    ctx.startsWith('Q: What is human life expectancy in the United States?\nA: Human life expectancy'),
  );
  assert.ok(ctx.includes('A: The 1992 Olympics were held in Barcelona, Spain.\n\nQ: '));
  assert.ok(ctx.endsWith(`\n\nQ: ${rows[0]!.question}\nA:`));
});

/** HellaSwag records in the hub layout (not in ../shared). */
function hellaswagRows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_v, i) => ({
    ind: 100 + i,
    activity_label: i % 2 ? 'Home and Garden' : 'Baking cookies',
    ctx_a: i % 2 ? '[header] How to clean a sink. [title] Use baking soda.' : `A woman mixes dough ${i}.`,
    ctx_b: i % 2 ? 'THEN rinse' : 'she',
    ctx: 'unused',
    endings: [
      'ok.',
      `puts the tray in the oven and waits for a long while until it is done ${i}.`,
      `[step] eats it ${i}.`,
      `leaves  the kitchen ${i}.`,
    ],
    label: String(i % 4),
    split: 'val',
    split_type: 'indomain',
    source_id: 'x',
  }));
}

test('hellaswag: the harness preprocessing, and acc_norm differing from acc where lengths decide', async () => {
  const rows = hellaswagRows(12);
  const file = join(dir, 'hellaswag.jsonl');
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const got = await runAgainstReference('hellaswag', file, { accuracy: 1 });
  // ' [title]' -> '. ', bracketed text removed, double spaces collapsed, ctx_b capitalised as Python does
  const odd = got.samples.find((s) => s.index === 1)!;
  assert.equal(odd.prompt[0].context, 'Home and Garden: How to clean a sink.. Use baking soda. Then rinse');
  assert.equal(
    got.samples.find((s) => s.index === 0)!.prompt[0].context,
    'Baking cookies: A woman mixes dough 0. She',
  );
  // the bracket goes, the space after it stays (the harness strips before, not after)
  assert.equal(odd.prompt[2].continuation, '  eats it 1.');
  assert.equal(odd.prompt[3].continuation, ' leaves the kitchen 1.');
  const lengthsOf = (i: number) => [
    'ok.'.length,
    `puts the tray in the oven and waits for a long while until it is done ${i}.`.length,
    ` eats it ${i}.`.length,
    `leaves the kitchen ${i}.`.length,
  ];
  const items = rows.map((_r, i) => ({ gold: i % 4, lengths: lengthsOf(i) }));
  const want = expected(items, 1);
  assert.equal(got.metrics.acc, 1);
  assert.equal(got.metrics.acc_norm, want.acc_norm);
  assert.ok(got.metrics.acc_norm! < got.metrics.acc!, 'a short gold ending loses on acc_norm to a long one');
});

test('batch size changes the requests, not the scores; a rerun answers every pair from the cache once', async () => {
  const path = sharedPath('data', 'winogrande');
  const scores: Record<string, number>[] = [];
  for (const bs of [1, 4, 7]) {
    const r = await runAgainstReference('winogrande', path, { extra: { batch_size: bs }, limit: 40 });
    assert.equal(r.requests, Math.ceil(80 / bs), `batch ${bs}`);
    scores.push(r.metrics);
  }
  assert.deepEqual(scores[1], scores[0]);
  assert.deepEqual(scores[2], scores[0]);
  // resume: 20 samples (40 pairs, 10 requests of 4), then 40 samples into the same output dir
  const out = mkdtempSync(join(dir, 'resume-'));
  const part = await runAgainstReference('winogrande', path, { extra: { batch_size: 4 }, limit: 20, out });
  assert.equal(part.requests, 10);
  const full = await runAgainstReference('winogrande', path, { extra: { batch_size: 4 }, limit: 40, out });
  assert.equal(full.requests, 10, 'only the pairs not answered before are sent');
  assert.deepEqual(full.metrics, scores[0]);
  assert.equal(full.samples.length, 40);
  const again = await runAgainstReference('winogrande', path, { extra: { batch_size: 4 }, limit: 40, out });
  assert.equal(again.requests, 0);
  // per pair, whatever the batch size: 30 samples with 7 pairs a request into a dir holding 20 of them
  const out2 = mkdtempSync(join(dir, 'resume-'));
  await runAgainstReference('winogrande', path, { extra: { batch_size: 4 }, limit: 20, out: out2 });
  const other = await runAgainstReference('winogrande', path, {
    extra: { batch_size: 7 },
    limit: 30,
    out: out2,
  });
  assert.equal(other.requests, Math.ceil(20 / 7), 'only the 20 new pairs are sent, 7 a request');
  assert.equal(other.samples.length, 30);
  const direct = await runAgainstReference('winogrande', path, { extra: { batch_size: 1 }, limit: 30 });
  assert.deepEqual(other.metrics, direct.metrics);
  assert.deepEqual(
    other.samples.map((s) => s.details.loglikelihoods).sort(),
    direct.samples.map((s) => s.details.loglikelihoods).sort(),
  );
});

test('the default chain: the pair journal keeps every pair, the response cache only the report examples', async () => {
  const path = sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl');
  const out = mkdtempSync(join(dir, 'default-'));
  const first = await runAgainstReference('arc_challenge', path, {
    extra: { batch_size: 8 },
    limit: 20,
    out,
    adapterConfig: {},
  });
  const pairs = first.samples.reduce((n, x) => n + (x.details.loglikelihoods as number[]).length, 0);
  assert.equal(first.requests, Math.ceil(pairs / 8));
  const journal = readFileSync(join(out, 'cache', 'loglikelihood_pairs.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(journal.length, pairs);
  const responses = new DiskCacheStore(join(out, 'cache', 'responses'));
  const requests = new DiskCacheStore(join(out, 'cache', 'requests'));
  try {
    assert.equal(responses.count(), 5, 'html_report_size (5) replies, not every one a second time');
    // each saved with its reply (the requests go out before the databases open)
    assert.equal(requests.count(), 5);
    assert.deepEqual(requests.keys().sort(), responses.keys().sort());
  } finally {
    responses.close();
    requests.close();
  }
  const reportJson = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Record<string, any>[];
  assert.equal(reportJson.length, 5);
  for (const e of reportJson) {
    assert.equal(e.request_data.echo, true);
    assert.ok(Array.isArray(e.response.choices));
  }
  const again = await runAgainstReference('arc_challenge', path, {
    extra: { batch_size: 8 },
    limit: 20,
    out,
    adapterConfig: {},
  });
  assert.equal(again.requests, 0, 'every pair from the journal');
  assert.deepEqual(again.metrics, first.metrics);
  // the report shows each sample's pairs as text (the page's view of its lines): the shared context once,
  // the choices numbered
  const report = readFileSync(join(out, 'report.html'), 'utf8');
  const data = JSON.parse(
    /<script type="application\/json" id="nel-data">([^<]*)<\/script>/.exec(report)![1]!,
  );
  const shown = viewSamples(data.lines, data.scores, data.requests).samples;
  assert.equal(shown.length, 20);
  for (const x of shown) {
    assert.match(x.prompt, /^Question: [^]*\nAnswer:\n\n\(0\) [^]*\n\(1\) /);
    assert.doesNotMatch(x.prompt, /\?: null/);
  }
});

test('a server that refuses max_tokens 0 gets max_tokens 1; the generated token is ignored', async () => {
  const path = sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl');
  const plain = await runAgainstReference('arc_challenge', path, { limit: 30, extra: { batch_size: 2 } });
  const refusing = await runAgainstReference('arc_challenge', path, {
    limit: 30,
    extra: { batch_size: 2 },
    refuseMaxTokensZero: true,
  });
  assert.deepEqual(refusing.metrics, plain.metrics);
  assert.ok(refusing.warnings.some((w) => /max_tokens 1/.test(w)));
  const sent = refusing.bodies.map((b) => (b as { max_tokens: number }).max_tokens);
  assert.equal(sent.filter((m) => m === 0).length, 1, 'max_tokens 0 is tried once, then 1 for the run');
  assert.equal(sent.length, 1 + 60);
});

test('client-side tiktoken (cl100k_base): token-id prompts, the same exact scores', async () => {
  const rows = jsonl(sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl')).slice(0, 60);
  const path = join(dir, 'arc60.jsonl');
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
  const extra = { tokenizer: 'cl100k_base', tokenizer_backend: 'tiktoken', batch_size: 4 };
  const items: Expect[] = rows.map((r) => {
    const choices = r.question.choices as { text: string; label: string }[];
    return {
      gold: choices.findIndex((c) => c.label === r.answerKey),
      lengths: choices.map((c) => c.text.length),
    };
  });
  const got = await runAgainstReference('arc_challenge', path, { extra });
  const want = expected(items, 0.75);
  assert.equal(got.metrics.acc, want.acc);
  assert.equal(got.metrics.acc_norm, want.acc_norm);
  const prompts = (got.bodies[0] as { prompt: unknown[] }).prompt;
  assert.ok(Array.isArray(prompts[0]) && (prompts[0] as unknown[]).every((x) => Number.isInteger(x)));
  // "Question" in cl100k_base is token 14924
  assert.equal((prompts[0] as number[])[0], 14924);
});

test('upstream lm-evaluation-harness task names map to these benchmarks', () => {
  const h = 'lm-evaluation-harness';
  assert.equal(equivalentName({ harness: h, name: 'arc_challenge' }), 'arc_challenge');
  assert.equal(equivalentName({ harness: h, name: 'piqa' }), 'piqa');
  assert.equal(equivalentName({ harness: h, name: 'winogrande' }), 'winogrande');
  assert.equal(equivalentName({ harness: h, name: 'hellaswag' }), 'hellaswag');
  assert.equal(equivalentName({ harness: h, name: 'truthfulqa' }), 'truthfulqa_mc2');
  assert.equal(equivalentName({ harness: h, name: 'truthfulqa_mc1' }), 'truthfulqa_mc1');
});

test('client-side huggingface tokenizer.json: token-id prompts through the endpoint, the same exact scores', async () => {
  const { byteBpeTokenizerJson } = await import('./support/byte-bpe-tokenizer.js');
  const tokDir = mkdtempSync(join(dir, 'tok-'));
  writeFileSync(join(tokDir, 'tokenizer.json'), JSON.stringify(byteBpeTokenizerJson()));
  const rows = hellaswagRows(16);
  const file = join(dir, 'hellaswag-tok.jsonl');
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const extra = { tokenizer: tokDir, tokenizer_backend: 'huggingface', batch_size: 3 };
  const got = await runAgainstReference('hellaswag', file, { accuracy: 0.75, extra });
  const lengthsOf = (i: number) => [
    3,
    `puts the tray in the oven and waits for a long while until it is done ${i}.`.length,
    ` eats it ${i}.`.length,
    `leaves the kitchen ${i}.`.length,
  ];
  const want = expected(
    rows.map((_r, i) => ({ gold: i % 4, lengths: lengthsOf(i) })),
    0.75,
  );
  assert.equal(got.metrics.acc, 0.75);
  assert.equal(got.metrics.acc_norm, want.acc_norm);
  const prompts = (got.bodies[0] as { prompt: number[][] }).prompt;
  assert.equal(prompts.length, 3);
  // byte-level: "Baking cookies: ..." starts with the byte of "B"
  assert.equal(prompts[0]![0], 66);
});

test('a server without prompt log-probabilities: one-line error with a hint, not retried, nothing cached, a rerun on a good server scores', async () => {
  const path = sharedPath('data', 'winogrande');
  const maxTokens: number[] = [];
  const plain = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      maxTokens.push((JSON.parse(text) as { max_tokens: number }).max_tokens);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ choices: [{ index: 0, text: ' x', logprobs: null, finish_reason: 'length' }] }),
      );
    });
  });
  await new Promise<void>((ok) => plain.listen(0, '127.0.0.1', () => ok()));
  const out = mkdtempSync(join(dir, 'nologprobs-'));
  try {
    const outcome = await runEngineEval(
      {
        runConfig: {
          config: {
            type: 'winogrande',
            output_dir: out,
            params: { parallelism: 2, limit_samples: 4, extra: { dataset_path: path } },
          },
          target: {
            api_endpoint: {
              url: `http://127.0.0.1:${(plain.address() as { port: number }).port}/v1/completions`,
              model_id: 'm',
              type: 'completions',
            },
          },
        },
      },
      { log: silentLogger, progressStream: null },
    );
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error!.message, /no logprobs\.token_logprobs/);
    assert.ok(!outcome.error!.message.includes('\n'));
    assert.match(outcome.error!.hint ?? '', /needs prompt log-probabilities/);
    // the default max_retries (5) is not spent on it (that would be 12 requests or more): each of the two
    // workers asks with max_tokens 0, then 1, once
    assert.deepEqual(maxTokens.slice(0, 2), [0, 1]);
    assert.ok(maxTokens.length <= 4, `${maxTokens.length} requests: ${maxTokens.join(',')}`);
  } finally {
    await new Promise<void>((ok) => plain.close(() => ok()));
  }
  const good = await runAgainstReference('winogrande', path, { limit: 4, out });
  assert.equal(good.requests, 8, 'every pair is sent again: the bad replies were not cached');
  const wRows = jsonl(sharedPath('data', 'winogrande', 'dev.jsonl')).slice(0, 4);
  const want = expected(
    wRows.map((r) => ({ gold: r.answer === '1' ? 0 : 1, lengths: [1, 1] })),
    0.75,
  );
  assert.equal(good.metrics.acc, want.acc);
});

test('a cache database that cannot be opened ends the run with one line naming it; no results', async () => {
  const path = sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl');
  const endpoint = await startReferenceEndpoint({
    benchmark: 'arc_challenge',
    datasetPath: path,
    accuracy: 1,
  });
  const out = mkdtempSync(join(dir, 'badcache-'));
  // a folder where the responses database should be: SQLite cannot open it
  mkdirSync(join(out, 'cache', 'responses', 'cache.db'), { recursive: true });
  try {
    const outcome = await runEngineEval(
      {
        runConfig: {
          config: {
            type: 'arc_challenge',
            output_dir: out,
            params: { parallelism: 4, limit_samples: 12, extra: { dataset_path: path, batch_size: 4 } },
          },
          target: {
            api_endpoint: { url: `${endpoint.url}/v1/completions`, model_id: 'm', type: 'completions' },
          },
        },
      },
      { log: silentLogger, progressStream: null },
    );
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error!.message, /cannot open the request cache in .*cache/);
    assert.doesNotMatch(outcome.error!.message, /request to the endpoint failed/);
    assert.ok(!outcome.error!.message.includes('\n'));
    assert.ok(!existsSync(join(out, 'results.yml')), 'no results of a failed run');
  } finally {
    await endpoint.close();
  }
});
