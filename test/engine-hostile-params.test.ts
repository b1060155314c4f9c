/**
 * Engine parameters are checked on the host: `nel run` (and `--dry-run`) refuses unknown `config.params`
 * keys and out-of-range values of a built-in engine task before anything is written, with the message
 * the engine itself gives; tasks of other harnesses keep their own params.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nel, scratch } from './support/cli.js';
import { engineBin } from './support/paths.js';

function launcherConfig(out: string, task: string, params: Record<string, unknown>): string {
  return stringify({
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: { output_dir: out },
    target: { api_endpoint: { model_id: 'm', url: 'http://127.0.0.1:9/v1/chat/completions' } },
    evaluation: {
      nemo_evaluator_config: { config: { params } },
      tasks: [{ name: task }],
    },
  });
}

/** The engine's own error line for these params (run_eval on the host, before any request). */
function engineError(dir: string, params: Record<string, unknown>): string {
  const cfg = join(dir, 'engine-run-config.yaml');
  writeFileSync(
    cfg,
    stringify({
      config: { type: 'gsm8k', output_dir: join(dir, 'engine-out'), params },
      target: { api_endpoint: { url: 'http://127.0.0.1:9/v1/chat/completions', model_id: 'm' } },
    }),
  );
  const r = spawnSync(process.execPath, [engineBin(), 'run_eval', '--run_config', cfg], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir },
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('error:'));
  assert.ok(line, r.stderr);
  return line!;
}

const CASES: { name: string; params: Record<string, unknown>; expect: RegExp }[] = [
  { name: 'unknown key', params: { paralelism: 4 }, expect: /Invalid parameter 'paralelism'/ },
  { name: 'negative limit_samples', params: { limit_samples: -5 }, expect: /limit_samples=-5/ },
  { name: 'parallelism 0', params: { parallelism: 0 }, expect: /parallelism=0: expected an integer >= 1/ },
  { name: 'a non-number timeout', params: { request_timeout: '10s' }, expect: /request_timeout=10s/ },
  {
    name: 'a bad max_failed_samples',
    params: { extra: { max_failed_samples: -1 } },
    expect: /extra\.max_failed_samples=-1/,
  },
];

for (const c of CASES) {
  test(`nel run refuses ${c.name} for a built-in engine task with the engine's message, writing nothing`, () => {
    const s = scratch('nel-params-');
    const out = join(s.dir, 'out');
    mkdirSync(join(s.dir, 'config'), { recursive: true });
    const cfg = join(s.dir, 'config', 'cfg.yaml');
    writeFileSync(cfg, launcherConfig(out, 'builtin.gsm8k', c.params));
    const expected = engineError(s.dir, c.params);
    assert.match(expected, c.expect);
    for (const extra of [['--dry-run'], ['--no-docker']]) {
      const r = nel(['run', '--config', cfg, ...extra], { cwd: s.dir, env: s.env });
      assert.equal(r.code, 1, `${extra}: ${r.stderr}${r.stdout}`);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      const errors = lines.filter((l) => l.startsWith('error:'));
      assert.deepEqual(errors, [expected], r.stderr);
      assert.ok(lines.length <= 2, `one error line (and its hint):\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'an invocation directory was written');
      assert.ok(!existsSync(s.dbPath), 'an exec DB record was written');
    }
  });
}

test("a task of another harness keeps its own params (the built-in engine's checks do not apply)", () => {
  const s = scratch('nel-params-');
  const out = join(s.dir, 'out');
  mkdirSync(join(s.dir, 'config'), { recursive: true });
  const cfg = join(s.dir, 'config', 'cfg.yaml');
  writeFileSync(cfg, launcherConfig(out, 'simple_evals.gpqa_diamond', { paralelism: 4, parallelism: 0 }));
  const r = nel(['run', '--config', cfg, '--dry-run'], { cwd: s.dir, env: s.env });
  assert.equal(r.code, 0, r.stderr + r.stdout);
});

test('nel run refuses a misspelt interceptor setting of a built-in engine task before writing anything', () => {
  const s = scratch('nel-adapter-');
  const out = join(s.dir, 'out');
  const cfg = join(s.dir, 'cfg.yaml');
  const adapter = {
    interceptors: [{ name: 'endpoint' }, { name: 'response_logging', config: { max_response: 3 } }],
  };
  writeFileSync(
    cfg,
    stringify({
      defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
      execution: { output_dir: out },
      target: { api_endpoint: { model_id: 'm', url: 'http://127.0.0.1:9/v1/chat/completions' } },
      evaluation: {
        nemo_evaluator_config: { target: { api_endpoint: { adapter_config: adapter } } },
        tasks: [{ name: 'builtin.gsm8k' }],
      },
    }),
  );
  for (const extra of [['--dry-run'], ['--no-docker']]) {
    const r = nel(['run', '--config', cfg, ...extra], { cwd: s.dir, env: s.env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: Unknown setting 'max_response' of interceptor 'response_logging'\. Allowed: .*max_responses/m,
    );
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'nothing written');
    assert.ok(!existsSync(s.dbPath));
  }
});
