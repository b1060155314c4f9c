/**
 * Writes a small, valid GGUF file of a llama-architecture model with random, seeded F32 weights and a
 * SentencePiece-style vocabulary (byte fallback, a few hundred English pieces, ChatML control tokens and a
 * ChatML chat template). llama.cpp loads it like any other llama model: it tokenizes, evaluates and
 * generates deterministically, though what it says is noise. It exists for tests and smoke runs of the
 * model server and of `deployment: llamacpp` where no trained weights can be had.
 *
 * Format: GGUF v3 (magic, version, tensor count, metadata key/values, tensor infos, aligned tensor data).
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { mulberry32 } from '../common/random.js';

export interface RandomLlamaOptions {
  /** PRNG seed of the weights (default 1). */
  seed?: number;
  /** Hidden size (default 64; a multiple of headCount). */
  embeddingLength?: number;
  /** Transformer blocks (default 2). */
  blockCount?: number;
  /** Attention heads (default 4). */
  headCount?: number;
  /** Key/value heads (default 2: grouped-query attention, as modern llamas use). */
  headCountKv?: number;
  /** Feed-forward size (default 128). */
  feedForwardLength?: number;
  /** Trained context length written in the metadata (default 4096). */
  contextLength?: number;
  /** general.name (default "random-llama"). */
  name?: string;
  /** tokenizer.chat_template (default: ChatML). */
  chatTemplate?: string;
}

/** ChatML, the template of many instruct models; <|im_start|>/<|im_end|> are control tokens of the vocabulary. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const SPACE = '\u2581';

/** Token types of llama.cpp's vocabulary. */
const TYPE_NORMAL = 1;
const TYPE_UNKNOWN = 2;
const TYPE_CONTROL = 3;
const TYPE_BYTE = 6;

/** Frequent English pieces (merged before their parts); words get the SentencePiece space marker. */
const PIECES = [
  'th',
  'he',
  'in',
  'er',
  'an',
  're',
  'on',
  'at',
  'en',
  'nd',
  'ti',
  'es',
  'or',
  'te',
  'of',
  'ed',
  'is',
  'it',
  'al',
  'ar',
  'st',
  'to',
  'nt',
  'ng',
  'se',
  'ha',
  'as',
  'ou',
  'io',
  'le',
  've',
  'co',
  'me',
  'de',
  'hi',
  'ri',
  'ro',
  'ic',
  'ne',
  'ea',
  'ra',
  'ce',
  'li',
  'ch',
  'll',
  'be',
  'ma',
  'si',
  'om',
  'ur',
  'the',
  'ing',
  'and',
  'ion',
  'tio',
  'ent',
  'ati',
  'for',
  'her',
  'ter',
  'hat',
  'tha',
  'ere',
  'ate',
  'his',
  'con',
  'res',
  'ver',
  'all',
  'ons',
  'nce',
  'men',
  'ith',
  'ted',
  'ers',
  'pro',
  'tion',
  'ation',
  'that',
  'with',
  'have',
  'this',
  'what',
  'answer',
  'question',
  'user',
  'assistant',
  'system',
];
const WORDS = [
  'the',
  'of',
  'and',
  'to',
  'a',
  'in',
  'is',
  'it',
  'that',
  'for',
  'on',
  'with',
  'as',
  'was',
  'he',
  'be',
  'at',
  'by',
  'this',
  'have',
  'from',
  'or',
  'one',
  'had',
  'not',
  'but',
  'what',
  'all',
  'were',
  'when',
  'we',
  'there',
  'can',
  'an',
  'your',
  'which',
  'their',
  'if',
  'do',
  'will',
  'each',
  'how',
  'many',
  'much',
  'Answer',
  'Question',
  'The',
  'A',
  'B',
  'C',
  'D',
];

export interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  bos: number;
  eos: number;
  unk: number;
}

/** The vocabulary of the random model: <unk> <s> </s>, 256 byte tokens, printable ASCII, pieces, ChatML tokens. */
export function randomModelVocabulary(): Vocabulary {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const seen = new Set<string>();
  const add = (t: string, score: number, type: number) => {
    if (seen.has(t)) return;
    seen.add(t);
    tokens.push(t);
    scores.push(score);
    types.push(type);
  };
  add('<unk>', 0, TYPE_UNKNOWN);
  add('<s>', 0, TYPE_CONTROL);
  add('</s>', 0, TYPE_CONTROL);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0, TYPE_BYTE);
  // single characters: the space marker and printable ASCII (a space is always written as the marker)
  add(SPACE, -1, TYPE_NORMAL);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c), -2, TYPE_NORMAL);
  // longer pieces score higher, so SentencePiece's greedy merge prefers them
  let rank = 0;
  for (const p of PIECES) add(p, -1000 + p.length * 10 - rank++ / 1000, TYPE_NORMAL);
  for (const w of WORDS) {
    if (w.length > 1) add(SPACE + w.slice(0, -1), -1000 + w.length * 10 - rank++ / 1000, TYPE_NORMAL);
    add(SPACE + w, -1000 + (w.length + 1) * 10 - rank++ / 1000, TYPE_NORMAL);
  }
  for (const d of ['10', '00', '20', '50', '100']) add(d, -1000 + d.length * 10 - rank++ / 1000, TYPE_NORMAL);
  add('<|im_start|>', 0, TYPE_CONTROL);
  add('<|im_end|>', 0, TYPE_CONTROL);
  return { tokens, scores, types, bos: 1, eos: 2, unk: 0 };
}

// ---- GGUF encoding ----

const GGUF = {
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
} as const;
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;

type MetaValue =
  | { t: 'u32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'str[]'; v: string[] }
  | { t: 'f32[]'; v: number[] }
  | { t: 'i32[]'; v: number[] };

class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.push(b);
  }
  i32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.push(b);
  }
  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }
  f32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(to: number): void {
    const rem = this.length % to;
    if (rem) this.push(Buffer.alloc(to - rem));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeMeta(sink: ByteSink, key: string, value: MetaValue): void {
  sink.str(key);
  switch (value.t) {
    case 'u32':
      sink.u32(GGUF.UINT32);
      sink.u32(value.v);
      return;
    case 'f32':
      sink.u32(GGUF.FLOAT32);
      sink.f32(value.v);
      return;
    case 'bool':
      sink.u32(GGUF.BOOL);
      sink.push(Buffer.from([value.v ? 1 : 0]));
      return;
    case 'str':
      sink.u32(GGUF.STRING);
      sink.str(value.v);
      return;
    case 'str[]':
      sink.u32(GGUF.ARRAY);
      sink.u32(GGUF.STRING);
      sink.u64(value.v.length);
      for (const s of value.v) sink.str(s);
      return;
    case 'f32[]':
      sink.u32(GGUF.ARRAY);
      sink.u32(GGUF.FLOAT32);
      sink.u64(value.v.length);
      for (const n of value.v) sink.f32(n);
      return;
    case 'i32[]':
      sink.u32(GGUF.ARRAY);
      sink.u32(GGUF.INT32);
      sink.u64(value.v.length);
      for (const n of value.v) sink.i32(n);
      return;
  }
}

/** A normal-ish variate (sum of 4 uniforms, centred, unit variance) scaled by `std`. */
function randomTensor(rand: () => number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const s = rand() + rand() + rand() + rand() - 2;
    out[i] = s * Math.sqrt(3) * std;
  }
  return out;
}

export interface WrittenModel {
  path: string;
  bytes: number;
  vocabulary: Vocabulary;
  embeddingLength: number;
  blockCount: number;
  contextLength: number;
}

/** Writes the random llama model to `path` (atomically: a temporary file renamed into place). */
export function writeRandomLlamaGguf(path: string, opts: RandomLlamaOptions = {}): WrittenModel {
  const nEmbd = opts.embeddingLength ?? 64;
  const nLayer = opts.blockCount ?? 2;
  const nHead = opts.headCount ?? 4;
  const nHeadKv = opts.headCountKv ?? 2;
  const nFf = opts.feedForwardLength ?? 128;
  const nCtx = opts.contextLength ?? 4096;
  if (nEmbd % nHead !== 0 || nHead % nHeadKv !== 0) {
    throw new Error('embeddingLength must be a multiple of headCount, and headCount of headCountKv');
  }
  const headDim = nEmbd / nHead;
  const nEmbdKv = headDim * nHeadKv;
  const vocab = randomModelVocabulary();
  const nVocab = vocab.tokens.length;
  const rand = mulberry32(opts.seed ?? 1);

  const meta: [string, MetaValue][] = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: opts.name ?? 'random-llama' }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: nCtx }],
    ['llama.embedding_length', { t: 'u32', v: nEmbd }],
    ['llama.block_count', { t: 'u32', v: nLayer }],
    ['llama.feed_forward_length', { t: 'u32', v: nFf }],
    ['llama.attention.head_count', { t: 'u32', v: nHead }],
    ['llama.attention.head_count_kv', { t: 'u32', v: nHeadKv }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['llama.rope.dimension_count', { t: 'u32', v: headDim }],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['llama.vocab_size', { t: 'u32', v: nVocab }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'str[]', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32[]', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32[]', v: vocab.types }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: vocab.bos }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: vocab.eos }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: vocab.unk }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
    ['tokenizer.chat_template', { t: 'str', v: opts.chatTemplate ?? CHATML_TEMPLATE }],
  ];

  // ggml dims: ne0 is the input (row) length. Embeddings are larger than projections so logits spread.
  const tensors: [string, number[], number][] = [['token_embd.weight', [nEmbd, nVocab], 1]];
  for (let l = 0; l < nLayer; l++) {
    const proj = 1 / Math.sqrt(nEmbd);
    tensors.push(
      [`blk.${l}.attn_norm.weight`, [nEmbd], -1],
      [`blk.${l}.attn_q.weight`, [nEmbd, nEmbd], proj],
      [`blk.${l}.attn_k.weight`, [nEmbd, nEmbdKv], proj],
      [`blk.${l}.attn_v.weight`, [nEmbd, nEmbdKv], proj],
      [`blk.${l}.attn_output.weight`, [nEmbd, nEmbd], proj],
      [`blk.${l}.ffn_norm.weight`, [nEmbd], -1],
      [`blk.${l}.ffn_gate.weight`, [nEmbd, nFf], proj],
      [`blk.${l}.ffn_up.weight`, [nEmbd, nFf], proj],
      [`blk.${l}.ffn_down.weight`, [nFf, nEmbd], 1 / Math.sqrt(nFf)],
    );
  }
  tensors.push(['output_norm.weight', [nEmbd], -1], ['output.weight', [nEmbd, nVocab], 0.5]);

  const head = new ByteSink();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(meta.length);
  for (const [k, v] of meta) writeMeta(head, k, v);

  const data: Buffer[] = [];
  let offset = 0;
  for (const [name, dims, std] of tensors) {
    const count = dims.reduce((a, b) => a * b, 1);
    // std < 0: a norm's weight, ones with a little noise
    const values =
      std < 0 ? randomTensor(rand, count, 0.05).map((x) => 1 + x) : randomTensor(rand, count, std);
    head.str(name);
    head.u32(dims.length);
    for (const d of dims) head.u64(d);
    head.u32(GGML_TYPE_F32);
    head.u64(offset);
    const buf = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    data.push(buf);
    const padded = Math.ceil(buf.length / ALIGNMENT) * ALIGNMENT;
    if (padded > buf.length) data.push(Buffer.alloc(padded - buf.length));
    offset += padded;
  }
  head.pad(ALIGNMENT);

  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let bytes = 0;
  try {
    for (const b of [head.concat(), ...data]) bytes += writeSync(fd, b);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return { path, bytes, vocabulary: vocab, embeddingLength: nEmbd, blockCount: nLayer, contextLength: nCtx };
}
