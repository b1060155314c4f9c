/**
 * A hostile OpenAI-compatible endpoint on 127.0.0.1 (a real node:http server) for failure-path tests.
 * It answers "What is A+B?" prompts (chat or completions) and, per request, plays a behaviour chosen by
 * a programmable `plan`: a valid answer, a non-JSON 200, a 200 without choices or with `choices: []`,
 * `content: null`, a reasoning-only reply, a body dripped one byte a second, a huge reply, any status
 * (with Retry-After), a connection reset or a hang. Every request it really received is recorded, with
 * what it answered, so a test can assert "really sent again" and "every sample was really answered".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'non_json' }
  | { kind: 'no_choices' }
  | { kind: 'empty_choices' }
  | { kind: 'null_content' }
  | { kind: 'reasoning_only' }
  | { kind: 'drip'; bytesPerSecond?: number }
  | { kind: 'stall'; pauseMs: number }
  | { kind: 'huge'; bytes: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' }
  | { kind: 'hang' };

export interface RecordedRequest {
  /** 0-based order of arrival. */
  n: number;
  at: number;
  prompt: string;
  body: Record<string, unknown>;
  behaviour: Behaviour['kind'];
  /** True when this request got a valid answer (a 200 with the completion). */
  answered: boolean;
}

export interface PlanContext {
  prompt: string;
  /** Requests received so far for this prompt (0 for the first). */
  nthForPrompt: number;
  /** Requests received so far in all. */
  n: number;
  /** ms since the server started (or since the last `reset()`). */
  elapsedMs: number;
}

export type Plan = (ctx: PlanContext) => Behaviour;

export interface HostileEndpoint {
  /** The chat completions URL. */
  url: string;
  completionsUrl: string;
  requests: RecordedRequest[];
  /** Replace the plan (e.g. "the server is fixed"). */
  setPlan(plan: Plan): void;
  /** Restart the clock behind `elapsedMs`. */
  restartClock(): void;
  /** Prompts that got a valid answer at least once. */
  answeredPrompts(): Set<string>;
  /** Requests received for a prompt. */
  countFor(prompt: string): number;
  close(): Promise<void>;
}

export const OK: Plan = () => ({ kind: 'ok' });

/** The deterministic answer for a prompt: A+B, except a wrong one when A is a multiple of 3. */
export function answerFor(prompt: string): string {
  const m = /(\d+)\s*\+\s*(\d+)/.exec(prompt);
  if (!m) return 'I do not know';
  const a = Number(m[1]);
  const b = Number(m[2]);
  return `The answer is ${a % 3 === 0 ? a + b + 1 : a + b}`;
}

function promptOf(body: Record<string, unknown>): string {
  if (typeof body.prompt === 'string') return body.prompt;
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  const last = messages[messages.length - 1];
  return typeof last?.content === 'string' ? last.content : '';
}

function completion(body: Record<string, unknown>, chat: boolean, content: string | null, extra = {}) {
  const choice = chat
    ? { index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop' }
    : { index: 0, text: content ?? '', finish_reason: 'stop' };
  return JSON.stringify({
    id: 'x',
    object: chat ? 'chat.completion' : 'text_completion',
    model: body.model ?? 'm',
    choices: [choice],
    usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
  });
}

export async function startHostileEndpoint(initial: Plan = OK): Promise<HostileEndpoint> {
  let plan = initial;
  let started = Date.now();
  const requests: RecordedRequest[] = [];
  const perPrompt = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      /* keep {} */
    }
    const chat = (req.url ?? '').includes('/chat/');
    const prompt = promptOf(body);
    const nthForPrompt = perPrompt.get(prompt) ?? 0;
    perPrompt.set(prompt, nthForPrompt + 1);
    const b = plan({ prompt, nthForPrompt, n: requests.length, elapsedMs: Date.now() - started });
    const rec: RecordedRequest = {
      n: requests.length,
      at: Date.now(),
      prompt,
      body,
      behaviour: b.kind,
      answered: false,
    };
    requests.push(rec);
    const json = (status: number, text: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    };
    switch (b.kind) {
      case 'ok':
        rec.answered = true;
        return json(200, completion(body, chat, answerFor(prompt)));
      case 'non_json':
        return json(200, '<html>502 Bad Gateway (a proxy page)</html>');
      case 'no_choices':
        return json(200, JSON.stringify({ id: 'x', object: 'chat.completion', usage: {} }));
      case 'empty_choices':
        return json(200, JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] }));
      case 'null_content':
        return json(200, completion(body, chat, null));
      case 'reasoning_only':
        return json(200, completion(body, chat, '<think>Let me add the numbers. Done thinking.</think>\n'));
      case 'drip': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const text = completion(body, chat, answerFor(prompt));
        let i = 0;
        const step = (): void => {
          if (res.destroyed) return;
          if (i >= text.length) return void res.end();
          res.write(text[i++]!);
          const t = setTimeout(step, 1000 / (b.bytesPerSecond ?? 1));
          timers.add(t);
        };
        return step();
      }
      case 'stall': {
        // A byte at once, one more after `pauseMs`, then nothing: a body that stops short of its end.
        res.writeHead(200, { 'content-type': 'application/json' });
        const text = completion(body, chat, answerFor(prompt));
        res.write(text[0]!);
        const t = setTimeout(() => {
          if (!res.destroyed) res.write(text[1]!);
        }, b.pauseMs);
        timers.add(t);
        return;
      }
      case 'huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 'a');
        let sent = 0;
        res.write('{"choices":[{"message":{"role":"assistant","content":"');
        const pump = (): void => {
          while (sent < b.bytes && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end('"}}]}');
        };
        res.on('error', () => undefined);
        return pump();
      }
      case 'status':
        return json(
          b.status,
          b.body ?? JSON.stringify({ error: { message: `hostile status ${b.status}`, code: b.status } }),
          b.retryAfter !== undefined ? { 'retry-after': b.retryAfter } : {},
        );
      case 'reset':
        return void req.socket.destroy();
      case 'hang':
        return;
    }
  };

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => handle(req, res, Buffer.concat(parts).toString('utf8')));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/v1/chat/completions`,
    completionsUrl: `${base}/v1/completions`,
    requests,
    setPlan(p) {
      plan = p;
    },
    restartClock() {
      started = Date.now();
    },
    answeredPrompts() {
      return new Set(requests.filter((r) => r.answered).map((r) => r.prompt));
    },
    countFor(prompt) {
      return requests.filter((r) => r.prompt === prompt).length;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
