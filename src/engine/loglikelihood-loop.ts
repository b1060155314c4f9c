/**
 * The request side of a log-likelihood run: each sample's (context, continuation) pairs are taken in
 * data set order and cut into batches of `batchSize` pairs, one request each (a list of prompts when a
 * batch has several). The cut depends only on the data set and the batch size, never on timing, so a
 * rerun with the same settings sends the same request bodies and the request cache answers every pair
 * that was answered before, once. A sample is scored as soon as its last pair is in.
 *
 * `max_tokens: 0` is sent first; a server that refuses it (HTTP 4xx) gets the request again with
 * `max_tokens: 1`, the rest of the run keeps 1, and the generated token is ignored.
 */
import {
  LogprobReplyError,
  loglikelihoodBody,
  pairResult,
  replyChoices,
  type EncodedPair,
} from './benchmarks/loglikelihood/pairs.js';
import type {
  BenchmarkSample,
  LoglikelihoodPair,
  LoglikelihoodResult,
  LoglikelihoodRun,
  SampleScore,
  SampleStream,
} from './benchmarks/types.js';
import { EndpointRequestError, type ModelClient } from './client/model-client.js';
import type { Logger } from './logging.js';

/** How many pairs a run sends (the progress total). */
export function countPairs(stream: SampleStream, ll: LoglikelihoodRun): number {
  let n = 0;
  for (const s of stream.samples()) n += ll.pairs(s).length;
  return n;
}

interface SampleState {
  sample: BenchmarkSample;
  pairs: LoglikelihoodPair[];
  results: (LoglikelihoodResult | null)[];
  remaining: number;
  error?: string;
}

interface PairRef {
  state: SampleState;
  pair: number;
  encoded: EncodedPair;
}

export interface LoglikelihoodLoopOptions {
  ll: LoglikelihoodRun;
  stream: SampleStream;
  modelId: string;
  client: ModelClient;
  log: Logger;
  stop: AbortSignal;
  /** Failed samples tolerated (extra.max_failed_samples); 0 ends the run at the first failure. */
  allowedFailed: number;
  /** Called once per answered pair. */
  onAnswer(): void;
  /** Write a scored sample (evaluate.ts's samples.jsonl line and failure policy). */
  record(
    sample: BenchmarkSample,
    pairs: LoglikelihoodPair[],
    score: SampleScore,
    responses: string[],
    error: string | undefined,
  ): Promise<void>;
}

export function createLoglikelihoodLoop(opts: LoglikelihoodLoopOptions): {
  batches(): Generator<PairRef[]>;
  worker(batch: PairRef[]): Promise<void>;
  finish(): void;
} {
  const { ll } = opts;
  let maxTokens: 0 | 1 = 0;
  let straddling = 0;

  // The first request finds out whether the server takes max_tokens 0; the others wait for it.
  let probe: Promise<unknown> | null = null;
  let probed = false;
  const send = async (batch: PairRef[]): Promise<{ body: unknown; generated: 0 | 1 }> => {
    if (!probed) {
      if (probe) await probe.catch(() => undefined);
      else {
        const first = sendAsDecided(batch);
        probe = first;
        try {
          return await first;
        } finally {
          probed = true;
        }
      }
    }
    return sendAsDecided(batch);
  };

  const sendAsDecided = async (batch: PairRef[]): Promise<{ body: unknown; generated: 0 | 1 }> => {
    const encoded = batch.map((r) => r.encoded);
    const meta = { requestId: '', sampleId: batch[0]!.state.sample.id, repeatIndex: 0 };
    const asked = maxTokens;
    try {
      const { response } = await opts.client.complete(
        loglikelihoodBody(opts.modelId, encoded, { maxTokens: asked, logprobs: ll.logprobs }),
        meta,
      );
      return { body: response.body, generated: asked };
    } catch (e) {
      if (
        asked !== 0 ||
        opts.stop.aborted ||
        !(e instanceof EndpointRequestError) ||
        !/HTTP 4\d\d/.test(e.message)
      )
        throw e;
      const { response } = await opts.client.complete(
        loglikelihoodBody(opts.modelId, encoded, { maxTokens: 1, logprobs: ll.logprobs }),
        meta,
      );
      if (maxTokens === 0) {
        maxTokens = 1;
        opts.log.warn(
          'the endpoint refused max_tokens 0 with echo; sending max_tokens 1 from now on and ignoring the generated token',
          { reason: e.message.slice(0, 200) },
        );
      }
      return { body: response.body, generated: 1 };
    }
  };

  const finishSample = async (state: SampleState): Promise<void> => {
    const results = state.results.map(
      (r) => r ?? { loglikelihood: Number.NEGATIVE_INFINITY, isGreedy: false, tokens: 0 },
    );
    const score = ll.score(state.sample, results);
    await opts.record(
      state.sample,
      state.pairs,
      score,
      results.map((r) => String(r.loglikelihood)),
      state.error,
    );
  };

  return {
    *batches() {
      let batch: PairRef[] = [];
      for (const sample of opts.stream.samples()) {
        const pairs = ll.pairs(sample);
        const state: SampleState = {
          sample,
          pairs,
          results: new Array<LoglikelihoodResult | null>(pairs.length).fill(null),
          remaining: pairs.length,
        };
        for (let p = 0; p < pairs.length; p++) {
          batch.push({ state, pair: p, encoded: ll.encode(pairs[p]!) });
          if (batch.length >= ll.batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    },

    async worker(batch) {
      let results: LoglikelihoodResult[] | null = null;
      let failure: string | undefined;
      try {
        const { body, generated } = await send(batch);
        const choices = replyChoices(body, batch.length);
        results = batch.map((ref, k) => {
          const r = pairResult(choices[k], ref.encoded, generated, k);
          if (r.straddles) straddling++;
          return { loglikelihood: r.loglikelihood, isGreedy: r.isGreedy, tokens: r.tokens };
        });
      } catch (e) {
        if (opts.stop.aborted) throw e;
        let err: EndpointRequestError;
        if (e instanceof LogprobReplyError) {
          err = new EndpointRequestError(
            `sample ${batch[0]!.state.sample.id}: the reply is not prompt log-probabilities: ${e.message}`,
            "the endpoint must serve /v1/completions with echo: true and logprobs >= 1 in vLLM's reply format",
          );
        } else if (e instanceof EndpointRequestError) err = e;
        else throw e;
        if (opts.allowedFailed === 0) throw err;
        failure = err.message;
      }
      for (let k = 0; k < batch.length; k++) {
        const ref = batch[k]!;
        const state = ref.state;
        if (results) state.results[ref.pair] = results[k]!;
        else state.error ??= failure;
        opts.onAnswer();
        if (--state.remaining === 0) await finishSample(state);
      }
    },

    finish() {
      if (straddling > 0) {
        opts.log.warn(
          `${straddling} pair(s) had a token spanning the context/continuation boundary; it was counted with the context. Set config.params.extra.tokenizer (and tokenizer_backend) to split on token ids instead`,
        );
      }
    },
  };
}
