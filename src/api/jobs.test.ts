import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJobRecord } from '../launcher/exec-db.js';
import { formatRuns, listRuns, parseSince } from './jobs.js';
import { NelError } from '../common/errors.js';

const now = new Date('2026-06-10T12:00:00Z');
const day = 86400;

function db(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nel-ls-')), 'db.jsonl');
  const add = (inv: string, ageDays: number, tasks: string[], executor = 'local') =>
    tasks.forEach((t, i) =>
      appendJobRecord(path, {
        invocation_id: inv,
        job_id: `${inv}.${i}`,
        timestamp: now.getTime() / 1000 - ageDays * day + i,
        executor,
        data: {},
        config: { evaluation: { tasks: tasks.map((name) => ({ name })) } },
      }),
    );
  add('1111111111111111', 10, ['mmlu']);
  add('2222222222222222', 3, ['gsm8k', 'humaneval', 'gsm8k']);
  add('3333333333333333', 0.5, ['humaneval'], 'slurm');
  return path;
}

test('parseSince accepts Nd, Nh, YYYY-MM-DD and ISO; anything else exits 2', () => {
  assert.equal(parseSince('2d', now).getTime(), now.getTime() - 2 * day * 1000);
  assert.equal(parseSince('12h', now).getTime(), now.getTime() - 12 * 3600 * 1000);
  assert.equal(parseSince('2026-06-01', now).getDate(), 1);
  assert.equal(parseSince('2026-06-01T10:00:00Z', now).toISOString(), '2026-06-01T10:00:00.000Z');
  for (const bad of ['yesterday', '2026-13-01', '5w', ''])
    assert.throws(
      () => parseSince(bad, now),
      (e: unknown) => e instanceof NelError && e.exitCode === 2,
    );
});

test('listRuns sorts newest first and applies --since, --executor and --limit', () => {
  const dbPath = db();
  const all = listRuns({ dbPath, now }).runs;
  assert.deepEqual(
    all.map((r) => r.invocation_id),
    ['3333333333333333', '2222222222222222', '1111111111111111'],
  );
  assert.deepEqual(all[1]!.benchmarks, ['gsm8k', 'humaneval']);
  assert.equal(all[1]!.num_jobs, 3);
  assert.deepEqual(
    listRuns({ dbPath, now, since: '5d' }).runs.map((r) => r.invocation_id),
    ['3333333333333333', '2222222222222222'],
  );
  assert.deepEqual(
    listRuns({ dbPath, now, limit: 1 }).runs.map((r) => r.invocation_id),
    ['3333333333333333'],
  );
  assert.deepEqual(
    listRuns({ dbPath, now, executor: 'local' }).runs.map((r) => r.invocation_id),
    ['2222222222222222', '1111111111111111'],
  );
  const text = formatRuns(all);
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^invocation_id\s+earliest_job_ts\s+num_jobs\s+executor\s+benchmarks$/);
  assert.match(
    lines[2]!,
    /^2222222222222222\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\s+3\s+local\s+gsm8k,humaneval$/,
  );
  assert.equal(JSON.parse(formatRuns(all, { json: true })).length, 3);
  assert.equal(formatRuns([]), 'No runs found.\n');
});
