import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStageExit } from './status.js';

test('stage.exit is split on the last space', () => {
  assert.equal(parseStageExit('2026-01-01T00:00:00Z 0\n'), 0);
  assert.equal(parseStageExit('2026-01-01T00:00:00Z 143'), 143);
  assert.equal(parseStageExit('garbage'), null);
  assert.equal(parseStageExit('ts notanumber'), null);
});
