/**
 * An OpenAI-compatible HTTP server for one GGUF model on llama.cpp's CPU build, with vLLM's semantics:
 * `GET /health`, `GET /v1/models`, `POST /v1/completions` (prompt as text, texts, token ids or lists of
 * them; `echo` with prompt `logprobs`; `max_tokens: 0`; `stop`), `POST /v1/chat/completions` (the model's
 * own chat template), `POST /tokenize` and `POST /detokenize`. Requests are answered one at a time and
 * reproducibly (greedy at temperature 0; a fixed seed otherwise).
 *
 * `text_offset` is where each token's text starts in the returned text, in code points; a BOS token the
 * server added takes no room there (vLLM counts its "<s>" there too, which shifts every later offset).
 */
import { codePointLength } from '../common/text.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NelError } from '../common/errors.js';
import { isPlainObject } from '../common/objects.js';
import {
  LlamaCppModel,
  ModelLoadError,
  type GenerateOptions,
  type GenerateResult,
  type LoadOptions,
  type PositionLogprobs,
} from './engine.js';

export interface ModelServerOptions extends LoadOptions {
  modelPath: string;
  host?: string;
  port?: number;
  /** The id of /v1/models, which requests' `model` must name (default: the file name without .gguf). */
  servedModelName?: string;
  /** Largest request body in bytes (default 32 MiB). */
  maxBodyBytes?: number;
  /** One line per request (default: none). */
  log?: (line: string) => void;
}

export interface ModelServer {
  url: string;
  port: number;
  modelId: string;
  model: LlamaCppModel;
  stats(): { requests: number; byPath: Record<string, number> };
  close(): Promise<void>;
}

class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: RequestError): void {
  const type =
    e.status === 404 ? 'NotFoundError' : e.status >= 500 ? 'InternalServerError' : 'BadRequestError';
  sendJson(res, e.status, { error: { message: e.message, type, param: e.param, code: e.status } });
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new RequestError(`the request body is larger than ${limit} bytes`, 413);
    chunks.push(c);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError('the request body is not valid JSON');
  }
  if (!isPlainObject(body)) throw new RequestError('the request body must be a JSON object');
  return body;
}

// ---- parameter readers (vLLM's names and defaults) ----

function num(
  body: Record<string, unknown>,
  key: string,
  dflt: number,
  min = -Infinity,
  max = Infinity,
): number {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RequestError(`${key} must be a number in [${min}, ${max}]`, 400, key);
  }
  return v;
}

function int(body: Record<string, unknown>, key: string, dflt: number | null, min = 0): number | null {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RequestError(`${key} must be an integer >= ${min}`, 400, key);
  }
  return v;
}

function bool(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new RequestError(`${key} must be true or false`, 400, key);
  return v;
}

function stops(body: Record<string, unknown>): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string'))
    return (v as string[]).filter((s) => s !== '');
  throw new RequestError('stop must be a string or a list of strings', 400, 'stop');
}

function intList(body: Record<string, unknown>, key: string): number[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return v as number[];
  throw new RequestError(`${key} must be a list of token ids`, 400, key);
}

/** The sampling options shared by both endpoints; max_tokens and logprobs are read by each. */
function sampling(
  body: Record<string, unknown>,
): Omit<GenerateOptions, 'maxTokens' | 'logprobs' | 'promptLogprobs'> {
  if (body.stream === true) throw new RequestError('stream is not supported by this server', 400, 'stream');
  const n = int(body, 'n', 1, 1);
  if (n !== 1) throw new RequestError('n must be 1 (one choice per prompt)', 400, 'n');
  const bestOf = int(body, 'best_of', null, 1);
  if (bestOf !== null && bestOf !== 1) throw new RequestError('best_of must be 1', 400, 'best_of');
  return {
    temperature: num(body, 'temperature', 1, 0, 100),
    topP: num(body, 'top_p', 1, 0, 1) || 1,
    topK: (() => {
      const k = num(body, 'top_k', -1, -1);
      return k <= 0 ? 0 : Math.floor(k);
    })(),
    minP: num(body, 'min_p', 0, 0, 1),
    seed: int(body, 'seed', 0, 0) ?? 0,
    stop: stops(body),
    stopTokenIds: intList(body, 'stop_token_ids'),
    ignoreEos: bool(body, 'ignore_eos', false),
    includeStopStrInOutput: bool(body, 'include_stop_str_in_output', false),
  };
}

/** Code points (Python's len): the unit of text_offset. */
export async function startModelServer(opts: ModelServerOptions): Promise<ModelServer> {
  let model: LlamaCppModel;
  try {
    model = await LlamaCppModel.load(opts.modelPath, opts);
  } catch (e) {
    if (e instanceof ModelLoadError) {
      throw new NelError('USAGE', e.message, { hint: 'give a GGUF model file (--model FILE.gguf)' });
    }
    throw e;
  }
  const modelId = opts.servedModelName ?? model.name;
  const created = Math.floor(Date.now() / 1000);
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  let requests = 0;
  const byPath: Record<string, number> = {};
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}-${(++counter).toString(16).padStart(8, '0')}`;

  const checkModel = (body: Record<string, unknown>) => {
    const m = body.model;
    if (m === undefined || m === null) return;
    if (typeof m !== 'string') throw new RequestError('model must be a string', 400, 'model');
    if (m !== modelId) throw new RequestError(`The model \`${m}\` does not exist.`, 404, 'model');
  };

  const checkLength = (promptTokens: number, maxTokens: number) => {
    if (promptTokens + maxTokens > model.contextSize) {
      throw new RequestError(
        `This model's maximum context length is ${model.contextSize} tokens. However, you requested ` +
          `${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). ` +
          'Please reduce the length of the messages or completion.',
        400,
        'max_tokens',
      );
    }
  };

  const tokenStrings = (ids: number[], serverBos: boolean): { tokens: string[]; offsets: number[] } => {
    // a BOS the server added is not in the text: the tokens after it are decoded as the text's start
    const pieces = serverBos
      ? [model.detokenize(ids.slice(0, 1), true), ...model.pieces(ids.slice(1), true)]
      : model.pieces(ids, true);
    const offsets: number[] = [];
    let at = 0;
    pieces.forEach((p, i) => {
      offsets.push(at);
      if (!(serverBos && i === 0)) at += codePointLength(p);
    });
    return { tokens: pieces, offsets };
  };

  /** vLLM's completion logprobs: one entry per echoed prompt token, then per generated token. */
  const completionLogprobs = (r: GenerateResult, echo: boolean, serverBos: boolean, n: number) => {
    const ids = echo ? [...r.promptTokens, ...r.tokens] : r.tokens;
    const per: (PositionLogprobs | null)[] = [
      ...(echo ? (r.promptLogprobs ?? []) : []),
      ...(r.logprobs ?? []),
    ];
    const { tokens } = tokenStrings(ids, echo && serverBos);
    const promptText = echo
      ? model.detokenize(serverBos ? r.promptTokens.slice(1) : r.promptTokens, true)
      : '';
    const genPieces = r.tokens.map((t, i) =>
      model.detokenize([t], false, [...r.promptTokens, ...r.tokens.slice(0, i)].slice(-8)),
    );
    const offsets: number[] = [];
    if (echo) offsets.push(...tokenStrings(r.promptTokens, serverBos).offsets);
    let at = codePointLength(promptText);
    for (const p of genPieces) {
      offsets.push(at);
      at += codePointLength(p);
    }
    return {
      tokens,
      token_logprobs: per.map((p) => (p ? p.logprob : null)),
      top_logprobs: per.map((p, i) => {
        if (!p) return null;
        const top: Record<string, number> = {};
        const before = ids.slice(Math.max(0, i - 8), i);
        for (const alt of p.top.slice(0, n)) top[model.detokenize([alt.token], true, before)] ??= alt.logprob;
        const own = tokens[i]!;
        if (!(own in top)) top[own] = p.logprob;
        return top;
      }),
      text_offset: offsets,
    };
  };

  const completions = async (body: Record<string, unknown>) => {
    checkModel(body);
    const base = sampling(body);
    const echo = bool(body, 'echo', false);
    const logprobs = int(body, 'logprobs', null, 0);
    const maxTokens = int(body, 'max_tokens', 16, 0)!;
    const raw = body.prompt;
    // string | string[] | number[] | number[][]
    let prompts: { ids: number[]; serverBos: boolean; text: string | null }[];
    const isIds = (v: unknown): v is number[] =>
      Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x));
    if (typeof raw === 'string') prompts = [{ ids: model.tokenize(raw, true), serverBos: true, text: raw }];
    else if (isIds(raw)) prompts = [{ ids: raw, serverBos: false, text: null }];
    else if (Array.isArray(raw) && raw.length > 0 && raw.every((p) => typeof p === 'string')) {
      prompts = (raw as string[]).map((p) => ({ ids: model.tokenize(p, true), serverBos: true, text: p }));
    } else if (Array.isArray(raw) && raw.length > 0 && raw.every(isIds)) {
      prompts = (raw as number[][]).map((p) => ({ ids: p, serverBos: false, text: null }));
    } else {
      throw new RequestError(
        'prompt must be a string, a list of strings, a list of token ids or a list of such lists',
        400,
        'prompt',
      );
    }
    for (const p of prompts) {
      if (p.ids.length === 0) throw new RequestError('the prompt is empty', 400, 'prompt');
      const bad = p.ids.find((t) => !model.isValidToken(t));
      if (bad !== undefined) throw new RequestError(`token id ${bad} is out of vocabulary`, 400, 'prompt');
      if (p.text !== null && p.serverBos && p.ids[0] !== model.bos) p.serverBos = false;
      checkLength(p.ids.length, maxTokens);
    }
    const choices = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (const [index, p] of prompts.entries()) {
      const r = await model.generate(p.ids, {
        ...base,
        maxTokens,
        logprobs,
        promptLogprobs: echo && logprobs !== null,
      });
      promptTokens += r.promptTokens.length;
      completionTokens += r.tokens.length;
      const promptText = p.text ?? model.detokenize(p.ids, true);
      choices.push({
        index,
        text: (echo ? promptText : '') + r.text,
        logprobs: logprobs === null ? null : completionLogprobs(r, echo, p.serverBos, logprobs),
        finish_reason: r.finishReason,
        stop_reason: r.stopReason,
      });
    }
    return {
      id: nextId('cmpl'),
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: modelId,
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  };

  const messagesOf = (body: Record<string, unknown>) => {
    const raw = body.messages;
    if (!Array.isArray(raw) || raw.length === 0)
      throw new RequestError('messages must be a non-empty list', 400, 'messages');
    return raw.map((m, i) => {
      if (!isPlainObject(m) || typeof m.role !== 'string') {
        throw new RequestError(`messages[${i}] must be an object with a role`, 400, 'messages');
      }
      let content = m.content;
      if (Array.isArray(content)) {
        // OpenAI content parts: only text parts can be served
        const texts = content.map((part, k) => {
          if (isPlainObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
          throw new RequestError(`messages[${i}].content[${k}] is not a text part`, 400, 'messages');
        });
        content = texts.join('\n');
      }
      if (content === null || content === undefined) content = '';
      if (typeof content !== 'string')
        throw new RequestError(`messages[${i}].content must be a string`, 400, 'messages');
      return { role: m.role, content };
    });
  };

  const chat = async (body: Record<string, unknown>) => {
    checkModel(body);
    const base = sampling(body);
    const messages = messagesOf(body);
    const wantLogprobs = bool(body, 'logprobs', false);
    const topLogprobs = int(body, 'top_logprobs', 0, 0)!;
    let rendered: string;
    try {
      rendered = model.renderChat(messages, bool(body, 'add_generation_prompt', true));
    } catch (e) {
      throw new RequestError(`the chat template could not be applied: ${(e as Error).message}`);
    }
    // the template writes any BOS itself (vLLM tokenizes the rendered chat without adding special tokens)
    const ids = model.tokenize(rendered, false);
    if (ids.length === 0) throw new RequestError('the rendered chat prompt is empty', 400, 'messages');
    const requested = int(body, 'max_completion_tokens', null, 0) ?? int(body, 'max_tokens', null, 0);
    const maxTokens = requested ?? model.contextSize - ids.length;
    checkLength(ids.length, maxTokens);
    const r = await model.generate(ids, {
      ...base,
      maxTokens,
      logprobs: wantLogprobs ? topLogprobs : null,
      promptLogprobs: false,
    });
    const entry = (token: number, logprob: number) => {
      const text = model.detokenize([token], true);
      return { token: text, logprob, bytes: [...Buffer.from(text, 'utf8')] };
    };
    return {
      id: nextId('chatcmpl'),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: modelId,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: r.text },
          logprobs:
            wantLogprobs && r.logprobs
              ? {
                  content: r.tokens.map((t, i) => ({
                    ...entry(t, r.logprobs![i]!.logprob),
                    top_logprobs: r
                      .logprobs![i]!.top.slice(0, topLogprobs)
                      .map((a) => entry(a.token, a.logprob)),
                  })),
                }
              : null,
          finish_reason: r.finishReason,
          stop_reason: r.stopReason,
        },
      ],
      usage: {
        prompt_tokens: ids.length,
        completion_tokens: r.tokens.length,
        total_tokens: ids.length + r.tokens.length,
      },
    };
  };

  const tokenizeEndpoint = (body: Record<string, unknown>) => {
    checkModel(body);
    let ids: number[];
    if (typeof body.prompt === 'string')
      ids = model.tokenize(body.prompt, bool(body, 'add_special_tokens', true));
    else if (body.messages !== undefined)
      ids = model.tokenize(
        model.renderChat(messagesOf(body), bool(body, 'add_generation_prompt', true)),
        false,
      );
    else throw new RequestError('give prompt (a string) or messages', 400, 'prompt');
    return { count: ids.length, max_model_len: model.contextSize, tokens: ids };
  };

  const detokenizeEndpoint = (body: Record<string, unknown>) => {
    checkModel(body);
    const ids = intList(body, 'tokens');
    const bad = ids.find((t) => !model.isValidToken(t));
    if (bad !== undefined) throw new RequestError(`token id ${bad} is out of vocabulary`, 400, 'tokens');
    return { prompt: model.detokenize(ids, true) };
  };

  const routes: Record<string, (body: Record<string, unknown>) => unknown> = {
    '/v1/completions': completions,
    '/v1/chat/completions': chat,
    '/tokenize': tokenizeEndpoint,
    '/detokenize': detokenizeEndpoint,
  };

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests++;
    byPath[path] = (byPath[path] ?? 0) + 1;
    const started = Date.now();
    const done = (status: number) => opts.log?.(`${req.method} ${path} ${status} ${Date.now() - started}ms`);
    void (async () => {
      try {
        if (req.method === 'GET' && (path === '/health' || path === '/v1/health')) {
          res.writeHead(200, { 'content-length': 0 });
          res.end();
          done(200);
          return;
        }
        if (req.method === 'GET' && path === '/v1/models') {
          sendJson(res, 200, {
            object: 'list',
            data: [
              {
                id: modelId,
                object: 'model',
                created,
                owned_by: 'llama.cpp',
                root: opts.modelPath,
                parent: null,
                max_model_len: model.contextSize,
              },
            ],
          });
          done(200);
          return;
        }
        const route = routes[path];
        if (!route) throw new RequestError(`no route ${req.method} ${path}`, 404);
        if (req.method !== 'POST') throw new RequestError(`${path} takes POST`, 405);
        const body = await readJson(req, maxBody);
        const out = await route(body);
        sendJson(res, 200, out);
        done(200);
      } catch (e) {
        const err =
          e instanceof RequestError ? e : new RequestError(`internal error: ${(e as Error).message}`, 500);
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
        done(err.status);
      }
    })();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      void model.dispose();
      reject(
        new NelError(
          'LAUNCH_FAILED',
          `the model server cannot listen on ${host}:${opts.port ?? 0} (${e.code ?? e.message})`,
          {
            hint: 'choose another --port, or stop what uses it',
          },
        ),
      );
    });
    server.listen(opts.port ?? 0, host, () => resolveListen());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`,
    port,
    modelId,
    model,
    stats: () => ({ requests, byPath: { ...byPath } }),
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
      await model.dispose();
    },
  };
}
