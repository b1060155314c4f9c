import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeGoals } from './goals.js';
import type { SuiteResult } from './results.js';

const FLOOR = 'raw undici loop (floor)';

function throughput(engine: number[], floor: number[]): SuiteResult {
  return {
    key: 'throughput',
    title: '1',
    description: '',
    facts: { profileP64: 'put [engine/adapters/disk-cache-store] 40%' },
    notes: [],
    tables: [
      {
        title: '0 ms latency, parallelism 64, 5,000 samples',
        unit: 'samples/s',
        better: 'higher',
        floor: FLOOR,
        rows: [
          { label: FLOOR, values: floor },
          { label: 'engine in-process', values: engine },
        ],
      },
    ],
  };
}

test('throughput goal passes at 0.9x of the floor median and misses below, with a measured why', () => {
  const pass = judgeGoals([throughput([900, 950, 1000], [1000, 1000, 1000])], false)[0]!;
  assert.equal(pass.status, 'PASS');
  const miss = judgeGoals([throughput([100, 200, 300], [1000, 1000, 1000])], false)[0]!;
  assert.equal(miss.status, 'MISS');
  assert.match(miss.why ?? '', /disk-cache-store\] 40%/);
  assert.match(miss.why ?? '', /4,000 µs more per sample|4000 µs/);
});

test('goals without measurements are N/A with the reason', () => {
  const t = throughput([], [1000]);
  t.tables[0]!.rows[1]!.unavailable = 'cannot load the engine';
  const verdicts = judgeGoals([t], false);
  assert.equal(verdicts[0]!.status, 'N/A');
  assert.match(verdicts[0]!.why ?? '', /cannot load the engine/);
  assert.ok(verdicts.slice(1).every((v) => v.status === 'N/A'));
});

test('launcher goals compare medians with their limits', () => {
  const launcher: SuiteResult = {
    key: 'launcher',
    title: '4',
    description: '',
    facts: {},
    notes: [],
    tables: [
      {
        title: 'db',
        unit: 'ms',
        better: 'lower',
        rows: [
          { label: 'nel status <inv>', values: [100, 120, 400] },
          { label: 'nel ls runs --limit 20', values: [350, 360, 370] },
        ],
      },
    ],
  };
  const v = judgeGoals([launcher], false);
  assert.equal(v.find((g) => g.goal.includes('nel status'))!.status, 'PASS');
  assert.equal(v.find((g) => g.goal.includes('ls runs'))!.status, 'MISS');
});
