import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNelError } from '../../common/errors.js';
import { parseCsvRecords, parseDataFile, parseJsonl } from './parse.js';

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
