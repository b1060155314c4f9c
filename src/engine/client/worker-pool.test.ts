import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkerPool } from './worker-pool.js';

test('never more than `concurrency` items in flight, items pulled lazily', async () => {
  let pulled = 0;
  function* items() {
    for (let i = 0; i < 50; i++) {
      pulled++;
      yield i;
    }
  }
  let inFlight = 0;
  let peak = 0;
  let maxAhead = 0;
  let done = 0;
  await runWorkerPool(items(), 4, async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    maxAhead = Math.max(maxAhead, pulled - done);
    await new Promise((r) => setTimeout(r, 1));
    inFlight--;
    done++;
  });
  assert.equal(done, 50);
  assert.equal(peak, 4);
  assert.ok(maxAhead <= 4, `pulled ${maxAhead} ahead`);
});

test('stops pulling on shouldStop and rethrows the first error after in-flight work settles', async () => {
  let done = 0;
  const r = await runWorkerPool([1, 2, 3, 4, 5, 6], 2, async () => void done++, {
    shouldStop: () => done >= 3,
  });
  assert.equal(r.stopped, true);
  assert.ok(done >= 3 && done < 6);
  let settled = 0;
  await assert.rejects(
    runWorkerPool([1, 2, 3, 4], 2, async (i) => {
      if (i === 1) throw new Error('first');
      await new Promise((res) => setTimeout(res, 5));
      settled++;
    }),
    /first/,
  );
  assert.equal(settled, 1, 'the in-flight item finished; no new item was pulled');
});
