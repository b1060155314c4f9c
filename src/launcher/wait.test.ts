import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressRenderer, formatProgressLine } from './wait.js';
import type { StatusEntry } from '../executors/types.js';

const entry = (
  status: StatusEntry['status'],
  progress: number | null,
  total: number | null,
): StatusEntry => ({
  invocation: 'i',
  job_id: 'i.0',
  status,
  progress: { progress, total, percent: progress !== null && total ? (progress / total) * 100 : null },
  data: {},
});

test('progress lines show answered/total, percent and rate', () => {
  assert.equal(formatProgressLine(entry('running', 5, 20), 2.5), 'i.0: RUNNING 5/20 (25.0%) 2.5 req/s');
  assert.equal(formatProgressLine(entry('pending', null, null), null), 'i.0: PENDING -');
});

test('TTY mode redraws in place; plain mode prints on state changes and every few seconds', () => {
  let t = 0;
  const tty: string[] = [];
  const r1 = createProgressRenderer({
    tty: true,
    stream: { write: (s: string) => tty.push(s) } as never,
    now: () => t,
  });
  r1([entry('running', 1, 10)]);
  t = 2000;
  r1([entry('running', 5, 10)]);
  assert.equal(tty.length, 2);
  assert.ok(tty[1]!.startsWith('\x1b[1A'));
  assert.match(tty[1]!, /5\/10 \(50\.0%\) 2\.0 req\/s/);
  const plain: string[] = [];
  t = 0;
  const r2 = createProgressRenderer({
    tty: false,
    stream: { write: (s: string) => plain.push(s) } as never,
    now: () => t,
    plainEveryMs: 5000,
  });
  r2([entry('running', 1, 10)]);
  t = 1000;
  r2([entry('running', 2, 10)]);
  assert.equal(plain.length, 1);
  t = 6000;
  r2([entry('running', 3, 10)]);
  assert.equal(plain.length, 2);
  t = 6500;
  r2([entry('success', 10, 10)]);
  assert.equal(plain.length, 3);
  assert.ok(!plain.join('').includes('\x1b'));
});
