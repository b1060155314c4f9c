/**
 * Every upstream example config dry-runs through the CLI: v0.2.8 ones against the upstream task catalogue
 * (NEL_TASKS_FILE), v0.1.28 ones against the built-in catalogue. The scripts must be valid bash, name the
 * right images, carry no secret value, and no exec DB record may be written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_OVERRIDES, conformanceFiles, conformanceRoot } from './support/conformance.js';
import { repoRoot, sharedPath } from './support/paths.js';
import { listFiles, nel, scratch } from './support/cli.js';

/** Every variable the examples reference, set to a recognisable dummy secret. */
const SECRET_NAMES = [
  'NGC_API_KEY',
  'HF_TOKEN',
  'HF_TOKEN_FOR_GPQA_DIAMOND',
  'HF_TOKEN_FOR_AEGIS_V2',
  'JUDGE_API_KEY',
  'GEMINI_API_KEY',
  'QWEN_API_KEY',
  'ARTIFICIAL_ANALYSIS_API_KEY',
  'COMPLIANCE_JUDGE_SERVICE_API_KEY',
  'HF_HOME',
];

const root = conformanceRoot();
const files = conformanceFiles();

test('there are upstream examples to check', () => {
  assert.ok(files.length >= 20);
});

for (const rel of files) {
  test(`dry-runs ${rel}`, () => {
    const s = scratch('nel-conf-');
    for (const name of SECRET_NAMES) s.env[name] = `dummy-secret-${name}-zq9`;
    if (rel.startsWith('v0.2.8/'))
      s.env.NEL_TASKS_FILE = sharedPath('data', 'upstream', 'all_tasks_irs.yaml');
    const args = ['run', '--config', join(root, rel), '--dry-run'];
    for (const o of CONFORMANCE_OVERRIDES[rel] ?? []) args.push('-o', o);
    const r = nel(args, { cwd: s.dir, env: s.env });
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
    assert.match(r.stdout, /DRY RUN: Scripts prepared and saved to /);
    assert.ok(!existsSync(s.dbPath), 'a dry run must not write the exec DB');

    const invDir = /DRY RUN: Scripts prepared and saved to (.+)/.exec(r.stdout)![1]!.trim();
    const written = listFiles(invDir);
    const entry = written.find((f) => f === 'run_all.sequential.sh' || f === 'run_all.parallel.sh');
    assert.ok(entry, `no entry script in ${written.join(', ')}`);
    const runScripts = written.filter((f) => f.endsWith('/run.sh'));
    const jobs = (r.stdout.match(/^ {2}[0-9a-f]{16}\.\d+ {2}/gm) ?? []).length;
    assert.ok(jobs > 0);
    assert.equal(runScripts.length, jobs, 'one run.sh per job');
    for (const f of [entry!, ...runScripts]) {
      const check = spawnSync('bash', ['-n', join(invDir, f)], { encoding: 'utf8' });
      assert.equal(check.status, 0, `bash -n ${f}: ${check.stderr}`);
    }
    const entryText = readFileSync(join(invDir, entry!), 'utf8');
    assert.match(entryText, /docker run/);
    if (rel.startsWith('v0.1.28/'))
      assert.match(entryText, /nvcr\.io\/nvidia\/eval-factory\/[a-z_-]+:25\.10/);
    else assert.match(entryText, /nvcr\.io\/nvidia\/eval-factory\/[a-z_-]+:26\.03|nvcr\.io\/nim\//);
    for (const f of written) {
      const text = readFileSync(join(invDir, f), 'utf8');
      assert.ok(!text.includes('dummy-secret-'), `${f} contains a secret value`);
    }
    assert.ok(!r.stdout.includes('dummy-secret-'), 'the printout contains a secret value');
  });
}

test('the seed command shows three tasks with their containers and scripts', () => {
  const s = scratch('nel-seed-');
  const r = nel(
    [
      'run',
      '--config-dir',
      join(repoRoot(), 'examples'),
      '--config-name',
      'local_llama_3_1_8b_instruct',
      '-o',
      'target.api_endpoint.api_key_name=API_KEY',
      '--dry-run',
    ],
    { cwd: s.dir, env: s.env },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const [task, image] of [
    ['ifeval', 'lm-evaluation-harness'],
    ['gpqa_diamond', 'simple-evals'],
    ['mbpp', 'bigcode-evaluation-harness'],
  ]) {
    assert.match(r.stdout, new RegExp(`\\.\\d+ {2}${task}\\b`));
    assert.match(r.stdout, new RegExp(`eval-factory/${image}:`));
  }
  assert.match(r.stdout, /run_all\.sequential\.sh/);
  assert.match(r.stderr, /API_KEY is not set/);
});
