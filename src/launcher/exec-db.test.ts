import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

test('last record wins, jobs keep first-seen order, records missing keys are skipped with a warning', () => {
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
  assert.equal(v.warnings.length, 1);
  assert.match(v.warnings[0]!, /skipped 1 damaged line in the exec DB .*exec\.v1\.jsonl \(line 5\)/);
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
  assert.match(v.warnings[0]!, /skipped 2 damaged lines in the exec DB .* \(line 2 and later\)/);
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

test('the index keeps odd ids, summaries and times exactly as a rebuild from the JSONL does', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  const odd = 'we\tird\\id\nx';
  appendJobRecord(db, rec(odd, 0, {}, 1700000001.25));
  appendJobRecord(db, { ...rec('plain', 1, {}, 1700000000.5), executor: 'slurm' });
  appendJobRecord(db, rec('plain', 2, {}, 1700000000.75));
  ExecDb.open(db); // writes the index
  const fromIndex = ExecDb.open(db);
  const fromJsonl = ExecDb.open(db, { useIndex: false });
  assert.deepEqual(fromIndex.invocationIds(), [odd, 'plain']);
  assert.deepEqual(fromIndex.invocationTimes(), fromJsonl.invocationTimes());
  assert.deepEqual(fromIndex.summaries(), fromJsonl.summaries());
  assert.equal(fromIndex.summaryOf('plain')!.executor, 'mixed');
  assert.deepEqual(fromIndex.jobsOf(odd), fromJsonl.jobsOf(odd));
});

test('a damaged line inside the index is rebuilt from the JSONL, on read and on update', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendJobRecord(db, rec('aaaa', 0));
  appendJobRecord(db, rec('bbbb', 0));
  ExecDb.open(db);
  const damage = () => {
    const text = readFileSync(indexPathFor(db), 'utf8');
    const damaged = text.replace(/\nbbbb\t([^\t\n]*)\t.*/, '\nbbbb\t$1\tx');
    assert.notEqual(damaged, text);
    writeFileSync(indexPathFor(db), damaged);
  };
  damage();
  assert.deepEqual(ExecDb.open(db).jobIdsOf('bbbb'), ['bbbb.0']);
  damage();
  assert.deepEqual(
    ExecDb.open(db)
      .invocationTimes()
      .map((t) => t.executor),
    ['local', 'local'],
  );
  ExecDb.open(db); // index rewritten
  damage();
  appendJobRecord(db, rec('bbbb', 1));
  const v = ExecDb.open(db);
  assert.deepEqual(v.jobIdsOf('bbbb'), ['bbbb.0', 'bbbb.1']);
  assert.equal(v.warnings.length, 0);
});

test('newestInvocations reads the tail of a time-ordered index and agrees with a full sort', () => {
  for (const order of ['in time order', 'out of order']) {
    const dir = tmp();
    const db = join(dir, 'exec.v1.jsonl');
    const stamps = [10, 20, 20, 30, 30, 30, 40, 50, 50];
    if (order === 'out of order') stamps.reverse();
    stamps.forEach((ts, i) => {
      const r = rec(`inv${i}`, 0, {}, 1700000000 + ts);
      appendJobRecord(db, i % 3 === 0 ? { ...r, executor: 'slurm' } : r);
    });
    ExecDb.open(db);
    const fromIndex = ExecDb.open(db);
    const fromJsonl = ExecDb.open(db, { useIndex: false });
    const all = () => true;
    const local = (t: { executor: string }) => t.executor === 'local';
    for (const [keep, limit] of [
      [all, 1],
      [all, 3],
      [all, 4],
      [local, 2],
      [local, 100],
      [all, 0],
      [all, undefined],
    ] as const) {
      const expected = fromJsonl
        .invocationTimes()
        .filter(keep)
        .sort((a, b) => b.earliest_job_ts - a.earliest_job_ts)
        .slice(0, limit);
      assert.deepEqual(fromIndex.newestInvocations(keep, limit), expected, `${order} ${limit}`);
    }
  }
});

test('an append after a truncated last line starts on a fresh line; both neighbours stay readable', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendJobRecord(db, rec('aaaa', 0));
  ExecDb.open(db); // an index exists, at the end of the first line
  appendFileSync(db, '{"invocation_id": "aaaa", "job_id": "aaaa.1", "timest'); // cut short
  appendJobRecord(db, rec('bbbb', 0));
  const text = readFileSync(db, 'utf8');
  assert.ok(text.endsWith('\n'));
  assert.equal(text.split('\n').length, 4);
  for (const v of [ExecDb.open(db), ExecDb.open(db), ExecDb.open(db, { useIndex: false })]) {
    assert.deepEqual(v.invocationIds(), ['aaaa', 'bbbb']);
    assert.equal(v.getJob('bbbb.0')!.job_id, 'bbbb.0');
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0]!, /skipped 1 damaged line in the exec DB .*exec\.v1\.jsonl \(line 2\)/);
  }
});

test('a record of the wrong shape is skipped, never a phantom 1970 invocation', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  appendFileSync(db, JSON.stringify({ invocation_id: 'zzzz', job_id: 'zzzz.0', executor: 'local' }) + '\n');
  appendFileSync(db, JSON.stringify({ ...rec('yyyy', 0), data: 'x' }) + '\n');
  appendJobRecord(db, rec('aaaa', 0));
  const v = ExecDb.open(db);
  assert.deepEqual(v.invocationIds(), ['aaaa']);
  assert.equal(v.warnings.length, 1);
  assert.match(v.warnings[0]!, /skipped 2 damaged lines .*\(line 1 and later\)/);
});

test('a DB path that is a directory gives one line naming it, on read and on append', () => {
  const dir = tmp();
  const db = join(dir, 'exec.v1.jsonl');
  mkdirSync(db);
  assert.throws(
    () => ExecDb.open(db),
    (e: Error) => e.message === `the exec DB path ${db} is a directory, not a file`,
  );
  assert.throws(() => appendJobRecord(db, rec('aaaa', 0)), /is a directory, not a file/);
});

test('a full disk: the append fails with one line and leaves the file as it was', () => {
  assert.throws(
    () => appendJobRecord('/dev/full', rec('aaaa', 0)),
    (e: Error) => e.message === 'cannot write the exec DB /dev/full: no space left on device',
  );
});
