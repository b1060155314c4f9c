import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgressTracker } from './progress.js';
import { installSignalHandlers, type SignalSource } from './signals.js';

test('progress files: total up front, count written monotonically; plain lines every interval off a terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'progress-'));
  try {
    let t = 0;
    const lines: string[] = [];
    const p = new ProgressTracker({
      outputDir: dir,
      total: 10,
      now: () => t,
      stream: { isTTY: false, write: (s: string) => lines.push(s) },
      fileIntervalMs: 0,
      lineIntervalMs: 5000,
    });
    assert.equal(readFileSync(join(dir, 'progress_total'), 'utf8'), '10\n');
    assert.equal(readFileSync(join(dir, 'progress'), 'utf8'), '0\n');
    for (let i = 0; i < 4; i++) {
      t += 2000;
      p.increment();
    }
    assert.equal(readFileSync(join(dir, 'progress'), 'utf8'), '4\n');
    p.finish();
    assert.deepEqual(lines, ['progress: 3/10 (30%) 0.5 req/s\n', 'progress: 4/10 (40%) 0.5 req/s\n']);
    const tty: string[] = [];
    const bar = new ProgressTracker({
      outputDir: dir,
      total: 2,
      now: () => 1,
      stream: { isTTY: true, write: (s: string) => tty.push(s) },
    });
    bar.increment();
    bar.finish();
    assert.match(tty.at(-1)!, /^\r\[#+\.*\] 1\/2 50%.*\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM stops new work at once and cancels in-flight work after the grace period; a repeated SIGTERM keeps the grace, a SIGINT cancels now', async () => {
  const source = new EventEmitter() as unknown as SignalSource & EventEmitter;
  const ctl = installSignalHandlers({ graceMs: 30, source });
  (source as EventEmitter).emit('SIGTERM');
  assert.equal(ctl.stop.aborted, true);
  assert.equal(ctl.stop.reason, 'SIGTERM');
  assert.equal(ctl.hard.aborted, false);
  (source as EventEmitter).emit('SIGTERM'); // the same stop delivered again (group + PID): still graceful
  assert.equal(ctl.hard.aborted, false);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(ctl.hard.aborted, true);
  ctl.dispose();
  const ctl2 = installSignalHandlers({ graceMs: 60_000, source });
  (source as EventEmitter).emit('SIGINT');
  assert.equal(ctl2.reason, 'SIGINT');
  (source as EventEmitter).emit('SIGINT');
  assert.equal(ctl2.hard.aborted, true);
  ctl2.dispose();
  const ctl3 = installSignalHandlers({ graceMs: 60_000, source });
  (source as EventEmitter).emit('SIGTERM');
  (source as EventEmitter).emit('SIGINT');
  assert.equal(ctl3.hard.aborted, true);
  ctl3.dispose();
  assert.equal((source as EventEmitter).listenerCount('SIGTERM'), 0);
});
