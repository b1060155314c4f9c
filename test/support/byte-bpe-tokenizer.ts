/** A small byte-level BPE tokenizer.json (every byte a token, a few merges), written by tests. */

/** GPT-2's byte -> printable character table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i]!)));
  return out;
}

/** Merges (in rank order) over the byte characters; `Ġ` is the space. */
export const BPE_MERGES = ['Ġ t', 'h e', 'Ġt he', 'A n', 'An s', 'Ġ a', 'i n', 'e s'];

export function byteBpeTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const c of bytesToUnicode()) vocab[c] = Object.keys(vocab).length;
  for (const m of BPE_MERGES) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: BPE_MERGES,
    },
  };
}
