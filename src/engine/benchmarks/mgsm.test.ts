import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isNelError } from '../../common/errors.js';
import { selectDataFiles } from '../datasets/select-files.js';
import {
  MGSM_ANSWER_PREFIXES,
  MGSM_INSTRUCTIONS,
  MGSM_LANGUAGES,
  languageOfFile,
  mgsm,
  mgsmFilesByLanguage,
  mgsmPrompt,
  parseLanguages,
  parseMgsmAnswer,
  scoreMgsm,
} from './mgsm.js';

// SHA-256 (first 16 hex digits) of each instruction in simple-evals mgsm_eval.py (commit ee3b031), the
// text before "\n\n{input}": the prompt must reproduce the reference byte for byte.
const REFERENCE_INSTRUCTION_SHA256: Record<string, string> = {
  bn: '907943fa82f8e6b7',
  de: '03ae3423ac0e2c45',
  en: 'f7a3948a795e21ee',
  es: 'f59a45e91a5b98a8',
  fr: 'bcf0d34ba7d164d8',
  ja: '457d3ff3d34872c4',
  ru: '2b83b6702fcddf7e',
  sw: 'a29f433e4b2801e2',
  te: 'e65f0a21115f2fcc',
  th: 'ed7e57beb0016e35',
  zh: 'a836e88c9dc1bb88',
};

test('the instructions of all 11 languages are the reference texts, each naming its answer prefix', () => {
  assert.deepEqual([...MGSM_LANGUAGES], Object.keys(REFERENCE_INSTRUCTION_SHA256));
  for (const lang of MGSM_LANGUAGES) {
    const sha = createHash('sha256').update(MGSM_INSTRUCTIONS[lang], 'utf8').digest('hex').slice(0, 16);
    assert.equal(sha, REFERENCE_INSTRUCTION_SHA256[lang], lang);
    assert.ok(MGSM_INSTRUCTIONS[lang].includes(`${MGSM_ANSWER_PREFIXES[lang]}:`), lang);
    assert.equal(mgsmPrompt(lang, 'Q 1?'), `${MGSM_INSTRUCTIONS[lang]}\n\nQ 1?`);
  }
  // replacement patterns in a question stay as they are
  assert.ok(mgsmPrompt('en', "costs $2 and $$ and $& and $'").endsWith("costs $2 and $$ and $& and $'"));
});

test('every language: the last number after the last answer prefix, commas dropped, compared as text', () => {
  for (const lang of MGSM_LANGUAGES) {
    const p = MGSM_ANSWER_PREFIXES[lang];
    const cases: [reply: string, extracted: string, gold: string, correct: boolean][] = [
      [`3 + 4 = 7\n${p}: 1,000`, '1000', '1000', true],
      [`${p}: 1000`, '1000', '1,000', true],
      [`${p}: 3.5`, '3.5', '3', false],
      [`${p}: 3.5`, '3.5', '4', false],
      [`${p}: 18.00`, '18.00', '18', true],
      [`${p}: 18.`, '18', '18', true],
      [`${p}: $18.`, '18', '18', true],
      // "1.000" is one thousand in German, but the reference reads it as 1
      [`${p}: 1.000`, '1.000', '1000', false],
      [`${p}: 1.000`, '1.000', '1', true],
      [`${p}: 3,5`, '35', '35', true],
      [`${p}: -5`, '5', '5', true],
      [`${p}: 018`, '018', '18', false],
      [`18 is my answer`, '', '18', false],
      [`${p}:`, '', '18', false],
      [`7 apples\n${p}: 12`, '12', '12', true],
      [`${p}: 5\nwait\n${p}: 6`, '6', '6', true],
      [`${p}: 12, i.e. 3 x 4`, '4', '12', false],
      [`**${p}:** 42`, '42', '42', true],
      // Unicode digits are numbers to the reference's \d, but not the gold's ASCII digits
      [`${p}: ১৮`, '১৮', '18', false],
      [`${p}: １８`, '１８', '18', false],
    ];
    for (const [reply, extracted, gold, correct] of cases) {
      const got = parseMgsmAnswer(reply, p);
      assert.equal(got, extracted, `${lang}: ${reply}`);
      assert.equal(scoreMgsm(gold, got), correct, `${lang}: ${reply} vs ${gold}`);
    }
  }
  // the prefix is matched as written: case-sensitive, without the colon
  assert.equal(parseMgsmAnswer('answer: 18', 'Answer'), '');
  assert.equal(parseMgsmAnswer('答案：18', '答案'), '18');
  assert.equal(parseMgsmAnswer('Answered 3 times. Answer 18', 'Answer'), '18');
});

test('extra.languages: a list or a comma-separated string of known codes; anything else is refused', () => {
  assert.equal(parseLanguages(undefined), null);
  assert.equal(parseLanguages(null), null);
  assert.deepEqual(parseLanguages(['ja', 'SW', 'ja']), ['ja', 'sw']);
  assert.deepEqual(parseLanguages('de, fr zh'), ['de', 'fr', 'zh']);
  for (const bad of [['en', 'xx'], [], '', 7, [3]]) {
    assert.throws(
      () => parseLanguages(bad),
      (e: unknown) => isNelError(e) && e.code === 'ENGINE_CONFIG' && /bn, de, en/.test(e.hint ?? ''),
      JSON.stringify(bad),
    );
  }
});

test('data files: a language per file name; the hub listing of juletxara/mgsm selects all 11 files', () => {
  assert.equal(languageOfFile('/d/mgsm_en.tsv'), 'en');
  assert.equal(languageOfFile('x/ZH.jsonl'), 'zh');
  assert.equal(languageOfFile('/d/mgsm_xx.tsv'), null);
  assert.equal(languageOfFile('/d/test.tsv'), null);
  const files = MGSM_LANGUAGES.map((l) => `mgsm_${l}.tsv`);
  const listing = ['.gitattributes', 'README.md', 'mgsm.py', ...files, 'exemplars/mgsm_en.tsv'];
  const selected = selectDataFiles(listing, mgsm.dataset!);
  const byLanguage = mgsmFilesByLanguage(selected, null);
  assert.deepEqual([...byLanguage.keys()], [...MGSM_LANGUAGES]);
  assert.equal(byLanguage.get('en'), 'mgsm_en.tsv'); // the top-level file, not the copy in a subfolder
  assert.deepEqual([...mgsmFilesByLanguage(selected, ['th', 'bn']).keys()], ['th', 'bn']);
  // a single file is its own language's; a file without a language serves one asked language
  assert.deepEqual([...mgsmFilesByLanguage(['/d/mgsm_fr.tsv'], null)], [['fr', '/d/mgsm_fr.tsv']]);
  assert.deepEqual([...mgsmFilesByLanguage(['/d/data.tsv'], ['te'])], [['te', '/d/data.tsv']]);
  const refused: [string[], string[] | null, RegExp][] = [
    [['/d/data.tsv'], null, /cannot tell the language of \/d\/data\.tsv/],
    [['/d/data.tsv'], ['en', 'de'], /cannot tell the language/],
    [['/d/mgsm_en.tsv', '/d/mgsm_de.tsv'], null, /no data file for languages bn, es, fr.* \(found: en, de\)/],
    [['/d/mgsm_en.tsv'], ['en', 'ru'], /no data file for language ru \(found: en\)/],
    [['/d/a/mgsm_en.tsv', '/d/b/mgsm_en.tsv'], ['en'], /two data files for language en/],
  ];
  for (const [list, asked, message] of refused) {
    assert.throws(
      () => mgsmFilesByLanguage(list, asked as never),
      (e: unknown) => isNelError(e) && e.code === 'ENGINE_DATASET' && message.test(e.message) && !!e.hint,
      `${list.join(' ')} ${String(asked)}`,
    );
  }
});
