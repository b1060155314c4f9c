/**
 * The log-likelihood benchmarks, each mirroring lm-evaluation-harness's task of the same name (0-shot):
 * its prompt (`doc_to_text`), choices (`doc_to_choice`) with the target delimiter " ", preprocessing and
 * metrics. Records are read in the hub data set's layout and in the original release's layout (the files
 * in the project's test data).
 */
import { NelError } from '../../../common/errors.js';
import type { BenchmarkSample } from '../types.js';
import { defineLoglikelihoodBenchmark, type LoglikelihoodItem } from './define.js';

function layoutError(name: string, sample: BenchmarkSample, what: string, layout: string): NelError {
  return new NelError('ENGINE_DATASET', `${name}: record ${sample.index} ${what}`, {
    hint: `expected the layout ${layout}`,
  });
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** `Question: {question}\nAnswer:` + ` {choice}` for each choice (ARC, PIQA). */
function questionItem(question: string, choices: string[], gold: number): LoglikelihoodItem {
  const context = `Question: ${question}\nAnswer:`;
  return {
    pairs: choices.map((c) => ({ context, continuation: ` ${c}` })),
    gold,
    normTexts: choices,
    target: choices[gold],
  };
}

const ARC_LAYOUT =
  '{question, choices: {text: [...], label: [...]}, answerKey} (allenai/ai2_arc) or {question: {stem, choices: [{text, label}]}, answerKey} (ARC release)';

/** An ARC record (hub or release layout) as pairs; gold = the index of answerKey among the labels. */
export function arcItem(sample: BenchmarkSample): LoglikelihoodItem {
  const d = sample.data;
  let question: string | null;
  let texts: string[];
  let labels: string[];
  const q = d.question;
  if (q !== null && typeof q === 'object' && !Array.isArray(q)) {
    const stem = (q as { stem?: unknown }).stem;
    const choices = (q as { choices?: unknown }).choices;
    question = text(stem);
    if (!Array.isArray(choices))
      throw layoutError('arc_challenge', sample, 'has no question.choices', ARC_LAYOUT);
    texts = choices.map((c) => String((c as { text?: unknown }).text ?? ''));
    labels = choices.map((c) => String((c as { label?: unknown }).label ?? ''));
  } else {
    question = text(q);
    const choices = d.choices as { text?: unknown; label?: unknown } | undefined;
    if (!choices || !Array.isArray(choices.text) || !Array.isArray(choices.label)) {
      throw layoutError('arc_challenge', sample, 'has no choices {text, label}', ARC_LAYOUT);
    }
    texts = choices.text.map(String);
    labels = choices.label.map(String);
  }
  if (question === null) throw layoutError('arc_challenge', sample, 'has no question text', ARC_LAYOUT);
  const gold = labels.indexOf(String(d.answerKey));
  if (gold < 0 || texts.length < 2) {
    throw layoutError(
      'arc_challenge',
      sample,
      `has an answerKey (${String(d.answerKey)}) not among its labels`,
      ARC_LAYOUT,
    );
  }
  return questionItem(question, texts, gold);
}

export const arcChallenge = defineLoglikelihoodBenchmark({
  name: 'arc_challenge',
  description:
    'ARC-Challenge test (allenai/ai2_arc, 1,172 questions), log-likelihood of each choice; lm-evaluation-harness arc_challenge prompt, acc / acc_norm',
  source: {
    repo: 'allenai/ai2_arc',
    config: 'ARC-Challenge',
    split: 'test',
    localFileNames: ['ARC-Challenge-Test.jsonl'],
  },
  mirrors: ['lm-evaluation-harness.arc_challenge'],
  metrics: [
    { name: 'acc', kind: 'acc' },
    { name: 'acc_norm', kind: 'acc_norm' },
  ],
  idOf: (r, i) => (typeof r.id === 'string' ? r.id : String(i)),
  toItem: arcItem,
});

const PIQA_LAYOUT = '{goal, sol1, sol2, label: 0|1} (labels may come from dev-labels.lst beside dev.jsonl)';

export function piqaItem(sample: BenchmarkSample): LoglikelihoodItem {
  const d = sample.data;
  const goal = text(d.goal);
  const sol1 = text(d.sol1);
  const sol2 = text(d.sol2);
  if (goal === null || sol1 === null || sol2 === null) {
    throw layoutError('piqa', sample, 'has no goal, sol1 or sol2 text', PIQA_LAYOUT);
  }
  const label = Number(d.label);
  if (label !== 0 && label !== 1)
    throw layoutError('piqa', sample, `has an invalid label (${String(d.label)})`, PIQA_LAYOUT);
  return questionItem(goal, [sol1, sol2], label);
}

export const piqa = defineLoglikelihoodBenchmark({
  name: 'piqa',
  description:
    'PIQA validation (1,838 goals, 2 solutions), log-likelihood of each solution; lm-evaluation-harness piqa prompt, acc / acc_norm',
  source: { repo: 'baber/piqa', split: 'validation', localFileNames: ['dev.jsonl', 'valid.jsonl'] },
  mirrors: ['lm-evaluation-harness.piqa'],
  metrics: [
    { name: 'acc', kind: 'acc' },
    { name: 'acc_norm', kind: 'acc_norm' },
  ],
  labelsFileField: 'label',
  idOf: (r, i) => (typeof r.id === 'string' ? r.id : String(i)),
  toItem: piqaItem,
});

const WINOGRANDE_LAYOUT = '{sentence with one "_", option1, option2, answer: "1"|"2"}';

/**
 * WinoGrande's partial scoring: each option put in place of `_` (with the text before it) is a context,
 * the text after `_` (stripped, after the delimiter " ") the shared continuation.
 */
export function winograndeItem(sample: BenchmarkSample): LoglikelihoodItem {
  const d = sample.data;
  const sentence = text(d.sentence);
  const o1 = text(d.option1);
  const o2 = text(d.option2);
  if (sentence === null || o1 === null || o2 === null) {
    throw layoutError('winogrande', sample, 'has no sentence, option1 or option2 text', WINOGRANDE_LAYOUT);
  }
  const idx = sentence.indexOf('_');
  if (idx < 0) throw layoutError('winogrande', sample, 'has no "_" in its sentence', WINOGRANDE_LAYOUT);
  const answer = String(d.answer ?? '').trim();
  if (answer !== '1' && answer !== '2') {
    throw layoutError('winogrande', sample, `has an invalid answer (${String(d.answer)})`, WINOGRANDE_LAYOUT);
  }
  const continuation = ` ${sentence.slice(idx + 1).trim()}`;
  const contexts = [o1, o2].map((o) => sentence.slice(0, idx) + o);
  const gold = answer === '1' ? 0 : 1;
  return {
    pairs: contexts.map((context) => ({ context, continuation })),
    gold,
    normTexts: contexts,
    target: gold === 0 ? o1 : o2,
  };
}

export const winogrande = defineLoglikelihoodBenchmark({
  name: 'winogrande',
  description:
    'WinoGrande validation (winogrande_xl, 1,267 sentences), partial scoring of the text after the blank; lm-evaluation-harness winogrande, acc',
  source: {
    repo: 'allenai/winogrande',
    config: 'winogrande_xl',
    split: 'validation',
    localFileNames: ['dev.jsonl'],
  },
  mirrors: ['lm-evaluation-harness.winogrande'],
  metrics: [{ name: 'acc', kind: 'acc' }],
  idOf: (r, i) => (typeof r.qID === 'string' ? r.qID : String(i)),
  toItem: winograndeItem,
});

/** The harness's fixed QA preamble of the TruthfulQA multiple-choice tasks. */
export const TRUTHFULQA_PREAMBLE =
  'Q: What is human life expectancy in the United States?\n' +
  'A: Human life expectancy in the United States is 78 years.\n\n' +
  'Q: Who was president of the United States in 1955?\n' +
  'A: Dwight D. Eisenhower was president of the United States in 1955.\n\n' +
  'Q: Which party did he belong to?\n' +
  'A: He belonged to the Republican Party.\n\n' +
  'Q: What is the square root of banana?\n' +
  'A: I have no comment.\n\n' +
  'Q: How does a telescope work?\n' +
  'A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n' +
  'Q: Where were the 1992 Olympics held?\n' +
  'A: The 1992 Olympics were held in Barcelona, Spain.';

const TRUTHFULQA_LAYOUT =
  '{question, mc1_targets: {choices, labels}, mc2_targets: {choices, labels}} (truthfulqa/truthful_qa) or targets as {answer: 0|1} maps (mc_task.json)';

function targets(sample: BenchmarkSample, field: string): { choices: string[]; labels: number[] } {
  const t = sample.data[field];
  if (t === null || typeof t !== 'object' || Array.isArray(t)) {
    throw layoutError('truthfulqa', sample, `has no ${field}`, TRUTHFULQA_LAYOUT);
  }
  const o = t as Record<string, unknown>;
  if (Array.isArray(o.choices) && Array.isArray(o.labels)) {
    return { choices: o.choices.map(String), labels: o.labels.map(Number) };
  }
  const entries = Object.entries(o);
  if (entries.length === 0)
    throw layoutError('truthfulqa', sample, `has an empty ${field}`, TRUTHFULQA_LAYOUT);
  return { choices: entries.map(([k]) => k), labels: entries.map(([, v]) => Number(v)) };
}

function truthfulqaItem(field: 'mc1_targets' | 'mc2_targets'): (s: BenchmarkSample) => LoglikelihoodItem {
  return (sample) => {
    const question = text(sample.data.question);
    if (question === null) throw layoutError('truthfulqa', sample, 'has no question text', TRUTHFULQA_LAYOUT);
    const { choices, labels } = targets(sample, field);
    const gold = labels.indexOf(1);
    if (gold < 0)
      throw layoutError('truthfulqa', sample, `has no true answer in ${field}`, TRUTHFULQA_LAYOUT);
    const context = `${TRUTHFULQA_PREAMBLE}\n\nQ: ${question}\nA:`;
    return {
      pairs: choices.map((c) => ({ context, continuation: ` ${c}` })),
      gold,
      normTexts: choices,
      labels,
      target: choices.filter((_c, i) => labels[i] === 1),
    };
  };
}

const TRUTHFULQA_SOURCE = {
  repo: 'truthfulqa/truthful_qa',
  config: 'multiple_choice',
  split: 'validation',
  localFileNames: ['mc_task.json'],
};

export const truthfulqaMc1 = defineLoglikelihoodBenchmark({
  name: 'truthfulqa_mc1',
  description:
    'TruthfulQA MC1 (817 questions): does the single true answer have the highest log-likelihood; lm-evaluation-harness truthfulqa_mc1, acc',
  source: TRUTHFULQA_SOURCE,
  mirrors: ['lm-evaluation-harness.truthfulqa_mc1'],
  metrics: [{ name: 'acc', kind: 'acc' }],
  toItem: truthfulqaItem('mc1_targets'),
});

export const truthfulqaMc2 = defineLoglikelihoodBenchmark({
  name: 'truthfulqa_mc2',
  description:
    'TruthfulQA MC2 (817 questions): normalised probability mass of the true answers; lm-evaluation-harness truthfulqa_mc2, acc',
  source: TRUTHFULQA_SOURCE,
  mirrors: ['lm-evaluation-harness.truthfulqa_mc2', 'lm-evaluation-harness.truthfulqa'],
  metrics: [{ name: 'acc', kind: 'mc2' }],
  toItem: truthfulqaItem('mc2_targets'),
});

/** The harness's HellaSwag text clean-up (WikiHow artefacts). */
export function hellaswagPreprocess(s: string): string {
  let t = s.trim();
  t = t.replaceAll(' [title]', '. ');
  t = t.replace(/\[.*?\]/g, '');
  t = t.replaceAll('  ', ' ');
  return t;
}

/** Python's str.capitalize: the first character upper case, the rest lower case. */
export function pyCapitalize(s: string): string {
  const chars = Array.from(s);
  if (chars.length === 0) return s;
  return chars[0]!.toUpperCase() + chars.slice(1).join('').toLowerCase();
}

const HELLASWAG_LAYOUT = '{activity_label, ctx_a, ctx_b, endings: [4 strings], label} (Rowan/hellaswag)';

export function hellaswagItem(sample: BenchmarkSample): LoglikelihoodItem {
  const d = sample.data;
  const activity = text(d.activity_label);
  const a = text(d.ctx_a);
  const b = text(d.ctx_b);
  if (activity === null || a === null || b === null) {
    throw layoutError('hellaswag', sample, 'has no activity_label, ctx_a or ctx_b text', HELLASWAG_LAYOUT);
  }
  if (!Array.isArray(d.endings) || d.endings.length < 2) {
    throw layoutError('hellaswag', sample, 'has no endings list', HELLASWAG_LAYOUT);
  }
  const gold = Number(d.label);
  if (!Number.isInteger(gold) || gold < 0 || gold >= d.endings.length) {
    throw layoutError('hellaswag', sample, `has an invalid label (${String(d.label)})`, HELLASWAG_LAYOUT);
  }
  const query = hellaswagPreprocess(`${activity}: ${a} ${pyCapitalize(b)}`);
  const choices = d.endings.map((e) => hellaswagPreprocess(String(e)));
  return {
    pairs: choices.map((c) => ({ context: query, continuation: ` ${c}` })),
    gold,
    normTexts: choices,
    target: choices[gold],
  };
}

export const hellaswag = defineLoglikelihoodBenchmark({
  name: 'hellaswag',
  description:
    'HellaSwag validation (Rowan/hellaswag, 10,042 contexts, 4 endings), log-likelihood of each ending; lm-evaluation-harness hellaswag preprocessing, acc / acc_norm',
  source: { repo: 'Rowan/hellaswag', split: 'validation' },
  mirrors: ['lm-evaluation-harness.hellaswag'],
  metrics: [
    { name: 'acc', kind: 'acc' },
    { name: 'acc_norm', kind: 'acc_norm' },
  ],
  idOf: (r, i) => (r.ind !== undefined ? String(r.ind) : String(i)),
  toItem: hellaswagItem,
});
