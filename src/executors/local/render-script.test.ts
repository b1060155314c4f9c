import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inContainerCommand } from './render-script.js';

const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
};

test('the in-container command forwards one SIGTERM to the engine, waits for it, then runs post_cmd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-incontainer-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const bin = join(dir, 'bin');
    const work = join(dir, 'work');
    mkdirSync(bin);
    mkdirSync(work);
    // a stand-in engine: records each SIGTERM, takes a moment to finish its in-flight work, exits 0
    const engine = join(bin, 'nemo-evaluator');
    writeFileSync(
      engine,
      [
        '#!/usr/bin/env bash',
        "trap 'echo TERM >> signals.log; sleep 0.3; echo finished >> signals.log; exit 0' TERM",
        'echo "$@" > started.tmp && mv started.tmp started', // whole, so the test never reads it half-written
        'while :; do sleep 0.05; done',
      ].join('\n') + '\n',
    );
    chmodSync(engine, 0o755);
    const cmd = inContainerCommand({
      preCmd: '',
      postCmd: 'echo post-ran > post.log\n',
      engineConfigYaml: 'config: {}\n',
      unresolvedConfigText: null,
    });
    child = spawn('bash', ['-c', cmd], {
      cwd: work,
      env: { PATH: `${bin}:${process.env.PATH}` },
      stdio: 'ignore',
      detached: true,
    });
    const proc = child;
    const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
    assert.ok(await until(() => existsSync(join(work, 'started')), 10_000), 'the engine started');
    assert.equal(readFileSync(join(work, 'started'), 'utf8').trim(), 'run_eval --run_config config_ef.yaml');
    // `docker stop` and the signal `docker run` proxies both reach the shell: two SIGTERMs
    proc.kill('SIGTERM');
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(readFileSync(join(work, 'signals.log'), 'utf8').split('\n').filter(Boolean), [
      'TERM',
      'finished',
    ]);
    assert.equal(readFileSync(join(work, 'post.log'), 'utf8'), 'post-ran\n');
  } finally {
    // a failed assertion must not leave the stand-in engine looping (the test process would never end)
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
