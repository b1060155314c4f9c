/**
 * The executor seam: `execution.type` picks the executor through src/executors/registry.ts, an unknown
 * one is refused with upstream's message before anything is written, and nothing outside
 * src/executors reaches into an executor's own files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { nel, scratch } from './support/cli.js';
import { repoRoot } from './support/paths.js';
import { executorNames, executorStatus, getExecutor } from '../src/executors/registry.js';
import { appendJobRecord } from '../src/launcher/exec-db.js';

function writeConfig(dir: string): string {
  const file = join(dir, 'cfg.yaml');
  const config = {
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: { output_dir: join(dir, 'out') },
    target: { api_endpoint: { model_id: 'm', url: 'http://127.0.0.1:9/v1/chat/completions' } },
    evaluation: { tasks: [{ name: 'builtin.gsm8k' }] },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

for (const dry of [true, false]) {
  test(`an unknown execution.type is refused in one line, nothing written (${dry ? 'dry run' : 'real run'})`, () => {
    const s = scratch('nel-seam-');
    const cfg = writeConfig(s.dir);
    const args = ['run', '--config', cfg, '-o', 'execution.type=nosuch', ...(dry ? ['--dry-run'] : [])];
    const r = nel(args, { cwd: s.dir, env: s.env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'error: Executor nosuch not found. Available executors: [local, slurm]');
    assert.match(lines[1] ?? '', /^hint: set execution\.type/);
    assert.equal(lines.length, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(s.dir, 'out')), false, 'no output directory');
    assert.equal(existsSync(s.dbPath), false, 'no exec DB record');
    assert.equal(existsSync(join(s.dir, 'home', '.nemo-evaluator', 'run_configs')), false);
  });
}

test('execution.type local (the default) dry-runs through the registry', () => {
  const s = scratch('nel-seam-');
  const cfg = writeConfig(s.dir);
  const r = nel(['run', '--config', cfg, '-o', 'execution.type=local', '--dry-run'], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DRY RUN: Scripts prepared/);
});

test('the registry lists local and slurm, loads them by name and refuses other names', async () => {
  assert.deepEqual(executorNames(), ['local', 'slurm']);
  const local = await getExecutor('local');
  assert.equal(local.name, 'local');
  for (const m of ['plan', 'formatDryRun', 'checkRuntime', 'launch', 'kill', 'resume', 'streamLogs', 'info'])
    assert.equal(typeof (local as unknown as Record<string, unknown>)[m], 'function', m);
  assert.ok(executorStatus('local'));
  assert.ok(executorStatus('slurm'));
  assert.equal(executorStatus('lepton'), undefined);
  assert.equal(executorStatus('toString'), undefined, 'no inherited names');
  await assert.rejects(getExecutor('lepton'), {
    message: 'Executor lepton not found. Available executors: [local, slurm]',
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const importsOf = (text: string): string[] =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);

test('outside src/executors, only the registry and the interface types of executors are imported', () => {
  const src = join(repoRoot(), 'src');
  const offenders: string[] = [];
  for (const file of sourceFiles(src)) {
    const rel = relative(src, file);
    if (rel.startsWith('executors/')) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.includes('executors/')) continue;
      if (!/(^|\/)executors\/(registry|types)\.js$/.test(spec)) offenders.push(`${rel}: ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test("src/executors/local is loaded only by the registry (and its own modules' imports stay inside)", () => {
  const dir = join(repoRoot(), 'src', 'executors');
  const offenders: string[] = [];
  for (const file of sourceFiles(dir)) {
    const rel = relative(dir, file);
    if (rel.startsWith('local/') || rel === 'registry.ts') continue;
    for (const spec of importsOf(readFileSync(file, 'utf8')))
      if (spec.includes('local/')) offenders.push(`${rel}: ${spec}`);
  }
  assert.deepEqual(offenders, []);
  const registry = readFileSync(join(dir, 'registry.ts'), 'utf8');
  assert.match(registry, /import\('\.\/local\/index\.js'\)/, 'the executor itself is loaded lazily');
});

test('jobs recorded by an executor this build does not have: status unknown, kill refused per job', () => {
  const s = scratch('nel-seam-');
  appendJobRecord(s.dbPath, {
    invocation_id: 'feedc0de12345678',
    job_id: 'feedc0de12345678.0',
    timestamp: Date.now() / 1000,
    executor: 'lepton',
    data: { output_dir: '/remote/x' },
    config: {},
  });
  const st = nel(['status', 'feedc0de', '--json'], { cwd: s.dir, env: s.env });
  assert.equal(st.code, 0, st.stderr);
  assert.equal(JSON.parse(st.stdout)[0].status, 'unknown');
  const k = nel(['kill', 'feedc0de12345678.0'], { cwd: s.dir, env: s.env });
  assert.equal(k.code, 1);
  assert.match(k.stderr, /Job feedc0de12345678\.0 is not a local job/);
});
