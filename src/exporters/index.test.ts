import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJobRecord } from '../launcher/exec-db.js';
import { buildLocalExportConfig, exportResults } from './index.js';
import { parse } from 'csv-parse/sync';
import { NelError } from '../common/errors.js';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'nel-export-'));
  const db = join(root, 'exec.v1.jsonl');
  const inv = 'a1b2c3d4e5f60718';
  const invDir = join(root, 'out', `20260101_000000-${inv}`);
  const tasks = ['gsm8k', 'humaneval', 'mmlu'];
  tasks.forEach((name, i) => {
    const dir = join(invDir, `${name}.${i}`);
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    if (name !== 'mmlu') {
      writeFileSync(
        join(dir, 'artifacts', 'results.yml'),
        `results:\n  tasks:\n    ${name}:\n      metrics:\n        accuracy:\n          scores:\n            accuracy:\n              value: ${0.25 * (i + 1)}\n`,
      );
      writeFileSync(
        join(dir, 'artifacts', 'run_config.yml'),
        `framework_name: builtin\nconfig:\n  type: ${name}\ntarget:\n  api_endpoint:\n    model_id: org/model-x\n`,
      );
    }
    writeFileSync(
      join(dir, 'artifacts', 'metadata.yaml'),
      `launcher_resolved_config:\n  evaluation:\n    tasks:\n${tasks.map((t) => `    - name: ${t}\n`).join('')}`,
    );
    appendJobRecord(db, {
      invocation_id: inv,
      job_id: `${inv}.${i}`,
      timestamp: 1767225600 + i,
      executor: 'local',
      data: { output_dir: dir, container: `client-${name}-x`, eval_image: 'nemo-evaluator-ts:0.1.0' },
      config: {
        evaluation: { tasks: tasks.map((t) => ({ name: t })) },
        target: { api_endpoint: { model_id: 'org/model-x' } },
      },
    });
  });
  return { root, db, inv, invDir, env: { ...process.env, NEMO_EVALUATOR_EXEC_DB_FILE: db } };
}

test('JSON export has the processed_results shape, reports failed jobs and is idempotent', async () => {
  const s = setup();
  const out = join(s.root, 'exp');
  const r = await exportResults([s.inv], { env: s.env, outputDir: out });
  assert.equal(r.success, false);
  assert.deepEqual(r.metadata, { successful_jobs: 2, failed_jobs: 1, skipped_jobs: 0 });
  assert.equal(r.failures[0]!.jobId, `${s.inv}.2`);
  assert.match(r.failures[0]!.error, /no results\.yml/);
  const combined = JSON.parse(readFileSync(join(out, 'processed_results.json'), 'utf8'));
  assert.deepEqual(Object.keys(combined.benchmarks).sort(), ['gsm8k', 'humaneval']);
  const entry = combined.benchmarks.gsm8k.models['org/model-x'][0];
  assert.deepEqual(Object.keys(entry).sort(), [
    'container',
    'executor',
    'harness',
    'invocation_id',
    'job_id',
    'results_dir',
    'scores',
    'timestamp',
  ]);
  assert.deepEqual(entry.scores, { gsm8k_accuracy: 0.25 });
  assert.equal(entry.harness, 'builtin');
  assert.equal(entry.container, 'nemo-evaluator-ts:0.1.0');
  assert.equal(typeof combined.export_timestamp, 'string');
  const per = JSON.parse(readFileSync(join(out, s.inv, `${s.inv}.1`, 'processed_results.json'), 'utf8'));
  assert.equal(per.benchmarks.humaneval.models['org/model-x'].length, 1);
  // again, after a score changed: replaced, never duplicated
  writeFileSync(
    join(s.invDir, 'gsm8k.0', 'artifacts', 'results.yml'),
    'results:\n  tasks:\n    gsm8k:\n      metrics:\n        accuracy:\n          scores:\n            accuracy:\n              value: 0.9\n',
  );
  await exportResults([s.inv], { env: s.env, outputDir: out });
  const again = JSON.parse(readFileSync(join(out, 'processed_results.json'), 'utf8'));
  assert.equal(again.benchmarks.gsm8k.models['org/model-x'].length, 1);
  assert.deepEqual(again.benchmarks.gsm8k.models['org/model-x'][0].scores, { gsm8k_accuracy: 0.9 });
});

test('CSV export: fixed columns, sorted metric columns, upsert by job id', async () => {
  const s = setup();
  const out = join(s.root, 'exp');
  const r = await exportResults([`${s.inv}.0`, `${s.inv}.1`], { env: s.env, outputDir: out, format: 'csv' });
  assert.equal(r.success, true);
  const read = () => parse(readFileSync(join(out, 'processed_results.csv'), 'utf8')) as string[][];
  const [header, ...rows] = read();
  assert.deepEqual(header, [
    'Model Name',
    'Harness',
    'Task Name',
    'Executor',
    'Container',
    'Invocation ID',
    'Job ID',
    'Results Dir',
    'gsm8k_accuracy',
    'humaneval_accuracy',
  ]);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0]!.slice(0, 3), ['org/model-x', 'builtin', 'gsm8k']);
  assert.equal(rows[0]![8], '0.25');
  assert.equal(rows[0]![9], '');
  await exportResults([`${s.inv}.0`, `${s.inv}.1`], { env: s.env, outputDir: out, format: 'csv' });
  assert.equal(read().length, 3);
});

test('jobs missing from the DB are rebuilt from --job-dirs', async () => {
  const s = setup();
  const out = join(s.root, 'exp');
  const emptyDb = { ...process.env, NEMO_EVALUATOR_EXEC_DB_FILE: join(s.root, 'none.jsonl') };
  const r = await exportResults([`${s.inv}.1`], {
    env: emptyDb,
    outputDir: out,
    jobDirs: [join(s.root, 'out')],
  });
  assert.equal(r.success, true, JSON.stringify(r.failures));
  const doc = JSON.parse(readFileSync(join(out, s.inv, `${s.inv}.1`, 'processed_results.json'), 'utf8'));
  assert.deepEqual(doc.benchmarks.humaneval.models['org/model-x'][0].scores, { humaneval_accuracy: 0.5 });
  const nf = await exportResults(['0000000000'], { env: emptyDb, outputDir: out });
  assert.equal(nf.success, false);
});

test('export config: --config section, flags, -o overrides, unknown keys rejected', () => {
  const root = mkdtempSync(join(tmpdir(), 'nel-export-cfg-'));
  const f = join(root, 'e.yaml');
  writeFileSync(f, 'export:\n  local:\n    format: csv\n    output_dir: /a\n');
  const cfg = buildLocalExportConfig({
    configFile: f,
    outputDir: '/b',
    overrides: ['export.local.output_filename=x.csv', '~export.local.format'],
  });
  assert.equal(cfg.output_dir, '/b');
  assert.equal(cfg.format, 'json');
  assert.equal(cfg.output_filename, 'x.csv');
  assert.throws(
    () => buildLocalExportConfig({ overrides: ['export.local.colour=red'] }),
    (e: unknown) => e instanceof NelError && /colour/.test(e.message),
  );
  assert.throws(() => buildLocalExportConfig({ format: 'xml' }), NelError);
  writeFileSync(f, 'export:\n  wandb: {}\n');
  assert.throws(() => buildLocalExportConfig({ configFile: f }), /no export.local section/);
});
