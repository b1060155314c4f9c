import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostEnginePid, processArgv, supervisorStillRunning } from './kill.js';

test('a recorded supervisor only matches the very same process', async () => {
  const child = spawn('bash', ['-c', 'sleep 30; true'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const pid = child.pid!;
    assert.deepEqual(processArgv(pid), ['bash', '-c', 'sleep 30; true']);
    const base = { pid, cwd: process.cwd(), log: '/dev/null', startedAt: new Date().toISOString() };
    assert.equal(supervisorStillRunning({ ...base, argv: ['bash', '-c', 'sleep 30; true'] }), true);
    assert.equal(supervisorStillRunning({ ...base, argv: ['bash', 'run_all.sequential.sh'] }), false);
    // recorded long before this process started: a recycled PID
    assert.equal(
      supervisorStillRunning({
        ...base,
        argv: ['bash', '-c', 'sleep 30; true'],
        startedAt: '2001-01-01T00:00:00Z',
      }),
      false,
    );
  } finally {
    child.kill('SIGKILL');
  }
});

test('stage.pid is trusted only when its process started before the file was written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-pid-'));
  mkdirSync(join(dir, 'logs'));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 100));
    const file = join(dir, 'logs', 'stage.pid');
    writeFileSync(file, `${child.pid}\n`);
    assert.equal(hostEnginePid(dir), child.pid);
    utimesSync(file, new Date('2001-01-01'), new Date('2001-01-01'));
    assert.equal(hostEnginePid(dir), null);
    writeFileSync(file, 'garbage');
    assert.equal(hostEnginePid(dir), null);
  } finally {
    child.kill('SIGKILL');
  }
});
