/**
 * The engine's log-likelihood path end to end against a real inference engine: the built-in
 * arc_challenge benchmark on the real ARC-Challenge test questions, sent to `nel serve-model`'s
 * /v1/completions (llama.cpp on the CPU, a random-weight GGUF written here), must give per-choice
 * log-likelihoods equal to the ones llama.cpp computes for the same tokens directly, and acc/acc_norm
 * that follow from those. The expected pairs are built here from the data file and lm-evaluation-harness's
 * ARC format (`Question: {stem}\nAnswer:` + ` {choice}`), not from the engine's own pair builder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runEngineEval } from '../src/engine/evaluate.js';
import { silentLogger } from '../src/engine/logging.js';
import { directLoglikelihood } from '../src/model-server/engine.js';
import { writeRandomLlamaGguf } from '../src/model-server/gguf-writer.js';
import { startModelServer } from '../src/model-server/server.js';
import { sharedPath } from './support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-llll-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const N = 6;

interface ArcRecord {
  id: string;
  question: { stem: string; choices: { text: string; label: string }[] };
  answerKey: string;
}

function argmax(v: number[]): number {
  let b = 0;
  v.forEach((x, i) => {
    if (x > v[b]!) b = i;
  });
  return b;
}

for (const batchSize of [1, 4]) {
  test(`arc_challenge on llama.cpp (batch_size ${batchSize}): per-choice log-likelihoods equal llama.cpp's own`, async (t) => {
    const modelPath = join(dir, `random-${batchSize}.gguf`);
    writeRandomLlamaGguf(modelPath, { seed: 7 });
    const server = await startModelServer({ modelPath, servedModelName: 'random-llama' });
    const out = mkdtempSync(join(dir, 'out-'));
    const dataPath = sharedPath('data', 'arc_challenge', 'ARC-Challenge-Test.jsonl');
    try {
      const outcome = await runEngineEval(
        {
          runConfig: {
            config: {
              type: 'arc_challenge',
              output_dir: out,
              params: {
                parallelism: 2,
                limit_samples: N,
                extra: { dataset_path: dataPath, batch_size: batchSize },
              },
            },
            target: {
              api_endpoint: {
                url: `${server.url}/v1/completions`,
                model_id: 'random-llama',
                type: 'completions',
              },
            },
          },
        },
        { log: silentLogger, progressStream: null },
      );
      assert.equal(outcome.status, 'success', outcome.error?.message);

      const records = readFileSync(dataPath, 'utf8')
        .trim()
        .split('\n')
        .slice(0, N)
        .map((l) => JSON.parse(l) as ArcRecord);
      const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { sample_id: string; details?: { loglikelihoods?: number[] } });
      assert.equal(samples.length, N);

      let acc = 0;
      let accNorm = 0;
      let pairs = 0;
      let maxDiff = 0;
      for (const rec of records) {
        const sample = samples.find((s) => s.sample_id === rec.id);
        assert.ok(sample, `sample ${rec.id} in samples.jsonl`);
        const got = sample.details?.loglikelihoods;
        assert.ok(Array.isArray(got), `per-choice log-likelihoods of ${rec.id}`);
        assert.equal(got.length, rec.question.choices.length);
        const context = `Question: ${rec.question.stem}\nAnswer:`;
        const direct: number[] = [];
        const lengths: number[] = [];
        for (const choice of rec.question.choices) {
          const continuation = ` ${choice.text}`;
          const ctxIds = server.model.tokenize(context, true);
          const allIds = server.model.tokenize(context + continuation, true);
          // the continuation's tokens: the tail after the context's tokens (the boundary falls between
          // tokens here: "Answer:" then " <choice>")
          assert.deepEqual(allIds.slice(0, ctxIds.length), ctxIds, `token boundary of ${rec.id}`);
          const r = await directLoglikelihood(modelPath, ctxIds, allIds.slice(ctxIds.length));
          direct.push(r.sum);
          lengths.push(r.logprobs.length);
          pairs++;
        }
        // The server evaluates a prompt in pieces and may reuse the KV cache of a shared prefix, so its
        // kernels differ from one whole-sequence evaluation: agreement is to ~1e-4 per token (the model's
        // per-token log-probabilities are around -5), hence a bound that grows with the continuation.
        direct.forEach((d, i) => {
          const perToken = Math.abs(d - got[i]!) / Math.max(1, lengths[i]!);
          maxDiff = Math.max(maxDiff, perToken);
          assert.ok(
            perToken < 3e-4,
            `${rec.id} choice ${i}: engine ${got[i]} vs llama.cpp ${d} (${lengths[i]} tokens)`,
          );
        });
        const gold = rec.question.choices.findIndex((c) => c.label === rec.answerKey);
        if (argmax(direct) === gold) acc++;
        // acc_norm divides by the choice's length in characters (lm-evaluation-harness: len(choice), without
        // the space that joins it to the context)
        const byLength = direct.map((d, i) => d / rec.question.choices[i]!.text.length);
        if (argmax(byLength) === gold) accNorm++;
      }
      const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as {
        results: {
          tasks: Record<string, { metrics: Record<string, { scores: Record<string, { value: number }> }> }>;
        };
      };
      const metrics = results.results.tasks.arc_challenge!.metrics;
      assert.equal(metrics.acc!.scores.acc!.value, acc / N);
      assert.equal(metrics.acc_norm!.scores.acc_norm!.value, accNorm / N);
      const stats = server.stats();
      assert.ok(
        (stats.byPath['/v1/completions'] ?? 0) >= Math.ceil(pairs / batchSize),
        JSON.stringify(stats),
      );
      t.diagnostic(
        `batch ${batchSize}: ${pairs} pairs, largest |engine - llama.cpp| per token = ${maxDiff.toExponential(2)}`,
      );
    } finally {
      await server.close();
    }
  });
}
