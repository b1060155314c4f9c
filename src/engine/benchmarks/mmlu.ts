import { NelError } from '../../common/errors.js';
import { defineMultipleChoiceBenchmark, type MultipleChoiceItem } from './multiple-choice.js';
import type { BenchmarkSample } from './types.js';

function layoutError(name: string, sample: BenchmarkSample, what: string): NelError {
  return new NelError('ENGINE_DATASET', `${name}: record ${sample.index} ${what}`, {
    hint: 'expected the cais/mmlu layout: {question, subject, choices: [4 strings], answer: 0-3}',
  });
}

/** cais/mmlu record -> question. `answer` may be an int or a letter. */
export function mmluItem(sample: BenchmarkSample): MultipleChoiceItem {
  const d = sample.data;
  if (typeof d.question !== 'string') throw layoutError('mmlu', sample, 'has no "question" text');
  if (!Array.isArray(d.choices) || d.choices.length < 2)
    throw layoutError('mmlu', sample, 'has no "choices" list');
  const options = d.choices.map((c) => String(c));
  const goldIndex =
    typeof d.answer === 'string' && /^[A-J]$/.test(d.answer) ? d.answer.charCodeAt(0) - 65 : Number(d.answer);
  if (!Number.isInteger(goldIndex) || goldIndex < 0 || goldIndex >= options.length) {
    throw layoutError('mmlu', sample, `has an invalid "answer" (${String(d.answer)})`);
  }
  return {
    question: d.question,
    options,
    goldIndex,
    category: typeof d.subject === 'string' ? d.subject : undefined,
  };
}

export const mmlu = defineMultipleChoiceBenchmark({
  name: 'mmlu',
  mirrors: ['simple_evals.mmlu'],
  description:
    'MMLU, 57 subjects, 4 options (cais/mmlu all/test, 14,042 items); simple-evals prompt, Answer: X extraction',
  source: { repo: 'cais/mmlu', config: 'all', split: 'test', localFileNames: ['test.jsonl', 'mmlu.jsonl'] },
  categories: 'subject',
  toItem: mmluItem,
});
