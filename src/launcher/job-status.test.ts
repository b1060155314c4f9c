import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJobStatus } from './job-status.js';
import type { JobRecord } from './exec-db.js';

function job(files: Record<string, string>, data: Record<string, unknown> = {}): JobRecord {
  const dir = mkdtempSync(join(tmpdir(), 'nel-status-'));
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    if (!p.endsWith('/')) writeFileSync(join(dir, p), t);
  }
  return {
    invocation_id: 'i',
    job_id: 'i.0',
    timestamp: 1,
    executor: 'local',
    data: { output_dir: dir, ...data },
    config: {},
  };
}

test('state from stage files, in upstream order', () => {
  assert.equal(readJobStatus(undefined).state, 'unknown');
  assert.equal(readJobStatus({ ...job({}), data: { output_dir: '/nonexistent/x' } }).state, 'pending');
  assert.equal(readJobStatus(job({ 'artifacts/': '' })).state, 'pending');
  assert.equal(
    readJobStatus({ ...job({}), data: { output_dir: '/nonexistent/x', killed: true } }).state,
    'killed',
  );
  assert.equal(readJobStatus(job({ 'artifacts/': '' }, { killed: true })).state, 'killed');
  assert.equal(readJobStatus(job({ 'logs/stage.pre-start': 't' })).state, 'pending');
  assert.equal(readJobStatus(job({ 'logs/stage.running': 't' })).state, 'running');
  assert.equal(readJobStatus(job({ 'logs/stage.running': 't', 'logs/stage.exit': 't 0' })).state, 'success');
  const failed = readJobStatus(job({ 'logs/stage.exit': 't 2' }));
  assert.equal(failed.state, 'failed');
  assert.equal(failed.exitCode, 2);
  assert.equal(readJobStatus(job({ 'logs/stage.exit': 'nospace' })).state, 'failed');
  assert.equal(
    readJobStatus(job({ 'logs/stage.exit': 't 0', 'artifacts/.nemo_evaluator_interrupted': '' })).state,
    'killed',
  );
  assert.equal(readJobStatus(job({ 'logs/stage.exit': 't 0' }, { killed: true })).state, 'killed');
  assert.equal(readJobStatus(job({ 'logs/stage.running': 't' }, { killed: true })).state, 'killed');
  // an executor this build does not have
  assert.equal(readJobStatus({ ...job({ 'logs/stage.exit': 't 0' }), executor: 'lepton' }).state, 'unknown');
});

test('a task started again after a kill is no longer reported killed', () => {
  const rec = job(
    { 'logs/stage.pre-start': 't', 'logs/stage.exit': 't 0' },
    { killed: true, killed_at: 1000 },
  );
  assert.equal(readJobStatus(rec).state, 'success');
  const old = job(
    { 'logs/stage.pre-start': 't', 'logs/stage.running': 't' },
    { killed: true, killed_at: Date.now() / 1000 },
  );
  utimesSync(join(old.data.output_dir as string, 'logs', 'stage.pre-start'), 1, 1);
  assert.equal(readJobStatus(old).state, 'killed');
});

test('progress and total come from artifacts/progress and progress_total', () => {
  const st = readJobStatus(
    job({ 'logs/stage.running': 't', 'artifacts/progress': '12\n', 'artifacts/progress_total': '40' }),
  );
  assert.deepEqual(st.progress, { progress: 12, total: 40, percent: 30 });
  const noTotal = readJobStatus(job({ 'logs/stage.running': 't', 'artifacts/progress': '7' }));
  assert.deepEqual(noTotal.progress, { progress: 7, total: null, percent: null });
  const none = readJobStatus(job({ 'logs/stage.running': 't', 'artifacts/progress': 'x' }));
  assert.deepEqual(none.progress, { progress: null, total: null, percent: null });
});
