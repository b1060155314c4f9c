import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ExecDb,
  appendJobRecord,
  execDbPath,
  indexPathFor,
  serializeJobRecord,
  type JobRecord,
} from './exec-db.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'nel-execdb-'));

const rec = (inv: string, n: number, extra: Record<string, unknown> = {}, ts = 1700000000.5): JobRecord => ({
  invocation_id: inv,
  job_id: `${inv}.${n}`,
  timestamp: ts,
  executor: 'local',
  data: { output_dir: `/tmp/x/t.${n}`, container: `client-t-${n}`, eval_image: 'img', ...extra },
  config: { evaluation: { tasks: [{ name: 'gsm8k' }, { name: 'humaneval' }, { name: 'mmlu' }] } },
});

test('execDbPath honours NEMO_EVALUATOR_EXEC_DB_FILE, else the home default', () => {
  assert.equal(execDbPath({ NEMO_EVALUATOR_EXEC_DB_FILE: '/a/b.jsonl' }), '/a/b.jsonl');
  assert.equal(execDbPath({ HOME: '/home/u' }), '/home/u/.nemo-evaluator/exec-db/exec.v1.jsonl');
});

test('records use Python json.dumps separators and key order', () => {
  const line = serializeJobRecord(rec('abcd', 0));
  assert.ok(
    line.startsWith(
      '{"invocation_id": "abcd", "job_id": "abcd.0", "timestamp": 1700000000.5, "executor": "local", "data": {',
    ),
  );
  assert.ok(!line.includes('\n'));
  assert.deepEqual(JSON.parse(line).data.container, 'client-t-0');
});

test('last record wins, jobs keep first-seen order, records missing keys are ignored', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendJobRecord(db, rec('aaaa', 1));
  appendJobRecord(db, rec('aaaa', 0));
  appendJobRecord(db, rec('bbbb', 0));
  appendJobRecord(db, rec('aaaa', 1, { killed: true }));
  appendFileSync(db, JSON.stringify({ invocation_id: 'cccc', job_id: 'cccc.0' }) + '\n');
  const v = ExecDb.open(db);
  assert.deepEqual(v.invocationIds(), ['aaaa', 'bbbb']);
  assert.deepEqual(v.jobIdsOf('aaaa'), ['aaaa.1', 'aaaa.0']);
  assert.equal(v.getJob('aaaa.1')!.data.killed, true);
  assert.equal(v.getJob('aaaa.0')!.data.killed, undefined);
  assert.equal(v.warnings.length, 0);
  const s = v.summaries().find((x) => x.invocation_id === 'aaaa')!;
  assert.equal(s.num_jobs, 2);
  assert.deepEqual(s.benchmarks, ['gsm8k', 'humaneval']);
});

test('damaged lines are skipped with one warning, never fatal', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendJobRecord(db, rec('aaaa', 0));
  appendFileSync(db, '{"invocation_id": "broken\n');
  appendFileSync(db, 'not json at all\n');
  appendJobRecord(db, rec('aaaa', 1));
  const v = ExecDb.open(db);
  assert.deepEqual(v.jobIdsOf('aaaa'), ['aaaa.0', 'aaaa.1']);
  assert.equal(v.warnings.length, 1);
  assert.match(v.warnings[0]!, /skipped 2 damaged lines/);
  // and again from the index
  const again = ExecDb.open(db);
  assert.equal(again.warnings.length, 1);
  assert.deepEqual(again.jobIdsOf('aaaa'), ['aaaa.0', 'aaaa.1']);
});

test('the index is updated incrementally and rebuilt when the file is replaced', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendJobRecord(db, rec('aaaa', 0));
  ExecDb.open(db);
  assert.ok(existsSync(indexPathFor(db)));
  appendJobRecord(db, rec('bbbb', 0));
  appendJobRecord(db, rec('aaaa', 0, { killed: true }));
  const v = ExecDb.open(db);
  assert.deepEqual(v.invocationIds(), ['aaaa', 'bbbb']);
  assert.equal(v.getJob('aaaa.0')!.data.killed, true);
  // replace the file with different content of the same length or shorter
  writeFileSync(db, serializeJobRecord(rec('zzzz', 2)) + '\n');
  const w = ExecDb.open(db);
  assert.deepEqual(w.invocationIds(), ['zzzz']);
  assert.equal(w.getJob('zzzz.2')!.job_id, 'zzzz.2');
  // a damaged index is ignored
  writeFileSync(indexPathFor(db), '{oops');
  assert.deepEqual(ExecDb.open(db).invocationIds(), ['zzzz']);
  // a partial trailing line (writer mid-append) is left for later
  appendFileSync(db, serializeJobRecord(rec('yyyy', 0)).slice(0, 30));
  const x = ExecDb.open(db);
  assert.deepEqual(x.invocationIds(), ['zzzz']);
  assert.equal(x.warnings.length, 0);
});

test('ten processes appending at once leave a DB in which every line parses', async () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  const self = fileURLToPath(import.meta.url);
  const isTs = self.endsWith('.ts');
  const modUrl = new URL(isTs ? './exec-db.ts' : './exec-db.js', import.meta.url).href;
  const big = 'x'.repeat(20_000); // larger than a pipe buffer: interleaving would show
  const script = `
    import { appendJobRecord } from ${JSON.stringify(modUrl)};
    const w = process.argv[process.argv.length - 1];
    for (let i = 0; i < 40; i++) appendJobRecord(${JSON.stringify(db)}, {
      invocation_id: 'inv' + w, job_id: 'inv' + w + '.' + i, timestamp: Date.now() / 1000, executor: 'local',
      data: { pad: ${JSON.stringify(big)} }, config: {} });
  `;
  const args = [...(isTs ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script];
  const codes = await Promise.all(
    Array.from({ length: 10 }, (_, w) => {
      const child = spawn(process.execPath, [...args, String(w)], { stdio: 'inherit' });
      return new Promise<number | null>((r) => child.on('exit', r));
    }),
  );
  assert.deepEqual(codes, Array(10).fill(0));
  const lines = readFileSync(db, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 400);
  for (const l of lines) JSON.parse(l);
  const v = ExecDb.open(db);
  assert.equal(v.invocationIds().length, 10);
  assert.equal(v.warnings.length, 0);
  for (let w = 0; w < 10; w++) assert.equal(v.jobIdsOf(`inv${w}`).length, 40);
});

test('a rewritten file that still looks like the indexed one is detected when a record is read', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  // a first record longer than the fingerprinted prefix, then one more
  const first = rec('aaaa', 0, { pad: 'p'.repeat(5000) });
  appendJobRecord(db, first);
  appendJobRecord(db, rec('aaaa', 1));
  ExecDb.open(db);
  // same first 4 KiB, different layout after it
  const text = readFileSync(db, 'utf8').split('\n');
  writeFileSync(
    db,
    [text[0], serializeJobRecord(rec('aaaa', 1, { moved: 'yes, this record moved' })), ''].join('\n'),
  );
  appendJobRecord(db, rec('bbbb', 0));
  const v = ExecDb.open(db);
  assert.equal(v.getJob('aaaa.1')!.data.moved, 'yes, this record moved');
  assert.deepEqual(v.invocationIds(), ['aaaa', 'bbbb']);
});
