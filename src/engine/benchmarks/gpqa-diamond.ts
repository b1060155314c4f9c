import { createHash } from 'node:crypto';
import { NelError } from '../../common/errors.js';
import { mulberry32 } from './common.js';
import { defineMultipleChoiceBenchmark, type MultipleChoiceItem } from './multiple-choice.js';
import type { BenchmarkSample } from './types.js';

const FIELDS = [
  'Question',
  'Correct Answer',
  'Incorrect Answer 1',
  'Incorrect Answer 2',
  'Incorrect Answer 3',
];

/** A record's stable id: `Record ID` when present, else its index. */
export function gpqaRecordId(record: Record<string, unknown>, index: number): string {
  const id = record['Record ID'];
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : String(index);
}

/** Deterministic permutation of 4 options, seeded by the record id. */
export function gpqaPermutation(recordId: string): number[] {
  const seed = createHash('sha256').update(recordId).digest().readUInt32BE(0);
  const random = mulberry32(seed);
  const order = [0, 1, 2, 3];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Idavidrein/gpqa record -> question; the correct answer's position is shuffled per record id. */
export function gpqaItem(sample: BenchmarkSample): MultipleChoiceItem {
  const d = sample.data;
  for (const f of FIELDS) {
    if (typeof d[f] !== 'string' || (d[f] as string).trim() === '') {
      throw new NelError('ENGINE_DATASET', `gpqa_diamond: record ${sample.index} has no "${f}"`, {
        hint: `expected the Idavidrein/gpqa layout with columns ${FIELDS.join(', ')}`,
      });
    }
  }
  const answers = FIELDS.slice(1).map((f) => (d[f] as string).trim()); // index 0 = correct
  const order = gpqaPermutation(sample.id);
  return {
    question: (d.Question as string).trim(),
    options: order.map((i) => answers[i]),
    goldIndex: order.indexOf(0),
    category: typeof d['High-level domain'] === 'string' ? (d['High-level domain'] as string) : undefined,
  };
}

export const gpqaDiamond = defineMultipleChoiceBenchmark({
  name: 'gpqa_diamond',
  mirrors: ['simple_evals.gpqa_diamond'],
  description:
    'GPQA diamond, 198 graduate-level science questions (Idavidrein/gpqa, gated: set HF_TOKEN); 4 shuffled options',
  source: {
    repo: 'Idavidrein/gpqa',
    config: 'gpqa_diamond',
    split: 'train',
    gated: true,
    localFileNames: ['gpqa_diamond.csv', 'gpqa_diamond.jsonl'],
  },
  idOf: gpqaRecordId,
  categories: 'domain',
  toItem: gpqaItem,
});
