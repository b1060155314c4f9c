import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NelError } from '../../../common/errors.js';
import {
  INSTRUCTION_IDS,
  buildChecker,
  checkLoose,
  checkStrict,
  looseVariants,
  type CheckEnv,
} from './instructions.js';

/** A language "detector" for constructed cases: a fixed answer per text prefix, null for no features. */
function fakeEnv(map: Record<string, string | null>): CheckEnv {
  return {
    detectLanguage(text) {
      for (const [prefix, lang] of Object.entries(map)) if (text.startsWith(prefix)) return lang;
      return 'en';
    },
  };
}
const EN = fakeEnv({});

/** [instruction id, kwargs, a response that follows it, one that does not] for every instruction type. */
const CASES: [string, Record<string, unknown>, string, string][] = [
  ['keywords:existence', { keywords: ['apple', 'pie'] }, 'An APPLE pie.', 'An apple tart.'],
  [
    'keywords:frequency',
    { keyword: ' cat ', frequency: 3, relation: 'at least' },
    'cat Cat CAT',
    'cat cat dog',
  ],
  ['keywords:frequency', { keyword: 'cat', frequency: 2, relation: 'less than' }, 'one cat', 'cat and cat'],
  [
    'keywords:forbidden_words',
    { forbidden_words: ['bad', 'evil'] },
    'a badge is fine', // \b: "bad" inside a word is allowed
    'that is Bad.',
  ],
  ['keywords:letter_frequency', { letter: 'Z', let_frequency: 3, let_relation: 'at least' }, 'zzz', 'zz'],
  [
    'keywords:letter_frequency',
    { letter: '#', let_frequency: 2, let_relation: 'at least' },
    '#a #b',
    '#a only',
  ],
  ['language:response_language', { language: 'fr' }, 'Bonjour tout le monde', 'Hello world'],
  [
    'length_constraints:number_sentences',
    { num_sentences: 3, relation: 'at least' },
    'One. Two! Three?',
    'Dr. Smith went to Washington. He stayed.',
  ],
  [
    'length_constraints:number_sentences',
    { num_sentences: 2, relation: 'less than' },
    'The U.S. economy grew by 3.5 percent.',
    'It grew. It fell.',
  ],
  ['length_constraints:number_paragraphs', { num_paragraphs: 2 }, 'a\n***\nb', 'a\n***\n\n***\nb'],
  ['length_constraints:number_words', { num_words: 3, relation: 'at least' }, "it's fine", 'one two'],
  ['length_constraints:number_words', { num_words: 3, relation: 'less than' }, 'one two', 'one two three'],
  [
    'length_constraints:nth_paragraph_first_word',
    { num_paragraphs: 2, nth_paragraph: 2, first_word: 'Then' },
    'First part.\n\n"Then, more.',
    'First part.\n\nNow more.',
  ],
  ['detectable_content:number_placeholders', { num_placeholders: 2 }, '[name] and [address]', '[name] only'],
  ['detectable_content:postscript', { postscript_marker: 'P.S.' }, 'Hi.\nP.S. bye', 'Hi. PS bye'],
  ['detectable_content:postscript', { postscript_marker: 'P.P.S' }, 'Hi.\np. p. s bye', 'Hi.\nP.S. bye'],
  ['detectable_format:number_bullet_lists', { num_bullets: 2 }, '* one\n- two', '* one\n* two\n* three'],
  ['detectable_format:constrained_response', {}, 'My answer is no.', 'My answer is nope.'],
  [
    'detectable_format:number_highlighted_sections',
    { num_highlights: 2 },
    '*one* and **two**',
    '*one* and ** **',
  ],
  [
    'detectable_format:multiple_sections',
    { section_spliter: 'SECTION', num_sections: 2 },
    'SECTION 1\na\nSECTION 2\nb',
    'SECTION 1\na\nSection 2\nb',
  ],
  ['detectable_format:json_format', {}, '```json\n{"a": NaN}\n```', '{"a": 1'],
  ['detectable_format:title', {}, '<<My Title>>\ntext', '<< >>\ntext'],
  ['combination:two_responses', {}, 'one\n******\ntwo', 'one\n******\none'],
  ['combination:repeat_prompt', { prompt_to_repeat: 'Say hi. ' }, '  say HI. Hi!', 'Hi! Say hi.'],
  [
    'startend:end_checker',
    { end_phrase: 'Any other questions?' },
    'Done. any other questions?"',
    'Any other questions? Yes',
  ],
  [
    'change_case:capital_word_frequency',
    { capital_frequency: 3, capital_relation: 'at least' },
    "I DON'T know", // I, DO, N'T: the contraction is two words
    'I know NASA',
  ],
  [
    'change_case:capital_word_frequency',
    { capital_frequency: 2, capital_relation: 'less than' },
    'One NASA probe',
    'NASA and ESA',
  ],
  ['change_case:english_capital', {}, 'HELLO THERE 123', 'HELLO There'],
  ['change_case:english_lowercase', {}, 'hello there 123', 'hello There'],
  ['punctuation:no_comma', {}, 'no commas here', 'one, two'],
  ['startend:quotation', {}, ' "quoted" ', '"open'],
];

test('every IFEval instruction type has a checker and a passing and a failing constructed case', () => {
  assert.equal(INSTRUCTION_IDS.length, 25);
  const covered = new Set(CASES.map((c) => c[0]));
  assert.deepEqual(
    [...INSTRUCTION_IDS].filter((id) => !covered.has(id)),
    [],
  );
  const env = fakeEnv({ Bonjour: 'fr', Hello: 'en' });
  for (const [id, kwargs, pass, fail] of CASES) {
    const check = buildChecker(id, kwargs, 'test');
    assert.equal(
      check(pass, env),
      true,
      `${id} ${JSON.stringify(kwargs)} should pass: ${JSON.stringify(pass)}`,
    );
    assert.equal(
      check(fail, env),
      false,
      `${id} ${JSON.stringify(kwargs)} should fail: ${JSON.stringify(fail)}`,
    );
  }
});

test('langdetect finding no features counts as following, as in the reference', () => {
  const env = fakeEnv({ '123': null });
  assert.equal(buildChecker('language:response_language', { language: 'de' }, 't')('123 456', env), true);
  assert.equal(buildChecker('change_case:english_capital', {}, 't')('123 456', env), false); // not isupper
  assert.equal(buildChecker('change_case:english_capital', {}, 't')('123 A', fakeEnv({ '123': null })), true);
  assert.equal(
    buildChecker('change_case:english_lowercase', {}, 't')('hallo welt', fakeEnv({ h: 'de' })),
    false,
  );
});

test('keywords are Python regular expressions with Unicode word boundaries', () => {
  const forbidden = buildChecker('keywords:forbidden_words', { forbidden_words: ['café'] }, 't');
  assert.equal(forbidden('un cafés', EN), true);
  assert.equal(forbidden('un café.', EN), false);
  const exists = buildChecker('keywords:existence', { keywords: ['colou?r'] }, 't');
  assert.equal(exists('what color', EN), true);
});

test('null kwargs (the hub layout) are dropped; missing or malformed ones are one-line data errors', () => {
  const check = buildChecker(
    'length_constraints:number_words',
    { num_words: 2, relation: 'at least', keyword: null, num_sentences: null },
    't',
  );
  assert.equal(check('two words', EN), true);
  const bad: [string, unknown][] = [
    ['length_constraints:number_words', { num_words: null, relation: 'at least' }],
    ['length_constraints:number_words', { num_words: 3, relation: 'at most' }],
    ['keywords:existence', { keywords: [] }],
    ['combination:repeat_prompt', {}],
    ['length_constraints:nth_paragraph_first_word', { num_paragraphs: 2, nth_paragraph: 3, first_word: 'a' }],
    ['no_such:instruction', {}],
    ['punctuation:no_comma', [1]],
  ];
  for (const [id, kwargs] of bad) {
    assert.throws(
      () => buildChecker(id, kwargs, 'record 7'),
      (e: unknown) => e instanceof NelError && e.message.includes('record 7') && !e.message.includes('\n'),
      id,
    );
  }
});

test('an empty response follows nothing; loose tries the reference variants', () => {
  const noComma = buildChecker('punctuation:no_comma', {}, 't');
  assert.deepEqual(checkStrict([noComma], '  \n', EN), [false]);
  assert.deepEqual(checkLoose([noComma], '', EN), [false]);
  assert.deepEqual(looseVariants('Sure, here:\n*body*\nBye'), [
    'Sure, here:\n*body*\nBye',
    'Sure, here:\nbody\nBye',
    '*body*\nBye',
    'Sure, here:\n*body*',
    '*body*',
    'body\nBye',
    'Sure, here:\nbody',
    'body',
  ]);
  // A preamble line breaks the strict check only.
  const quoted = buildChecker('startend:quotation', {}, 't');
  const reply = 'Here it is:\n"All wrapped."';
  assert.deepEqual(checkStrict([quoted, noComma], reply, EN), [false, true]);
  assert.deepEqual(checkLoose([quoted, noComma], reply, EN), [true, true]);
  // Markdown bold around the whole reply breaks the quotation check strictly; without `*` it passes.
  assert.deepEqual(checkStrict([quoted], '**"bold"**', EN), [false]);
  assert.deepEqual(checkLoose([quoted], '**"bold"**', EN), [true]);
});
