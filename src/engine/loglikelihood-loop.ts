/**
 * The request side of a log-likelihood run: each sample's (context, continuation) pairs are taken in
 * data set order and cut into batches of `batchSize` pairs, one request each (a list of prompts when a
 * batch has several). The cut depends only on the data set and the batch size, never on timing. A sample
 * is scored as soon as its last pair is in.
 *
 * With the request cache on (answering again), each answered pair is kept in a journal beside it (one
 * JSON line per pair, keyed by model, logprobs, the prompts of its sample's pairs with where each
 * continuation starts, and its place among them, written behind as the cache's rows are): a rerun
 * takes those pairs from the journal whatever the batch size, and sends only the others, each once. The
 * journal is the cache of these requests: the response cache does not answer them, and keeps only up to
 * `max_saved_responses` of their replies (the report's examples), not every reply a second time.
 *
 * `max_tokens: 0` is sent first, alone; a server that refuses it (HTTP 4xx, or a 200 without the prompt
 * log-probabilities) gets the request again with `max_tokens: 1`, the rest of the run keeps 1, and the
 * generated token is ignored. The other requests wait for that first reply only until the endpoint
 * interceptor has read it (meta.onReply): after a valid 200 they go out while the rest of the chain
 * handles it.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256Hex } from '../common/hash.js';
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
import type { AdapterResponse } from './adapters/types.js';
import { EndpointRequestError, type ModelClient } from './client/model-client.js';
import type { Logger } from './logging.js';

/** The journal's write-behind: after this long, or at this many unwritten characters. */
const JOURNAL_FLUSH_MS = 50;
const JOURNAL_CHUNK = 64 * 1024;

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
  key: string;
}

/** One request's pairs; `done` carries a sample whose pairs all came from the journal. */
interface Batch {
  refs: PairRef[];
  done?: SampleState;
}

/**
 * The text a sample's journal keys hash: the model, logprobs and every pair's prompt as sent with where
 * its continuation starts (a pair's answer depends on both): `<context chars>:<length>:<text>` for a text
 * prompt, `<context tokens>:[ids]` for token ids. Lengths in front instead of JSON escaping: different
 * pairs never give the same text, and the prompts are not scanned for characters to escape.
 */
export function pairKeyText(modelId: string, logprobs: number, encoded: readonly EncodedPair[]): string {
  let text = `pairs/2|${modelId.length}:${modelId}|${logprobs}|`;
  for (const e of encoded)
    text +=
      e.kind === 'text'
        ? `${e.contextChars}:${e.prompt.length}:${e.prompt}`
        : `${e.contextTokens}:${JSON.stringify(e.prompt)}`;
  return text;
}

/**
 * The journal keys of a sample's pairs: one SHA-256 of pairKeyText (one hash a sample, not a pair), and
 * the pair's place among them.
 */
function pairKeys(modelId: string, logprobs: number, encoded: readonly EncodedPair[]): string[] {
  const base = sha256Hex(pairKeyText(modelId, logprobs, encoded));
  return encoded.map((_e, p) => `${base}.${p}`);
}

/** The journal's answered pairs (a damaged line, e.g. cut by a kill, is skipped). */
function readJournal(path: string): Map<string, LoglikelihoodResult> {
  const out = new Map<string, LoglikelihoodResult>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as { k?: unknown; ll?: unknown; g?: unknown; t?: unknown };
      if (
        typeof r.k === 'string' &&
        typeof r.ll === 'number' &&
        typeof r.g === 'boolean' &&
        typeof r.t === 'number'
      )
        out.set(r.k, { loglikelihood: r.ll, isGreedy: r.g, tokens: r.t });
    } catch {
      /* a partial last line */
    }
  }
  return out;
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
  /** The pair journal (beside the request cache), or null when the cache is off. */
  journalPath?: string | null;
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
  batches(): Generator<Batch>;
  worker(batch: Batch): Promise<void>;
  finish(): void;
  /** Close the journal (after finish, or after a failed or stopped run). */
  close(): void;
} {
  const { ll } = opts;
  let maxTokens: 0 | 1 = 0;
  let straddling = 0;
  const journalPath = opts.journalPath ?? null;
  const journal = journalPath ? readJournal(journalPath) : new Map<string, LoglikelihoodResult>();
  let fromJournal = 0;
  // Written behind like the request cache (JOURNAL_FLUSH_MS after the first unwritten line, or at
  // JOURNAL_CHUNK characters, and at close): a kill loses at most that much, which is sent again.
  let journalFd: number | null = null;
  let unwritten = '';
  let flushTimer: NodeJS.Timeout | null = null;
  const flushJournal = (): void => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (!journalPath || unwritten === '') return;
    if (journalFd === null) {
      mkdirSync(dirname(journalPath), { recursive: true });
      journalFd = openSync(journalPath, 'a');
    }
    const text = unwritten;
    unwritten = '';
    writeSync(journalFd, text);
  };
  const remember = (refs: PairRef[], results: LoglikelihoodResult[]): void => {
    if (!journalPath) return;
    for (let k = 0; k < refs.length; k++) {
      const r = results[k]!;
      // The key is hex with a place number and the log-likelihood finite (pairResult checks it): no
      // escaping needed.
      unwritten += `{"k":"${refs[k]!.key}","ll":${r.loglikelihood},"g":${r.isGreedy},"t":${r.tokens}}\n`;
    }
    if (unwritten.length >= JOURNAL_CHUNK) flushJournal();
    else flushTimer ??= setTimeout(flushJournal, JOURNAL_FLUSH_MS).unref();
  };

  // The first request finds out whether the server takes max_tokens 0; the others wait for it, but only
  // until its reply is in: a valid 200 to max_tokens 0 decides it (the others go out while the response
  // interceptors handle that reply), anything else waits for the first request's end (its retry with
  // max_tokens 1 sets maxTokens).
  let probe: Promise<void> | null = null;
  let openGate: () => void = () => undefined;
  let probed = false;
  const send = async (batch: PairRef[]): Promise<{ body: unknown; generated: 0 | 1 }> => {
    if (!probed) {
      if (probe) await probe;
      else {
        probe = new Promise<void>((resolve) => (openGate = resolve));
        const decided = (res: AdapterResponse): void => {
          if (res.status === 200 && res.fault === undefined) openGate();
        };
        try {
          return await sendAsDecided(batch, decided);
        } finally {
          probed = true;
          openGate();
        }
      }
    }
    return sendAsDecided(batch);
  };

  const sendAsDecided = async (
    batch: PairRef[],
    onFirstReply?: (res: AdapterResponse) => void,
  ): Promise<{ body: unknown; generated: 0 | 1 }> => {
    const encoded = batch.map((r) => r.encoded);
    // With the journal on, it keeps each answer: the response cache need not hold every reply.
    const meta = {
      requestId: '',
      sampleId: batch[0]!.state.sample.id,
      repeatIndex: 0,
      answerKept: journalPath !== null,
    };
    const asked = maxTokens;
    try {
      const { response } = await opts.client.complete(
        loglikelihoodBody(opts.modelId, encoded, { maxTokens: asked, logprobs: ll.logprobs }),
        onFirstReply && asked === 0 ? { ...meta, onReply: onFirstReply } : meta,
      );
      return { body: response.body, generated: asked };
    } catch (e) {
      // a 4xx, or a 200 without the prompt log-probabilities, to max_tokens 0: asked again with 1
      if (
        asked !== 0 ||
        opts.stop.aborted ||
        !(e instanceof EndpointRequestError) ||
        !(/HTTP 4\d\d/.test(e.message) || e.fault !== undefined)
      )
        throw e;
      const { response } = await opts.client.complete(
        loglikelihoodBody(opts.modelId, encoded, { maxTokens: 1, logprobs: ll.logprobs }),
        meta,
      );
      if (maxTokens === 0) {
        maxTokens = 1;
        opts.log.warn(
          'the endpoint did not take max_tokens 0 with echo; sending max_tokens 1 from now on and ignoring the generated token',
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
        const encoded = pairs.map((pair) => ll.encode(pair));
        const keys = pairKeys(opts.modelId, ll.logprobs, encoded);
        for (let p = 0; p < pairs.length; p++) {
          const key = keys[p]!;
          const known = journal.get(key);
          if (known) {
            state.results[p] = known;
            state.remaining--;
            fromJournal++;
            opts.onAnswer();
            if (state.remaining === 0) yield { refs: [], done: state };
            continue;
          }
          batch.push({ state, pair: p, encoded: encoded[p]!, key });
          if (batch.length >= ll.batchSize) {
            yield { refs: batch };
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield { refs: batch };
    },

    async worker({ refs: batch, done }) {
      if (done) {
        await finishSample(done);
        return;
      }
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
        remember(batch, results);
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

    close() {
      flushJournal();
      if (journalFd === null) return;
      closeSync(journalFd);
      journalFd = null;
    },

    finish() {
      if (fromJournal > 0)
        opts.log.info(`${fromJournal} pair(s) answered in an earlier run were taken from ${journalPath}`);
      if (straddling > 0) {
        opts.log.warn(
          `${straddling} pair(s) had a token spanning the context/continuation boundary; it was counted with the context. Set config.params.extra.tokenizer (and tokenizer_backend) to split on token ids instead`,
        );
      }
    },
  };
}
