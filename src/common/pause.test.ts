import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { pause } from './pause.js';

test('pause waits, ends early on abort, and leaves no listener behind', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  await pause(30, ac.signal);
  assert.ok(Date.now() - t0 >= 25);
  for (let i = 0; i < 20; i++) await pause(1, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  const p = pause(60_000, ac.signal);
  ac.abort();
  await p; // resolves at once
  await pause(60_000, ac.signal); // already aborted: resolves at once
});
