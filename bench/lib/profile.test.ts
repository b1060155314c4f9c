import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { attributeProfile, describeProfile, sourceOf } from './profile.js';

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

test('frames in a bundle are attributed to the module at their line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prof-bundle-'));
  try {
    const chunk = join(dir, 'dist', 'src', 'bin', 'chunks', 'chunk-ABC.js');
    mkdirSync(dirname(chunk), { recursive: true });
    writeFileSync(
      chunk,
      [
        '// node_modules/undici/lib/core/util.js',
        'var a = 1;',
        '// src/engine/adapters/disk-cache-store.ts',
        'function put() {}',
        'function flush() {}',
        '// src/engine/evaluate.ts',
        'function worker() {}',
      ].join('\n'),
    );
    const url = pathToFileURL(chunk).href;
    const at = (functionName: string, lineNumber: number) => ({ functionName, url, lineNumber });
    assert.equal(sourceOf(at('flush', 4)), '/src/engine/adapters/disk-cache-store.ts');
    const s = attributeProfile({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: at('worker', 6), children: [3] },
        { id: 3, callFrame: at('put', 3), children: [] },
        { id: 4, callFrame: at('parseHeaders', 1), children: [] },
      ],
      samples: [3, 3, 2, 4],
      timeDeltas: [1000, 1000, 1000, 1000],
    });
    assert.deepEqual(
      s.entries.map((e) => [e.name, e.ms]),
      [
        ['put [engine/adapters/disk-cache-store]', 2],
        ['worker [engine/evaluate]', 1],
        ['undici (from I/O callbacks)', 1],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
