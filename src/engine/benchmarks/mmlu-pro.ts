import { NelError } from '../../common/errors.js';
import { defineMultipleChoiceBenchmark, type MultipleChoiceItem } from './multiple-choice.js';
import type { BenchmarkSample } from './types.js';

/** TIGER-Lab/MMLU-Pro record -> question (options up to 10; "N/A" padding dropped). */
export function mmluProItem(sample: BenchmarkSample): MultipleChoiceItem {
  const d = sample.data;
  const fail = (what: string) =>
    new NelError('ENGINE_DATASET', `mmlu_pro: record ${sample.index} ${what}`, {
      hint: 'expected the TIGER-Lab/MMLU-Pro layout: {question_id, question, options: [..10], answer: letter, answer_index, category}',
    });
  if (typeof d.question !== 'string') throw fail('has no "question" text');
  if (!Array.isArray(d.options) || d.options.length < 2) throw fail('has no "options" list');
  const all = d.options.map((o) => String(o));
  let goldIndex = Number(d.answer_index);
  if (!Number.isInteger(goldIndex) && typeof d.answer === 'string')
    goldIndex = d.answer.trim().charCodeAt(0) - 65;
  if (!Number.isInteger(goldIndex) || goldIndex < 0 || goldIndex >= all.length)
    throw fail('has an invalid answer');
  const keep = all.map((o, i) => i === goldIndex || o.trim() !== 'N/A');
  const options = all.filter((_o, i) => keep[i]);
  goldIndex = keep.slice(0, goldIndex).filter(Boolean).length;
  return {
    question: d.question,
    options,
    goldIndex,
    category: typeof d.category === 'string' ? d.category : undefined,
  };
}

export const mmluPro = defineMultipleChoiceBenchmark({
  name: 'mmlu_pro',
  mirrors: ['simple_evals.mmlu_pro'],
  description:
    'MMLU-Pro, up to 10 options (TIGER-Lab/MMLU-Pro test, 12,032 items); simple-evals style prompt and extraction',
  source: { repo: 'TIGER-Lab/MMLU-Pro', split: 'test', localFileNames: ['test.jsonl', 'mmlu_pro.jsonl'] },
  idOf: (r, i) => (r.question_id !== undefined && r.question_id !== null ? String(r.question_id) : String(i)),
  categories: 'category',
  toItem: mmluProItem,
});
