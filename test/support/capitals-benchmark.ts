/**
 * A small benchmark added the way any benchmark is: this one file, plus one registerBenchmark() line (here
 * in the test that uses it, so that it exists only there). Written as data: no code of its own.
 */
import { defineDataBenchmark } from '../../src/engine/benchmarks/index.js';

export const capitals = defineDataBenchmark({
  name: 'capitals_test',
  description: 'Capital cities (a test benchmark written as data)',
  endpoint_types: ['chat', 'completions'],
  dataset: { repo: 'test/capitals', split: 'test', localFileNames: ['capitals.jsonl'] },
  options: {
    prompt_template: "What is the capital of {country}? End with 'Answer: <city>'.",
    target_field: 'capital',
    scorer: 'exact_match',
    extractor: 'regex',
    answer_regex: 'Answer:\\s*(.+)',
  },
});
