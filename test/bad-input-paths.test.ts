/**
 * Bad locations and names through the real CLI: special or unwritable output dirs answer with one line
 * within a second, a full disk is named as such (a real tmpfs of 16 KiB), Docker-unmountable paths are
 * refused before anything is written, a misspelt built-in task gets a suggestion, and `--env-file` is
 * ours (not Node's) when the CLI runs through its shebang.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nel, scratch } from './support/cli.js';
import { engineBin, nelBin, sharedPath } from './support/paths.js';

const CONFIG = (out: string) => `defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: ${JSON.stringify(out)}
target:
  api_endpoint:
    model_id: m
    url: http://127.0.0.1:9/v1/chat/completions
evaluation:
  tasks:
    - name: builtin.gsm8k
`;

function setup(out: string): { dir: string; env: NodeJS.ProcessEnv; cfg: string; dbPath: string } {
  const s = scratch('nel-paths-');
  const cfg = join(s.dir, 'c.yaml');
  writeFileSync(cfg, CONFIG(out));
  return { ...s, cfg };
}

/** Every file below `dir` (relative paths). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

function assertOneLineError(r: { code: number | null; stderr: string }, expect: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length <= 2, `at most an error and a hint line:\n${r.stderr}`);
  assert.match(lines[0]!, expect);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

for (const out of ['/proc/nel-test/results', '/sys/nel-test', '/dev/null/results']) {
  test(`output_dir ${out}: one line within a second, nothing recorded`, () => {
    const s = setup(out);
    const started = Date.now();
    for (const extra of [['--dry-run'], []]) {
      const r = nel(['run', '--config', s.cfg, ...extra], { cwd: s.dir, env: s.env, timeoutMs: 10_000 });
      assert.notEqual(r.code, null, 'the command ended by itself');
      assertOneLineError(
        r,
        /^error: cannot write to the output directory .*\((ENOENT|EPERM|EACCES|ENOTDIR)\)$/,
      );
    }
    assert.ok(Date.now() - started < 5_000, `two refusals took ${Date.now() - started} ms`);
    assert.equal(existsSync(s.dbPath), false);
  });
}

test("a ':' in output_dir is refused up front in Docker mode, allowed on the host", () => {
  const s = setup('OUTDIR');
  const out = join(s.dir, 'a:b');
  writeFileSync(s.cfg, CONFIG(out));
  const r = nel(['run', '--config', s.cfg], { cwd: s.dir, env: s.env });
  assertOneLineError(r, /^error: execution\.output_dir contains ':', which Docker cannot mount: .*a:b$/);
  assert.match(r.stderr, /--no-docker/);
  assert.equal(existsSync(out), false, 'nothing written');
  assert.equal(existsSync(s.dbPath), false, 'no exec DB record');
  const host = nel(['run', '--config', s.cfg, '--no-docker', '--dry-run'], { cwd: s.dir, env: s.env });
  assert.equal(host.code, 0, host.stderr);
});

/**
 * Run `fn` with a real, full 16 KiB tmpfs mounted at `<scratch>/disk` (with an empty `out/` on it), then
 * unmount it. Needs root: skipped elsewhere, a failure with CI=true.
 */
function withFullDisk(t: TestContext, prefix: string, fn: (mnt: string) => void): void {
  const mnt = join(scratch(prefix).dir, 'disk');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`cannot mount a tmpfs for the full-disk test: ${m.stderr}`);
    t.skip('mounting a tmpfs needs root');
    return;
  }
  try {
    mkdirSync(join(mnt, 'out'));
    // Fill the disk to the last byte.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=1k', 'count=64']);
    fn(mnt);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(dirname(mnt), { recursive: true, force: true });
  }
}

test('a full disk is "no space left on device: PATH" and leaves no partial files', (t) => {
  withFullDisk(t, 'nel-full-', (mnt) => {
    const s = setup(join(mnt, 'out'));
    for (const extra of [['--dry-run'], ['--no-docker', '--skip-preflight']]) {
      const r = nel(['run', '--config', s.cfg, ...extra], { cwd: s.dir, env: s.env });
      assertOneLineError(r, /^error: no space left on device: /);
      assert.match(r.stderr, /free some space/);
    }
    assert.deepEqual(filesUnder(join(mnt, 'out')), [], 'no partial or .tmp files');
    assert.equal(existsSync(s.dbPath), false);
  });
});

test('the engine on a full disk: "no space left on device: PATH", not an internal error', (t) => {
  withFullDisk(t, 'nel-full-engine-', (mnt) => {
    const cfg = join(dirname(mnt), 'config_ef.yaml');
    writeFileSync(
      cfg,
      [
        'config:',
        '  type: gsm8k',
        `  output_dir: ${JSON.stringify(join(mnt, 'out', 'a'))}`,
        '  params: {limit_samples: 2}',
        'target:',
        '  api_endpoint: {url: "http://127.0.0.1:9/v1/chat/completions", model_id: m, type: chat}',
        '',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['--', engineBin(), 'run_eval', '--run_config', cfg], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NEMO_EVALUATOR_DATASET_DIR: sharedPath('data', 'gsm8k') },
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error: no space left on device: .*\/out\/a \(hint: free some space/);
    assert.deepEqual(filesUnder(join(mnt, 'out')), [], 'no partial or .tmp files');
  });
});

test('a misspelt built-in task: "unknown task ...; did you mean ...?"', () => {
  const s = setup('OUT');
  writeFileSync(s.cfg, CONFIG(join(s.dir, 'out')).replace('builtin.gsm8k', 'builtin.gsm8kk'));
  const r = nel(['run', '--config', s.cfg, '--dry-run'], { cwd: s.dir, env: s.env });
  assertOneLineError(r, /^error: unknown task builtin\.gsm8kk; did you mean builtin\.gsm8k\?$/);
  assert.equal(existsSync(join(s.dir, 'out')), false);
});

test('--env-file is the CLI option, not Node.js own, when nel runs through its shebang', () => {
  const s = setup('OUT');
  writeFileSync(s.cfg, CONFIG(join(s.dir, 'out')));
  const env = { ...s.env, PATH: `${dirname(process.execPath)}:${s.env.PATH ?? ''}` };
  const missing = spawnSync(
    nelBin(),
    ['run', '--config', s.cfg, '--dry-run', '--env-file', '/nonexistent/x.env'],
    {
      cwd: s.dir,
      env,
      encoding: 'utf8',
    },
  );
  assertOneLineError(
    { code: missing.status, stderr: missing.stderr },
    /^error: specified --env-file '\/nonexistent\/x\.env' does not exist$/,
  );
  const file = join(s.dir, 'vars.env');
  writeFileSync(file, 'NEL_PATHS_TEST_VAR=from-file\n');
  const ok = spawnSync(nelBin(), ['run', '--config', s.cfg, '--dry-run', '--env-file', file], {
    cwd: s.dir,
    env,
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /loaded 1 variable\(s\) from .*vars\.env: NEL_PATHS_TEST_VAR/);
});

test('the engine and the exec DB answer at once for a location under /proc, too', () => {
  const s = setup('OUT');
  const cfg = join(s.dir, 'config_ef.yaml');
  writeFileSync(
    cfg,
    [
      'config:',
      '  type: gsm8k',
      '  output_dir: /proc/nel-test/engine-out',
      'target:',
      '  api_endpoint: {url: "http://127.0.0.1:9/v1/chat/completions", model_id: m, type: chat}',
      '',
    ].join('\n'),
  );
  const engine = spawnSync(process.execPath, ['--', engineBin(), 'run_eval', '--run_config', cfg], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    timeout: 10_000,
  });
  assert.equal(engine.status, 1, `ended by itself with one error: ${engine.stderr}`);
  assert.match(engine.stderr.trim(), /^error: cannot create output dir \/proc\/nel-test\/engine-out/);
  writeFileSync(s.cfg, CONFIG(join(s.dir, 'out')));
  const env = { ...s.env, NEMO_EVALUATOR_EXEC_DB_FILE: '/proc/nel-test/db/exec.v1.jsonl' };
  const run = nel(['run', '--config', s.cfg, '--no-docker', '--skip-preflight'], {
    cwd: s.dir,
    env,
    timeoutMs: 10_000,
  });
  assert.notEqual(run.code, null, 'nel run ended by itself');
  assertOneLineError(run, /^error: .*\/proc\/nel-test\/db/);
});
