import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeProfile, describeProfile } from './profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

test('samples count against the deepest project frame, with loading and GC apart', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6] },
      {
        id: 2,
        callFrame: frame('put', 'file:///r/dist/src/engine/adapters/disk-cache-store.js'),
        children: [3],
      },
      {
        id: 3,
        callFrame: frame('sqliteTransaction', 'file:///r/node_modules/better-sqlite3/lib/t.js'),
        children: [],
      },
      { id: 5, callFrame: frame('(garbage collector)', ''), children: [] },
      { id: 6, callFrame: frame('require', 'node:internal/modules/cjs/loader'), children: [7] },
      { id: 7, callFrame: frame('', 'file:///r/dist/src/cli/main.js'), children: [] },
    ],
    samples: [3, 3, 2, 5, 7],
    timeDeltas: [1000, 1000, 1000, 1000, 1000],
  };
  const s = attributeProfile(profile);
  assert.equal(s.totalMs, 5);
  assert.deepEqual(
    s.entries.map((e) => [e.name, e.ms]),
    [
      ['put [engine/adapters/disk-cache-store]', 3],
      ['(garbage collector)', 1],
      ['module loading (project code)', 1],
    ],
  );
  assert.match(describeProfile(s), /^put \[engine\/adapters\/disk-cache-store\] 60%/);
});
