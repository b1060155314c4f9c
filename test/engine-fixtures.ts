/**
 * Test fixtures for the engine: a tiny arithmetic benchmark (implements the Benchmark interface) and an
 * OpenAI-compatible test server on 127.0.0.1:0 with deterministic fault injection and request counting.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Benchmark, BenchmarkSample, SampleScore } from '../src/engine/benchmarks/types.js';
import type { EvaluationResult } from '../src/engine/types.js';

/** Items `What is a + b?` with a = i, b = 2i + 1; answers are `The answer is <n>`. */
export function arithmeticBenchmark(opts: { size?: number; name?: string } = {}): Benchmark {
  const size = opts.size ?? 20;
  const question = (s: BenchmarkSample): string => `What is ${String(s.data.a)} + ${String(s.data.b)}?`;
  const gold = (s: BenchmarkSample): number => Number(s.data.a) + Number(s.data.b);
  const name = opts.name ?? 'arithmetic';
  return {
    name,
    description: 'toy arithmetic (tests)',
    supportedEndpointTypes: ['chat', 'completions'],
    dataset: null,
    defaults: { max_new_tokens: 16, extra: { n_samples: 1 } },
    metrics: [{ metric: 'exact_match', score: 'exact_match' }],
    async prepare(ctx) {
      let n = size;
      const limit = ctx.params.limit_samples;
      if (typeof limit === 'number') n = limit < 1 ? Math.floor(size * limit) : Math.min(size, limit);
      const list: BenchmarkSample[] = Array.from({ length: n }, (_, i) => ({
        id: `arith/${i}`,
        index: i,
        data: { a: i, b: 2 * i + 1 },
      }));
      return {
        samples: { total: list.length, samples: () => list },
        buildRequest(sample) {
          return ctx.endpointType === 'chat'
            ? { messages: [{ role: 'user', content: question(sample) }] }
            : { prompt: `${question(sample)}\nAnswer:` };
        },
        async score(sample, responses): Promise<SampleScore> {
          const extracted = responses.map((r) => /(-?\d+)\s*$/.exec(r.trim())?.[1] ?? null);
          const correct = extracted.map((x) => x !== null && Number(x) === gold(sample));
          const value = correct.filter(Boolean).length / Math.max(1, correct.length);
          return {
            sampleId: sample.id,
            scores: { exact_match: value },
            extracted,
            correct,
            target: gold(sample),
          };
        },
        aggregate(scores): EvaluationResult {
          const xs = scores.map((s) => s.scores.exact_match ?? 0);
          const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
          const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length);
          const stddev = Math.sqrt(variance);
          const stderr = xs.length > 1 ? stddev / Math.sqrt(xs.length) : 0;
          const metric = {
            exact_match: {
              scores: { exact_match: { value: mean, stats: { count: xs.length, mean, stddev, stderr } } },
            },
          };
          return { tasks: { [name]: { metrics: metric } }, groups: { [name]: { metrics: metric } } };
        },
        referenceResponse(sample, correct) {
          return `The answer is ${gold(sample) + (correct ? 0 : 1)}`;
        },
      };
    },
  };
}

export type FaultKind = '429' | '500' | 'reset' | 'hang' | '400';

export interface TestServerOptions {
  /** Faults for the first attempt(s) of a body: kind per attempt index (0-based) chosen by `faultFor`. */
  faultFor?: (info: { bodyHash: string; attempt: number; requestNumber: number }) => FaultKind | null;
  latencyMs?: number;
  /** Retry-After value sent with 429s. */
  retryAfter?: string;
  /** Answer with a wrong result for these questions (matched by substring). */
  reply?: (prompt: string) => string;
}

export interface TestServer {
  url: string;
  port: number;
  requests: number;
  byStatus: Record<string, number>;
  /** Successful (200) answers per distinct body hash. */
  answeredPerBody: Map<string, number>;
  /** All attempts per distinct body hash. */
  attemptsPerBody: Map<string, number>;
  authHeaders: string[];
  bodies: unknown[];
  close(): Promise<void>;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function defaultReply(prompt: string): string {
  const m = /What is (\d+) \+ (\d+)\?/.exec(prompt);
  return m ? `Let me think. <b>&</b> The answer is ${Number(m[1]) + Number(m[2])}` : 'I do not know';
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const state: TestServer = {
    url: '',
    port: 0,
    requests: 0,
    byStatus: {},
    answeredPerBody: new Map(),
    attemptsPerBody: new Map(),
    authHeaders: [],
    bodies: [],
    close: async () => undefined,
  };
  const count = (status: number): void => {
    state.byStatus[String(status)] = (state.byStatus[String(status)] ?? 0) + 1;
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const requestNumber = ++state.requests;
      if (req.headers.authorization) state.authHeaders.push(req.headers.authorization);
      const h = sha(text);
      const attempt = state.attemptsPerBody.get(h) ?? 0;
      state.attemptsPerBody.set(h, attempt + 1);
      const fault = opts.faultFor?.({ bodyHash: h, attempt, requestNumber }) ?? null;
      const respond = (): void => {
        if (fault === 'reset') {
          count(0);
          req.socket.destroy();
          return;
        }
        if (fault === 'hang') return;
        if (fault === '429') {
          count(429);
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': opts.retryAfter ?? '0' });
          res.end('{"error":"rate limited"}');
          return;
        }
        if (fault === '500' || fault === '400') {
          const code = Number(fault);
          count(code);
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(`{"error":"injected ${code}"}`);
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          count(400);
          res.writeHead(400).end('bad json');
          return;
        }
        state.bodies.push(body);
        const messages = body.messages as { role: string; content: string }[] | undefined;
        const prompt = messages
          ? (messages.filter((m) => m.role === 'user').pop()?.content ?? '')
          : String(body.prompt ?? '');
        const answer = (opts.reply ?? defaultReply)(prompt);
        const choice = messages
          ? { index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }
          : { index: 0, text: answer, finish_reason: 'stop' };
        count(200);
        state.answeredPerBody.set(h, (state.answeredPerBody.get(h) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `cmpl-${requestNumber}`,
            object: messages ? 'chat.completion' : 'text_completion',
            model: body.model,
            choices: [choice],
            usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
          }),
        );
      };
      if (opts.latencyMs) setTimeout(respond, opts.latencyMs);
      else respond();
    });
  };
  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.port = port;
  state.url = `http://127.0.0.1:${port}/v1/chat/completions`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** Deterministic 20% faults on the first attempt of a body, cycling 429 / 500 / reset. */
export function twentyPercentFaults(): TestServerOptions['faultFor'] {
  return ({ bodyHash, attempt }) => {
    if (attempt > 0) return null;
    const x = parseInt(bodyHash.slice(0, 8), 16);
    if (x % 5 !== 0) return null;
    return (['429', '500', 'reset'] as const)[Math.floor(x / 5) % 3]!;
  };
}
