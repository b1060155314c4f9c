/**
 * The exec DB never loses a record: after an append cut short (a full disk, a crash: the last line is
 * partial), the next invocation is recorded on a fresh line and status, kill, info and ls runs all
 * find it, with one warning naming the file and the line. A DB that cannot be written refuses the
 * run with one line and leaves no invocation directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, launchedDir, startEndpoint, statusJson, writeE2eConfig } from './support/e2e.js';

test('host mode: a truncated last DB line does not hide the next invocation from any command', async () => {
  const s = scratch('nel-lc-db-');
  const ep = await startEndpoint('humaneval', { accuracy: 1 });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [{ benchmark: 'humaneval', endpoint: ep, limit: 2 }],
    });
    const first = await nelAsync(['run', '--config', cfg, '--wait'], { cwd: s.dir, env: s.env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const firstInv = invocationIdOfDir(launchedDir(first));

    // an append cut short: half a record, no newline (what a full disk leaves behind)
    const whole = readFileSync(s.dbPath, 'utf8');
    const lastLine = whole.trimEnd().split('\n').pop()!;
    appendFileSync(s.dbPath, lastLine.slice(0, Math.floor(lastLine.length / 2)));
    const damagedLineNo = whole.trimEnd().split('\n').length + 1;

    const second = await nelAsync(['run', '--config', cfg, '--wait'], { cwd: s.dir, env: s.env });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const inv = invocationIdOfDir(launchedDir(second));
    const lines = readFileSync(s.dbPath, 'utf8').split('\n');
    assert.equal(lines[lines.length - 1], '', 'the DB ends with a newline');
    assert.ok(
      lines[damagedLineNo]!.startsWith('{"invocation_id": "' + inv),
      'the new record starts its own line',
    );

    const warning = new RegExp(
      `warning: skipped 1 damaged line in the exec DB ${s.dbPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(line ${damagedLineNo}\\)`,
    );
    const st = nel(['status', inv, '--json'], { cwd: s.dir, env: s.env });
    assert.equal(st.code, 0, st.stderr);
    assert.deepEqual(
      (JSON.parse(st.stdout) as { status: string }[]).map((e) => e.status),
      ['success'],
    );
    assert.match(st.stderr, warning);
    assert.equal(st.stderr.trim().split('\n').length, 1, `one warning: ${st.stderr}`);
    assert.deepEqual(
      statusJson([firstInv], { cwd: s.dir, env: s.env }).map((e) => e.status),
      ['success'],
    );

    const info = nel(['info', inv], { cwd: s.dir, env: s.env });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`Job ${inv}\\.0`));

    const ls = nel(['ls', 'runs'], { cwd: s.dir, env: s.env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`^${inv} `, 'm'));
    assert.match(ls.stdout, new RegExp(`^${firstInv} `, 'm'));
    assert.doesNotMatch(ls.stdout, /1970/);

    const kill = nel(['kill', inv], { cwd: s.dir, env: s.env });
    assert.equal(kill.code, 0, kill.stdout + kill.stderr);
    assert.match(kill.stdout, /job already completed successfully/);
    assert.doesNotMatch(kill.stdout + kill.stderr, /not found/);
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a DB that cannot be written (a directory, a full disk) refuses the run with one line and no invocation dir', async () => {
  const s = scratch('nel-lc-dbw-');
  const ep = await startEndpoint('humaneval', { accuracy: 1 });
  try {
    const out = join(s.dir, 'out');
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: out,
      useDocker: false,
      tasks: [{ benchmark: 'humaneval', endpoint: ep, limit: 2 }],
    });
    const dirDb = join(s.dir, 'db-is-a-dir');
    mkdirSync(dirDb);
    for (const [db, message] of [
      [dirDb, `error: the exec DB path ${dirDb} is a directory, not a file`],
      ['/dev/full', 'error: cannot write the exec DB /dev/full: no space left on device'],
    ] as const) {
      const env = { ...s.env, NEMO_EVALUATOR_EXEC_DB_FILE: db };
      const r = nel(['run', '--config', cfg], { cwd: s.dir, env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const errLines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.deepEqual(errLines, [message]);
      assert.match(r.stderr, /^hint: /m);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      const left = existsSync(out) ? readdirSync(out) : [];
      assert.deepEqual(left, [], `nothing left in the output dir: ${left.join(' ')}`);
      assert.equal(ep.stats().total, 0, 'nothing was sent');
    }
    const st = nel(['status'], { cwd: s.dir, env: { ...s.env, NEMO_EVALUATOR_EXEC_DB_FILE: dirDb } });
    assert.equal(st.code, 1);
    assert.equal(st.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, st.stderr);
    assert.match(st.stderr, /is a directory, not a file/);
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
