/**
 * An OpenAI-compatible server that answers deterministically from a benchmark's gold answers at a
 * chosen accuracy, with optional latency and injected faults. For checking a pipeline without tokens.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NelError } from '../common/errors.js';
import { editDistance } from '../tasks/catalogue.js';
import { getBenchmark, listBenchmarks } from '../engine/benchmarks/index.js';
import { mulberry32 } from '../engine/benchmarks/common.js';
import type {
  Benchmark,
  BenchmarkContext,
  BenchmarkRun,
  BenchmarkSample,
} from '../engine/benchmarks/types.js';
import type { EndpointType, PreparedRequest } from '../engine/types.js';

export type FaultKind = '429' | '500' | 'reset' | 'hang';
export const FAULT_KINDS: readonly FaultKind[] = ['429', '500', 'reset', 'hang'];

/** One benchmark the endpoint answers. */
export interface ReferenceBenchmark {
  /** Benchmark name (`gsm8k`, `builtin.humaneval`, ...). */
  benchmark: string;
  /** Local data file or folder (else the benchmark's usual source: NEMO_EVALUATOR_DATASET_DIR, cache, hub). */
  datasetPath?: string;
  /** Extra benchmark options (`config.params.extra`), e.g. the custom benchmark's prompt_template. */
  extra?: Record<string, unknown>;
}

export interface ReferenceEndpointOptions extends Partial<ReferenceBenchmark> {
  /**
   * Several benchmarks at once (one endpoint for a multi-task run): each request is answered by the
   * benchmark whose prompt it is. `benchmark`/`datasetPath`/`extra` are the one-benchmark shorthand.
   */
  benchmarks?: ReferenceBenchmark[];
  /** Fraction of samples answered correctly, in [0, 1] (default 1). */
  accuracy?: number;
  host?: string;
  port?: number;
  latencyMs?: number;
  /** Probability in [0, 1] that a /v1 POST gets a fault instead of an answer (default 0). */
  faultRate?: number;
  faults?: FaultKind[];
  /** PRNG seed of the fault sequence (default 1). */
  seed?: number;
  /** Retry-After seconds sent with 429 (default 1). */
  retryAfterSeconds?: number;
  modelId?: string;
  fallbackAnswer?: string;
  /** Answer `max_tokens: 0` with HTTP 400, as some servers do (the client then sends 1). */
  refuseMaxTokensZero?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ReferenceEndpointStats {
  total: number;
  by_status: Record<string, number>;
  by_path: Record<string, number>;
  /** Distinct request bodies of /v1 POSTs. */
  distinct_bodies: number;
  /** Most times one body was received (any outcome). */
  max_body_repeats: number;
  /** Most times one body was answered with 200. */
  max_body_repeats_ok: number;
  answered_ok: number;
  unknown_prompts: number;
  /** SHA-256 (hex) of each distinct bearer token seen; raw values are never kept. */
  auth_seen: string[];
  samples_indexed: number;
}

export interface ReferenceEndpoint {
  url: string;
  port: number;
  stats(): ReferenceEndpointStats;
  resetStats(): void;
  close(): Promise<void>;
}

interface Answer {
  sample: BenchmarkSample;
  correct: boolean;
  /** The run of the sample's benchmark (for its reference answer). */
  run: BenchmarkRun;
}

interface AnswerIndex {
  chat: Map<string, Answer>;
  completions: Map<string, Answer>;
  /** Log-likelihood pairs by prompt (`logprobKey`): whether the pair is the one that should win. */
  logprob: Map<string, LogprobPair>;
  count: number;
}

interface LogprobPair {
  chosen: boolean;
  /** Where the continuation starts: code points (text prompts) or tokens (token-id prompts). */
  contextChars?: number;
  contextTokens?: number;
}

/**
 * The reference endpoint's log-probabilities (deterministic, so that tests can compute exact scores):
 * a text prompt is split into tokens of leading whitespace plus a run of non-space characters
 * (`text_offset` in code points), a token-id prompt has one token per id. Every prompt token has
 * log-probability -1 (the first: null), except the continuation of an indexed pair: its tokens share a
 * total of CHOSEN_LOGLIKELIHOOD (the pair that should win: the gold one for a sample answered correctly,
 * the next one otherwise) or OTHER_LOGLIKELIHOOD, evenly. The top token is the prompt's own token except
 * in the continuation of a pair that should not win, where an alternative ranks higher (is_greedy false).
 */
export const CHOSEN_LOGLIKELIHOOD = -1;
export const OTHER_LOGLIKELIHOOD = -3;
const CONTEXT_LOGPROB = -1;
const ALTERNATIVE = '\u2581alt';

/** The index key of a prompt: `t:` + the text, or `i:` + the comma-separated token ids. */
export function logprobKey(prompt: string | readonly number[]): string {
  return typeof prompt === 'string' ? `t:${prompt}` : `i:${prompt.join(',')}`;
}

/** The reference endpoint's tokens of a text prompt (leading whitespace + non-space run) and their offsets. */
export function referenceTokens(text: string): { tokens: string[]; offsets: number[] } {
  const tokens = text.match(/\s*\S+|\s+$/gu) ?? [];
  const offsets: number[] = [];
  let at = 0;
  for (const t of tokens) {
    offsets.push(at);
    at += Array.from(t).length;
  }
  return { tokens, offsets };
}

/** The benchmarks the reference endpoint can answer (`--benchmark`): every registered one. */
export function benchmarkNames(): string[] {
  return listBenchmarks().map((b) => b.name);
}

/** Whether the sample at dataset index i is answered correctly: exactly floor(N * acc) of N are. */
export function isCorrectAt(index: number, accuracy: number): boolean {
  return Math.floor((index + 1) * accuracy) > Math.floor(index * accuracy);
}

/** The text a request is indexed by: the last user message (chat) or the prompt (completions). */
export function requestKey(req: PreparedRequest | Record<string, unknown>): string | null {
  const messages = (req as { messages?: unknown }).messages;
  if (Array.isArray(messages)) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i] as { role?: unknown; content?: unknown };
      if (m && m.role === 'user') return contentText(m.content);
    }
    return null;
  }
  const prompt = (req as { prompt?: unknown }).prompt;
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && typeof prompt[0] === 'string') return prompt[0];
  return null;
}

function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : ''))
      .join('');
  }
  return null;
}

async function indexBenchmark(
  benchmark: Benchmark,
  spec: ReferenceBenchmark,
  opts: ReferenceEndpointOptions,
  into: AnswerIndex,
): Promise<void> {
  const env = opts.env ?? process.env;
  const extra: Record<string, unknown> = {
    ...(benchmark.defaults.extra ?? {}),
    ...(spec.extra ?? {}),
    // The reference endpoint only reads prompts and gold answers; it never executes model code.
    allow_code_execution: true,
  };
  if (spec.datasetPath) extra.dataset_path = spec.datasetPath;
  const accuracy = opts.accuracy ?? 1;
  const controller = new AbortController();
  const baseCtx = {
    params: { ...benchmark.defaults, limit_samples: null, extra },
    extra,
    outputDir: process.cwd(),
    env,
    log: () => undefined,
    signal: controller.signal,
  };
  let run: BenchmarkRun | null = null;
  let count = 0;
  // One run per endpoint type: the requests differ; the samples and the reference answers do not.
  for (const type of benchmark.supportedEndpointTypes) {
    if (type !== 'chat' && type !== 'completions') continue;
    const ctx: BenchmarkContext = { ...baseCtx, endpointType: type };
    const typed = await benchmark.prepare(ctx);
    run ??= typed;
    const ll = typed.loglikelihood;
    if (ll) {
      count = 0;
      for (const sample of typed.samples.samples()) {
        count++;
        const chosen = ll.referenceChoice(sample, isCorrectAt(sample.index, accuracy));
        ll.pairs(sample).forEach((pair, j) => {
          const enc = ll.encode(pair);
          const key = logprobKey(enc.prompt);
          if (into.logprob.has(key)) return;
          into.logprob.set(
            key,
            enc.kind === 'text'
              ? { chosen: j === chosen, contextChars: enc.contextChars }
              : { chosen: j === chosen, contextTokens: enc.contextTokens },
          );
        });
      }
      continue;
    }
    const map = type === 'chat' ? into.chat : into.completions;
    count = 0;
    for (const sample of typed.samples.samples()) {
      count++;
      const key = requestKey(typed.buildRequest(sample));
      if (key !== null && !map.has(key))
        map.set(key, { sample, correct: isCorrectAt(sample.index, accuracy), run });
    }
  }
  if (!run) {
    throw new NelError('USAGE', `benchmark "${benchmark.name}" has no chat or completions endpoint type`);
  }
  into.count += count;
}

/** The benchmarks of the options, each known (checked before any data is read). */
function benchmarkSpecs(opts: ReferenceEndpointOptions): [Benchmark, ReferenceBenchmark][] {
  const specs = [...(opts.benchmark ? [opts as ReferenceBenchmark] : []), ...(opts.benchmarks ?? [])];
  if (specs.length === 0) {
    throw new NelError('USAGE', 'no benchmark to answer', {
      hint: `use one of ${benchmarkNames().join(', ')}`,
    });
  }
  return specs.map((spec) => {
    const benchmark = getBenchmark(spec.benchmark);
    if (!benchmark) {
      const name = spec.benchmark.replace(/^builtin\./, '');
      const near = benchmarkNames().find((n) => editDistance(name, n) <= 2);
      throw new NelError(
        'USAGE',
        `unknown benchmark "${spec.benchmark}"${near ? `; did you mean ${near}?` : ''}`,
        {
          hint: `use one of ${benchmarkNames().join(', ')}`,
        },
      );
    }
    return [benchmark, spec];
  });
}

function validate(opts: ReferenceEndpointOptions): void {
  const acc = opts.accuracy ?? 1;
  if (!(acc >= 0 && acc <= 1)) throw new NelError('USAGE', `accuracy must be in [0, 1], got ${acc}`);
  const rate = opts.faultRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) throw new NelError('USAGE', `fault rate must be in [0, 1], got ${rate}`);
  for (const f of opts.faults ?? []) {
    if (!FAULT_KINDS.includes(f))
      throw new NelError('USAGE', `unknown fault kind "${f}" (use ${FAULT_KINDS.join(', ')})`);
  }
}

/** Start the reference endpoint. Resolves once it listens. */
export async function startReferenceEndpoint(opts: ReferenceEndpointOptions): Promise<ReferenceEndpoint> {
  validate(opts);
  const index: AnswerIndex = { chat: new Map(), completions: new Map(), logprob: new Map(), count: 0 };
  for (const [benchmark, spec] of benchmarkSpecs(opts)) await indexBenchmark(benchmark, spec, opts, index);
  const modelId = opts.modelId ?? 'reference-model';
  const fallback = opts.fallbackAnswer ?? 'I do not know.';
  const faults =
    opts.faults && opts.faults.length > 0 ? opts.faults : (['429', '500', 'reset'] as FaultKind[]);
  const faultRate = opts.faultRate ?? 0;
  const random = mulberry32(opts.seed ?? 1);

  let stats = emptyStats(index.count);
  let bodyCounts = new Map<string, number>();
  let okCounts = new Map<string, number>();
  let authSeen = new Set<string>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const count = (status: string) => (stats.by_status[status] = (stats.by_status[status] ?? 0) + 1);
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    count(String(status));
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const handleCompletion = (req: IncomingMessage, res: ServerResponse, raw: string, type: EndpointType) => {
    const hash = createHash('sha256').update(raw).digest('hex');
    bodyCounts.set(hash, (bodyCounts.get(hash) ?? 0) + 1);
    // The client left before the answer (killed, timed out): nothing is answered, so a client that
    // sends the request again later has not had it answered twice.
    if (res.destroyed || req.socket.destroyed) {
      count('abandoned');
      return;
    }
    if (faultRate > 0 && random() < faultRate) {
      const kind = faults[Math.floor(random() * faults.length)] ?? '500';
      if (kind === 'reset') {
        count('reset');
        req.socket.destroy();
        return;
      }
      if (kind === 'hang') {
        count('hang');
        return; // never answers; closed when the server closes
      }
      if (kind === '429') {
        send(
          res,
          429,
          { error: { message: 'rate limited (injected fault)', type: 'rate_limit_error' } },
          {
            'retry-after': String(opts.retryAfterSeconds ?? 1),
          },
        );
        return;
      }
      send(res, 500, { error: { message: 'internal error (injected fault)', type: 'server_error' } });
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      send(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
      return;
    }
    if (type === 'completions' && body.echo === true && body.logprobs != null && body.logprobs !== false) {
      handleLogprobs(res, body, hash);
      return;
    }
    const key = requestKey(body);
    const answer = key === null ? undefined : (type === 'chat' ? index.chat : index.completions).get(key);
    if (!answer) stats.unknown_prompts++;
    const text = answer ? answer.run.referenceResponse(answer.sample, answer.correct, type) : fallback;
    const n = Math.max(1, Math.min(128, Number(body.n ?? 1) || 1));
    const usage = {
      prompt_tokens: countTokens(key ?? ''),
      completion_tokens: countTokens(text) * n,
      total_tokens: countTokens(key ?? '') + countTokens(text) * n,
    };
    okCounts.set(hash, (okCounts.get(hash) ?? 0) + 1);
    stats.answered_ok++;
    const created = Math.floor(Date.now() / 1000);
    const id = `${type === 'chat' ? 'chatcmpl' : 'cmpl'}-${hash.slice(0, 24)}`;
    const choices = Array.from({ length: n }, (_v, i) =>
      type === 'chat'
        ? { index: i, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }
        : { index: i, text, finish_reason: 'stop', logprobs: null },
    );
    const object = type === 'chat' ? 'chat.completion' : 'text_completion';
    if (body.stream === true) {
      count('200');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const delta = choices.map((c, i) =>
        type === 'chat'
          ? { index: i, delta: { role: 'assistant', content: text }, finish_reason: 'stop' }
          : { ...c },
      );
      res.write(
        `data: ${JSON.stringify({ id, object: `${object}.chunk`, created, model: modelId, choices: delta, usage })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
      return;
    }
    send(res, 200, { id, object, created, model: String(body.model ?? modelId), choices, usage });
  };

  /** A completions request with echo + logprobs: prompt log-probabilities in vLLM's reply format. */
  const handleLogprobs = (res: ServerResponse, body: Record<string, unknown>, hash: string) => {
    const prompts = promptList(body.prompt);
    if (prompts === null) {
      send(res, 400, {
        error: {
          message: 'prompt must be a string, a list of strings, a list of token ids or a list of such lists',
          type: 'invalid_request_error',
        },
      });
      return;
    }
    const maxTokens = body.max_tokens == null ? 16 : Number(body.max_tokens);
    if (!Number.isInteger(maxTokens) || maxTokens < 0 || (maxTokens === 0 && opts.refuseMaxTokensZero)) {
      send(res, 400, {
        error: {
          message: `max_tokens must be at least 1, got ${String(body.max_tokens)}`,
          type: 'invalid_request_error',
        },
      });
      return;
    }
    const k = Math.max(1, Math.min(20, Number(body.logprobs) || 1));
    let promptTokens = 0;
    const choices = prompts.map((prompt, i) => {
      const pair = index.logprob.get(logprobKey(prompt));
      if (!pair) stats.unknown_prompts++;
      const choice = referenceLogprobChoice(prompt, pair, k, maxTokens > 0);
      promptTokens += choice.promptTokens;
      return {
        index: i,
        text: choice.text,
        logprobs: choice.logprobs,
        finish_reason: 'length',
        stop_reason: null,
      };
    });
    okCounts.set(hash, (okCounts.get(hash) ?? 0) + 1);
    stats.answered_ok++;
    const generated = maxTokens > 0 ? prompts.length : 0;
    send(res, 200, {
      id: `cmpl-${hash.slice(0, 24)}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: String(body.model ?? modelId),
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: generated,
        total_tokens: promptTokens + generated,
      },
    });
  };

  const server = createServer((req, res) => {
    stats.total++;
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    stats.by_path[path] = (stats.by_path[path] ?? 0) + 1;
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) {
      authSeen.add(
        createHash('sha256')
          .update(auth.replace(/^Bearer\s+/i, ''))
          .digest('hex'),
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 16 * 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const respond = () => {
        if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
        if (req.method === 'GET' && path === '/stats') return send(res, 200, currentStats());
        if (req.method === 'GET' && path.endsWith('/models')) {
          return send(res, 200, {
            object: 'list',
            data: [{ id: modelId, object: 'model', created: 0, owned_by: 'reference-endpoint' }],
          });
        }
        if (req.method === 'POST' && path.endsWith('/chat/completions'))
          return handleCompletion(req, res, raw, 'chat');
        if (req.method === 'POST' && path.endsWith('/completions'))
          return handleCompletion(req, res, raw, 'completions');
        send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
      };
      const isModelCall = req.method === 'POST' && path.endsWith('completions');
      if (isModelCall && (opts.latencyMs ?? 0) > 0) later(opts.latencyMs ?? 0, respond);
      else respond();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const currentStats = (): ReferenceEndpointStats => ({
    ...stats,
    by_status: { ...stats.by_status },
    by_path: { ...stats.by_path },
    distinct_bodies: bodyCounts.size,
    max_body_repeats: Math.max(0, ...bodyCounts.values()),
    max_body_repeats_ok: Math.max(0, ...okCounts.values()),
    auth_seen: [...authSeen].sort(),
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new NelError(
          'USAGE',
          `reference endpoint cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0} (${e.code ?? e.message})`,
        ),
      ),
    );
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = opts.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats: currentStats,
    resetStats() {
      stats = emptyStats(index.count);
      bodyCounts = new Map();
      okCounts = new Map();
      authSeen = new Set();
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolveClose());
        for (const s of sockets) s.destroy();
      }),
  };
}

function emptyStats(samples: number): ReferenceEndpointStats {
  return {
    total: 0,
    by_status: {},
    by_path: {},
    distinct_bodies: 0,
    max_body_repeats: 0,
    max_body_repeats_ok: 0,
    answered_ok: 0,
    unknown_prompts: 0,
    auth_seen: [],
    samples_indexed: samples,
  };
}

function countTokens(text: string): number {
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  return Math.max(1, words);
}

/** The prompts of a completions request: string | string[] | number[] | number[][]; null when none of those. */
export function promptList(prompt: unknown): (string | number[])[] | null {
  const isIds = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x));
  if (typeof prompt === 'string') return [prompt];
  if (isIds(prompt)) return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.every((p) => typeof p === 'string')) return prompt as string[];
    if (prompt.every(isIds)) return prompt as number[][];
  }
  return null;
}

/** One choice of a logprobs reply (see CHOSEN_LOGLIKELIHOOD for the scheme). */
export function referenceLogprobChoice(
  prompt: string | number[],
  pair: LogprobPair | undefined,
  k: number,
  generate: boolean,
): { text: string; promptTokens: number; logprobs: Record<string, unknown> } {
  let tokens: string[];
  let offsets: number[];
  let text: string;
  if (typeof prompt === 'string') {
    ({ tokens, offsets } = referenceTokens(prompt));
    text = prompt;
  } else {
    tokens = prompt.map((id) => `<${id}>`);
    offsets = [];
    let at = 0;
    for (const t of tokens) {
      offsets.push(at);
      at += t.length;
    }
    text = tokens.join('');
  }
  let start = tokens.length;
  if (pair) {
    if (pair.contextTokens !== undefined) start = pair.contextTokens;
    else {
      const found = offsets.findIndex((o) => o >= (pair.contextChars ?? 0));
      start = found < 0 ? tokens.length : found;
    }
  }
  const contTokens = tokens.length - start;
  const total = pair?.chosen ? CHOSEN_LOGLIKELIHOOD : OTHER_LOGLIKELIHOOD;
  const tokenLogprobs: (number | null)[] = [];
  const top: (Record<string, number> | null)[] = [];
  tokens.forEach((t, i) => {
    if (i === 0) {
      tokenLogprobs.push(null);
      top.push(null);
      return;
    }
    const inContinuation = pair !== undefined && i >= start;
    const lp = inContinuation ? total / contTokens : CONTEXT_LOGPROB;
    tokenLogprobs.push(lp);
    const entries: Record<string, number> = { [t]: lp };
    const greedy = !inContinuation || pair?.chosen === true;
    if (!greedy) entries[ALTERNATIVE] = lp / 2;
    for (let f = Object.keys(entries).length; f < k; f++) entries[`\u2581filler${f}`] = lp - f;
    top.push(entries);
  });
  if (generate) {
    const t = ' the';
    offsets.push(Array.from(text).length);
    tokens.push(t);
    tokenLogprobs.push(-0.5);
    top.push({ [t]: -0.5 });
    text += t;
  }
  return {
    text,
    promptTokens: typeof prompt === 'string' ? referenceTokens(prompt).tokens.length : prompt.length,
    logprobs: { tokens, token_logprobs: tokenLogprobs, top_logprobs: top, text_offset: offsets },
  };
}
