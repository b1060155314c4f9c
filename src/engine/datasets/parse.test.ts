import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNelError } from '../../common/errors.js';
import { isDataFile, parseCsvRecords, parseDataFile, parseJsonl, parseTsvRecords } from './parse.js';
import { selectDataFiles } from './select-files.js';

test('a JSONL file larger than the read chunk parses like the whole text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parse-'));
  try {
    // Multi-byte characters make chunk boundaries fall inside characters and inside lines.
    const lines = Array.from({ length: 6000 }, (_, i) =>
      JSON.stringify({ i, q: `question ${i} caf\u00e9 \u4e2d\u6587 \ud83d\ude00 `.repeat(16) }),
    );
    const text = `\n${lines.slice(0, 10).join('\n')}\n\n  \n${lines.slice(10).join('\r\n')}`;
    assert.ok(Buffer.byteLength(text) > 2 * (1 << 20));
    const file = join(dir, 'big.jsonl');
    writeFileSync(file, text);
    const records = await parseDataFile(file);
    assert.equal(records.length, 6000);
    assert.deepEqual(records, parseJsonl(text, file));
    assert.equal(records[5999]!.i, 5999);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad line is reported with its line number; a .json array is accepted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parse-'));
  try {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"a": 1}\n\n{"a": 2\n');
    await assert.rejects(parseDataFile(bad), (e: unknown) => {
      assert.ok(isNelError(e));
      assert.match(e.message, /bad\.jsonl:3: not valid JSON/);
      return true;
    });
    const arr = join(dir, 'arr.json');
    writeFileSync(arr, '  \n[{"a": 1}, {"a": 2}]\n');
    assert.deepEqual(await parseDataFile(arr), [{ a: 1 }, { a: 2 }]);
    await assert.rejects(parseDataFile(join(dir, 'missing.jsonl')), /cannot read data set file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSV: header row, quoted fields with commas, "" and newlines, a BOM, CRLF and LF mixed', () => {
  const text = '\ufeffq,target\r\n"2+2, ""doubled""",8\r\n\r\n"two\nlines",x"y\nshort\n';
  assert.deepEqual(parseCsvRecords(text, 'f.csv'), [
    { q: '2+2, "doubled"', target: '8' },
    { q: 'two\nlines', target: 'x"y' },
    { q: 'short', target: '' },
  ]);
  assert.deepEqual(parseCsvRecords('', 'empty.csv'), []);
  assert.throws(
    () => parseCsvRecords('a\n"open\n', 'bad.csv'),
    (e: unknown) => isNelError(e) && e.message === 'bad.csv: unterminated quoted field',
  );
});

test('TSV with a header row: tabs split fields, quotes are ordinary characters, BOM, CRLF and LF', () => {
  const text = '\ufeffq\ttarget\r\n"quoted" start\t8\r\n\r\nsay "hi", twice\tx"y\nshort\n';
  assert.deepEqual(parseTsvRecords(text, 'f.tsv'), [
    { q: '"quoted" start', target: '8' },
    { q: 'say "hi", twice', target: 'x"y' },
    { q: 'short', target: '' },
  ]);
  assert.deepEqual(parseTsvRecords('', 'empty.tsv'), []);
  // an unbalanced quote is data, not an unterminated field
  assert.deepEqual(parseTsvRecords('a\tb\n"open\t1\n', 'q.tsv'), [{ a: '"open', b: '1' }]);
});

test('TSV and CSV without a header: the columns option names the fields and fixes their number', () => {
  const columns = ['question', 'answer_number'];
  assert.deepEqual(parseTsvRecords('How many?\t18\nAnd now, "then"?\t2,125\r\n', 'm.tsv', { columns }), [
    { question: 'How many?', answer_number: '18' },
    { question: 'And now, "then"?', answer_number: '2,125' },
  ]);
  assert.deepEqual(parseCsvRecords('"a, b",3\n', 'm.csv', { columns }), [
    { question: 'a, b', answer_number: '3' },
  ]);
  for (const [text, message] of [
    ['ok\t1\n\nno answer\n', 'm.tsv:3: 1 field, expected 2 (question, answer_number)'],
    ['a\tb\tc\n', 'm.tsv:1: 3 fields, expected 2 (question, answer_number)'],
  ] as const) {
    assert.throws(
      () => parseTsvRecords(text, 'm.tsv', { columns }),
      (e: unknown) => isNelError(e) && e.message === message && /no header row/.test(e.hint ?? ''),
    );
  }
});

test('.tsv files are data files: parsed by extension, selected by name, after other formats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parse-'));
  try {
    assert.ok(isDataFile('mgsm_en.tsv') && isDataFile('X.TSV'));
    const file = join(dir, 'mgsm_de.tsv');
    writeFileSync(file, 'Frage eins\t5\nFrage zwei\t1,000\n');
    assert.deepEqual(await parseDataFile(file, { columns: ['question', 'answer_number'] }), [
      { question: 'Frage eins', answer_number: '5' },
      { question: 'Frage zwei', answer_number: '1,000' },
    ]);
    // without columns the first line is the header
    assert.deepEqual(await parseDataFile(file), [{ 'Frage eins': 'Frage zwei', '5': '1,000' }]);
    const source = { repo: 'x/y', split: 'test', localFileNames: ['mgsm_de.tsv', 'mgsm_en.tsv'] };
    assert.deepEqual(selectDataFiles(['README.md', 'mgsm_en.tsv', 'mgsm_de.tsv', 'mgsm_fr.tsv'], source), [
      'mgsm_de.tsv',
      'mgsm_en.tsv',
    ]);
    assert.deepEqual(selectDataFiles(['test.tsv', 'test.jsonl'], source), ['test.jsonl']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
