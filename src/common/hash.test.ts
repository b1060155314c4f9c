import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { sha256Hex } from './hash.js';

test('sha256Hex equals createHash for ASCII, multi-byte and empty text', () => {
  for (const s of ['', 'abc', 'Grüße, 世界 🙂', 'x'.repeat(10_000)]) {
    assert.equal(sha256Hex(s), createHash('sha256').update(s, 'utf8').digest('hex'));
  }
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
