import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNelError } from '../../common/errors.js';
import { STREAM_KEEP_RECORDS, collectSamples, hasFields, openBenchmarkSamples } from './common.js';
import type { BenchmarkContext } from './types.js';

const SOURCE = { repo: 'x/y', split: 'test', localFileNames: ['test.jsonl'] };

function withFile(lines: unknown[], fn: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-common-'));
  const file = join(dir, 'test.jsonl');
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return fn(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const ctxFor = (file: string, limit?: number): BenchmarkContext => ({
  params: { limit_samples: limit },
  extra: { dataset_path: file },
  endpointType: 'chat',
  outputDir: tmpdir(),
  env: {},
  log: () => undefined,
  signal: new AbortController().signal,
});

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ q: `q${i}`, a: String(i) }));

test('a sample stream counts first, then yields the kept records in order, again on each call', async () => {
  await withFile(rows(10), async (file) => {
    const s = await openBenchmarkSamples(SOURCE, ctxFor(file, 4));
    assert.equal(s.total, 4);
    const ids = [...s.samples()].map((x) => [x.id, x.index, x.data.q]);
    assert.deepEqual(ids, [
      ['0', 0, 'q0'],
      ['1', 1, 'q1'],
      ['2', 2, 'q2'],
      ['3', 3, 'q3'],
    ]);
    assert.deepEqual(collectSamples(s).length, 4, 'a second pass starts over');
    const frac = await openBenchmarkSamples(SOURCE, ctxFor(file, 0.25));
    assert.equal(frac.total, 3); // ceil(10 * 0.25)
    assert.equal(collectSamples(frac).length, 3);
    const all = await openBenchmarkSamples(SOURCE, ctxFor(file));
    assert.equal(all.total, 10);
    assert.equal(collectSamples(all).at(-1)!.data.q, 'q9');
  });
});

test('a bad record fails the open only when it is among the kept ones', async () => {
  const data: unknown[] = rows(6);
  data[4] = { q: 'no answer' };
  await withFile(data, async (file) => {
    const check = hasFields(['q', 'a'], 'demo');
    const kept = await openBenchmarkSamples(SOURCE, ctxFor(file, 4), { check });
    assert.equal(kept.total, 4);
    await assert.rejects(
      openBenchmarkSamples(SOURCE, ctxFor(file, 5), { check }),
      (e) => isNelError(e) && /record 4 has no field "a"/.test(e.message),
    );
    await assert.rejects(openBenchmarkSamples(SOURCE, ctxFor(file), { check }), /record 4/);
  });
});

test('invalid JSON and a bad limit_samples fail before any sample is yielded', async () => {
  await withFile([{ q: 'a', a: '1' }, '{not json'], async (file) => {
    await assert.rejects(openBenchmarkSamples(SOURCE, ctxFor(file)), /:2: not valid JSON/);
    await assert.rejects(openBenchmarkSamples(SOURCE, ctxFor(file, -1)), /limit_samples must be/);
  });
});

test('stopping early closes the file (the generator is returned)', async () => {
  await withFile(rows(3), async (file) => {
    const s = await openBenchmarkSamples(SOURCE, ctxFor(file));
    const it = s.samples()[Symbol.iterator]();
    assert.equal(it.next().value!.id, '0');
    assert.deepEqual(it.return!(), { done: true, value: undefined });
    assert.equal(it.next().done, true);
  });
});

test('a data set larger than the kept size is read again as it is pulled, with the same result', async () => {
  const n = STREAM_KEEP_RECORDS + 5;
  await withFile(rows(n), async (file) => {
    const s = await openBenchmarkSamples(SOURCE, ctxFor(file), { check: hasFields(['q', 'a'], 'demo') });
    assert.equal(s.total, n);
    let i = 0;
    for (const x of s.samples()) {
      assert.equal(x.index, i);
      assert.equal(x.data.q, `q${i}`);
      i++;
    }
    assert.equal(i, n);
    const limited = await openBenchmarkSamples(SOURCE, ctxFor(file, n - 1));
    assert.equal(collectSamples(limited).length, n - 1);
  });
});
