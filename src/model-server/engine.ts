/**
 * A GGUF model on llama.cpp (node-llama-cpp's CPU build, loaded with `build: 'never'` so nothing is ever
 * compiled or downloaded): tokenization, the model's chat template, prompt log-probabilities and
 * generation. One model and one context sequence per instance; requests run one at a time, on a cleared
 * sequence, so every answer is reproducible.
 *
 * Log-probabilities are the log of llama.cpp's softmax over the raw logits (no temperature, no penalties),
 * as vLLM's `logprobs` are.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { mulberry32 } from '../common/random.js';

export interface LoadOptions {
  /** CPU threads of the context (default 1: on small machines more threads are much slower). */
  threads?: number;
  /** Context size in tokens (default: the model's trained context, at most 8192). */
  contextSize?: number;
  /** Batch size of prompt evaluation (default 512). */
  batchSize?: number;
}

/** A token's log-probability and the most likely alternatives at its position. */
export interface PositionLogprobs {
  logprob: number;
  /** the top alternatives, most likely first */
  top: { token: number; logprob: number }[];
}

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy */
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  seed: number;
  stop: string[];
  stopTokenIds: number[];
  ignoreEos: boolean;
  /** alternatives to return per position (0 = only the chosen token's log-probability; null = none) */
  logprobs: number | null;
  /** also the log-probabilities of the prompt's tokens (the first is null) */
  promptLogprobs: boolean;
  includeStopStrInOutput: boolean;
}

export interface GenerateResult {
  promptTokens: number[];
  /** per prompt token (index 0 has none); set when promptLogprobs */
  promptLogprobs: (PositionLogprobs | null)[] | null;
  tokens: number[];
  /** per generated token; set when logprobs !== null */
  logprobs: PositionLogprobs[] | null;
  text: string;
  finishReason: 'stop' | 'length';
  /** the stop string or stop token id that ended generation (null for end-of-generation tokens) */
  stopReason: string | number | null;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** log(p) of a float32 probability; an underflowed 0 reads as vLLM's floor. */
export const LOGPROB_FLOOR = -9999;
function logOf(p: number | undefined): number {
  if (p === undefined || !(p > 0)) return LOGPROB_FLOOR;
  return Math.max(Math.log(p), LOGPROB_FLOOR);
}

const PROMPT_CHUNK = 128;

let llamaPromise: Promise<Llama> | null = null;
/** The process's llama.cpp binding: the prebuilt CPU binary, never a build or a download. */
async function cpuLlama(): Promise<Llama> {
  llamaPromise ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    return getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
  })();
  return llamaPromise;
}

export class ModelLoadError extends Error {}

const oneLine = (s: string): string =>
  s
    .replace(/[\x00-\x1f\s]+/g, ' ')
    .trim()
    .slice(0, 300);

/** The model file: `path` itself, or the one .gguf file in the folder `path` (a mounted checkpoint). */
export function resolveModelFile(path: string): string {
  if (!existsSync(path)) throw new ModelLoadError(`no model file at ${path}`);
  if (statSync(path).isFile()) return path;
  const ggufs = readdirSync(path).filter((f) => /\.gguf$/i.test(f) && statSync(join(path, f)).isFile());
  if (ggufs.length !== 1) {
    throw new ModelLoadError(
      ggufs.length === 0
        ? `the folder ${path} has no .gguf file`
        : `the folder ${path} has ${ggufs.length} .gguf files (${ggufs.slice(0, 3).join(', ')}); name one`,
    );
  }
  return join(path, ggufs[0]!);
}

export class LlamaCppModel {
  private queue: Promise<unknown> = Promise.resolve();
  private constructor(
    readonly path: string,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    readonly contextSize: number,
    readonly chatTemplate: string | null,
  ) {}

  static async load(given: string, opts: LoadOptions = {}): Promise<LlamaCppModel> {
    const path = resolveModelFile(given);
    const llama = await cpuLlama();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    } catch (e) {
      throw new ModelLoadError(`llama.cpp could not load ${path}: ${oneLine((e as Error).message)}`);
    }
    const contextSize = Math.max(16, opts.contextSize ?? Math.min(model.trainContextSize || 4096, 8192));
    const context = await model.createContext({
      contextSize,
      threads: opts.threads ?? 1,
      batchSize: Math.min(opts.batchSize ?? 512, contextSize),
      sequences: 1,
    });
    const meta = model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } };
    const template = typeof meta.tokenizer?.chat_template === 'string' ? meta.tokenizer.chat_template : null;
    return new LlamaCppModel(path, model, context, context.getSequence(), context.contextSize, template);
  }

  /** The model's name: general.name, else the file name without .gguf. */
  get name(): string {
    const n = (this.model.fileInfo.metadata as { general?: { name?: unknown } }).general?.name;
    return typeof n === 'string' && n ? n : basename(this.path).replace(/\.gguf$/i, '');
  }

  get vocabularySize(): number {
    const meta = this.model.fileInfo.metadata as unknown as {
      tokenizer?: { ggml?: { tokens?: readonly unknown[] } };
    };
    return meta.tokenizer?.ggml?.tokens?.length ?? 0;
  }

  /** Tokenizes text (special tokens in it are parsed, as HF tokenizers and llama-server do). */
  tokenize(text: string, addBos: boolean): number[] {
    const ids = this.model.tokenize(text, true) as number[];
    const bos = this.model.tokens.bos;
    if (addBos && bos !== null && this.model.tokens.shouldPrependBosToken && ids[0] !== bos)
      return [bos, ...ids];
    return ids;
  }

  get bos(): number | null {
    return this.model.tokens.bos;
  }

  isValidToken(id: number): boolean {
    const n = this.vocabularySize;
    return Number.isInteger(id) && id >= 0 && (n === 0 || id < n);
  }

  /** Text of tokens; `special` renders control tokens (BOS, ChatML markers) as their text. */
  detokenize(ids: number[], special = true, previous: number[] = []): string {
    return this.model.detokenize(ids as Token[], special, previous as Token[]);
  }

  /** Each token's own text given the tokens before it (the pieces concatenate to the whole text). */
  pieces(ids: number[], special = true): string[] {
    return ids.map((t, i) => this.detokenize([t], special, ids.slice(Math.max(0, i - 8), i)));
  }

  isEog(id: number): boolean {
    return this.model.isEogToken(id as Token);
  }

  /** The chat prompt: the GGUF's Jinja chat template rendered as Hugging Face's apply_chat_template does. */
  renderChat(messages: ChatMessage[], addGenerationPrompt = true): string {
    if (this.chatTemplate === null) {
      throw new ModelLoadError(
        'the model has no chat template (tokenizer.chat_template); use /v1/completions',
      );
    }
    const template = new Template(this.chatTemplate);
    return template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.model.tokens.bosString ?? '',
      eos_token: this.model.tokens.eosString ?? '',
    });
  }

  /** Runs `fn` after every earlier request has finished (one sequence, one request at a time). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Generation (and optionally prompt log-probabilities) for one prompt of token ids. */
  generate(promptTokens: number[], opts: GenerateOptions): Promise<GenerateResult> {
    return this.exclusive(() => this.generateNow(promptTokens, opts));
  }

  private topOf(probs: Map<Token, number>, n: number): { token: number; logprob: number }[] {
    const out: { token: number; logprob: number }[] = [];
    if (n <= 0) return out;
    for (const [token, p] of probs) {
      out.push({ token, logprob: logOf(p) });
      if (out.length >= n) break;
    }
    return out;
  }

  private async generateNow(prompt: number[], opts: GenerateOptions): Promise<GenerateResult> {
    const seq = this.sequence;
    await seq.clearHistory();
    const topN = opts.logprobs ?? 0;
    const greedy = opts.temperature <= 0;
    const wantGenProbs = opts.logprobs !== null || !greedy;
    const generating = opts.maxTokens > 0;
    const promptLogprobs: (PositionLogprobs | null)[] | null = opts.promptLogprobs ? [null] : null;

    // the prompt, in chunks: each position's distribution is reduced to what the reply needs at once
    let lastProbs: Map<Token, number> | undefined;
    let nextToken: number | null = null;
    for (let start = 0; start < prompt.length; start += PROMPT_CHUNK) {
      const chunk = prompt.slice(start, start + PROMPT_CHUNK);
      const items = chunk.map((t, k) => {
        const i = start + k;
        const last = i === prompt.length - 1;
        const wantProbs = (opts.promptLogprobs && !last) || (last && generating && wantGenProbs);
        const wantToken = last && generating && greedy && !wantProbs;
        if (!wantProbs && !wantToken) return t as Token;
        return [
          t as Token,
          { generateNext: { probabilities: wantProbs, token: wantToken, options: { temperature: 0 } } },
        ] as [
          Token,
          { generateNext: { probabilities: boolean; token: boolean; options: { temperature: number } } },
        ];
      });
      const results = await seq.controlledEvaluate(items);
      for (let k = 0; k < chunk.length; k++) {
        const i = start + k;
        const r = results[k];
        if (i < prompt.length - 1) {
          if (promptLogprobs && r?.next.probabilities) {
            const probs = r.next.probabilities;
            promptLogprobs.push({
              logprob: logOf(probs.get(prompt[i + 1] as Token)),
              top: this.topOf(probs, topN),
            });
          }
        } else if (r) {
          lastProbs = r.next.probabilities;
          if (r.next.token !== undefined && r.next.token !== null) nextToken = r.next.token;
        }
      }
    }

    const rand = mulberry32(opts.seed);
    const pick = (probs: Map<Token, number> | undefined): number => {
      if (!probs || probs.size === 0) throw new Error('llama.cpp returned no distribution');
      if (greedy) return probs.keys().next().value as number;
      return sample(probs, opts, rand);
    };

    const tokens: number[] = [];
    const logprobs: PositionLogprobs[] | null = opts.logprobs !== null ? [] : null;
    let finishReason: 'stop' | 'length' = 'length';
    let stopReason: string | number | null = null;
    let text = '';
    let cut: number | null = null;
    const maxStop = opts.stop.reduce((m, s) => Math.max(m, s.length), 0);
    while (generating && tokens.length < opts.maxTokens) {
      const token = nextToken ?? pick(lastProbs);
      tokens.push(token);
      if (logprobs && lastProbs) {
        logprobs.push({ logprob: logOf(lastProbs.get(token as Token)), top: this.topOf(lastProbs, topN) });
      }
      if (!opts.ignoreEos && this.isEog(token)) {
        finishReason = 'stop';
        break;
      }
      if (opts.stopTokenIds.includes(token)) {
        finishReason = 'stop';
        stopReason = token;
        break;
      }
      if (opts.stop.length) {
        text = this.detokenize(tokens, false, prompt.slice(-8));
        const from = Math.max(0, text.length - this.detokenize([token], false).length - maxStop);
        let best: { at: number; s: string } | null = null;
        for (const s of opts.stop) {
          const at = text.indexOf(s, from);
          if (at >= 0 && (best === null || at < best.at)) best = { at, s };
        }
        if (best) {
          finishReason = 'stop';
          stopReason = best.s;
          cut = opts.includeStopStrInOutput ? best.at + best.s.length : best.at;
          break;
        }
      }
      if (tokens.length >= opts.maxTokens) break;
      if (prompt.length + tokens.length >= this.contextSize) break;
      const item = wantGenProbs
        ? ([token as Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }] as const)
        : ([token as Token, { generateNext: { token: true, options: { temperature: 0 } } }] as const);
      const [r] = await seq.controlledEvaluate([item as never]);
      lastProbs = r?.next.probabilities;
      nextToken = !wantGenProbs && r?.next.token != null ? r.next.token : null;
    }
    const textTokens = tokens.filter((t) => opts.ignoreEos || !this.isEog(t));
    text = this.detokenize(textTokens, false, prompt.slice(-8));
    if (cut !== null) text = text.slice(0, cut);
    return { promptTokens: prompt, promptLogprobs, tokens, logprobs, text, finishReason, stopReason };
  }

  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** Samples from the raw distribution with temperature, top-k, top-p and min-p (vLLM's order). */
function sample(probs: Map<Token, number>, opts: GenerateOptions, rand: () => number): number {
  let entries = [...probs.entries()].filter(([, p]) => p > 0);
  // temperature: p^(1/T), renormalised; in log space for stability
  const logits = entries.map(([, p]) => Math.log(p) / opts.temperature);
  const max = Math.max(...logits);
  let weights = logits.map((l) => Math.exp(l - max));
  const order = weights
    .map((_, i) => i)
    .sort((a, b) => weights[b]! - weights[a]! || entries[a]![0] - entries[b]![0]);
  entries = order.map((i) => entries[i]!);
  weights = order.map((i) => weights[i]!);
  let n = weights.length;
  if (opts.topK > 0) n = Math.min(n, opts.topK);
  let total = weights.slice(0, n).reduce((a, b) => a + b, 0);
  if (opts.topP < 1) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += weights[i]! / total;
      if (acc >= opts.topP) {
        n = i + 1;
        break;
      }
    }
  }
  if (opts.minP > 0) {
    const floor = weights[0]! * opts.minP;
    while (n > 1 && weights[n - 1]! < floor) n--;
  }
  total = weights.slice(0, n).reduce((a, b) => a + b, 0);
  let r = rand() * total;
  for (let i = 0; i < n; i++) {
    r -= weights[i]!;
    if (r <= 0) return entries[i]![0];
  }
  return entries[n - 1]![0];
}

/**
 * The log-likelihood of `continuation` after `context` computed directly with llama.cpp, one token per
 * evaluation (a path independent of the server's batched prompt evaluation): per-token log-probabilities,
 * their sum, and whether each token was the most likely one.
 */
export async function directLoglikelihood(
  modelPath: string,
  contextTokens: number[],
  continuationTokens: number[],
  opts: LoadOptions & {
    /**
     * 'batch' (default): the whole sequence in one evaluation, as a server evaluates a prompt;
     * 'stepwise': one token per evaluation, reusing the KV cache (other kernels, so agreement is to ~1e-3).
     */
    mode?: 'batch' | 'stepwise';
  } = {},
): Promise<{ logprobs: number[]; sum: number; isGreedy: boolean }> {
  if (contextTokens.length === 0) throw new Error('the context needs at least one token');
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const all = [...contextTokens, ...continuationTokens];
  const context = await model.createContext({
    contextSize: Math.max(32, all.length + 1),
    threads: opts.threads ?? 1,
    // the server evaluates a prompt in pieces of this many tokens
    batchSize: PROMPT_CHUNK,
    sequences: 1,
  });
  try {
    const seq = context.getSequence();
    const logprobs: number[] = [];
    let isGreedy = true;
    const items = all
      .slice(0, -1)
      .map((t, i) =>
        i >= contextTokens.length - 1
          ? ([t as Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }] as const)
          : (t as Token),
      );
    const results =
      opts.mode === 'stepwise'
        ? await (async () => {
            const out = [];
            for (const item of items) out.push((await seq.controlledEvaluate([item as never]))[0]);
            return out;
          })()
        : await seq.controlledEvaluate(items as never);
    for (let i = contextTokens.length - 1; i < all.length - 1; i++) {
      const probs = results[i]?.next.probabilities;
      if (!probs) throw new Error('llama.cpp returned no distribution');
      const next = all[i + 1] as Token;
      logprobs.push(logOf(probs.get(next)));
      if (probs.keys().next().value !== next) {
        const best = probs.values().next().value as number;
        if (best > (probs.get(next) ?? 0)) isGreedy = false;
      }
    }
    return { logprobs, sum: logprobs.reduce((a, b) => a + b, 0), isGreedy };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
