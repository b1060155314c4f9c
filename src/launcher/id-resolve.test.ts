import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecDb, appendJobRecord } from './exec-db.js';
import { latestInvocation, resolveId, resolveInvocationPrefix } from './id-resolve.js';
import { NelError } from '../common/errors.js';

function dbWith(invs: [string, number][]): ExecDb {
  const path = join(mkdtempSync(join(tmpdir(), 'nel-ids-')), 'db.jsonl');
  for (const [inv, ts] of invs)
    for (let i = 0; i < 2; i++)
      appendJobRecord(path, {
        invocation_id: inv,
        job_id: `${inv}.${i}`,
        timestamp: ts,
        executor: 'local',
        data: {},
        config: {},
      });
  return ExecDb.open(path);
}

const db = dbWith([
  ['9f2c4e1a0b3d5c7e', 100],
  ['9f2d000000000000', 300],
  ['abcdef0123456789', 200],
]);

test('a unique case-insensitive prefix resolves an invocation', () => {
  assert.equal(resolveInvocationPrefix(db, 'ABC'), 'abcdef0123456789');
  const r = resolveId(db, '9f2c');
  assert.equal(r.kind, 'invocation');
  assert.deepEqual(r.jobIds, ['9f2c4e1a0b3d5c7e.0', '9f2c4e1a0b3d5c7e.1']);
});

test('job ids resolve through a prefix and must exist', () => {
  assert.deepEqual(resolveId(db, 'abc.1'), {
    kind: 'job',
    invocationId: 'abcdef0123456789',
    jobIds: ['abcdef0123456789.1'],
  });
  assert.throws(
    () => resolveId(db, 'abc.7'),
    (e: unknown) => e instanceof NelError && e.code === 'JOB_NOT_FOUND' && /abc\.7/.test(e.message),
  );
});

test('an ambiguous prefix lists the matches; an unknown one hints at ls runs', () => {
  assert.throws(
    () => resolveId(db, '9f2'),
    (e: unknown) =>
      e instanceof NelError &&
      e.code === 'ID_AMBIGUOUS' &&
      e.message.includes('9f2c4e1a0b3d5c7e') &&
      e.message.includes('9f2d000000000000'),
  );
  assert.throws(
    () => resolveId(db, '9f2.0'),
    (e: unknown) => e instanceof NelError && e.code === 'ID_AMBIGUOUS',
  );
  assert.throws(
    () => resolveId(db, 'ffff'),
    (e: unknown) => e instanceof NelError && e.code === 'JOB_NOT_FOUND' && /ls runs/.test(e.hint ?? ''),
  );
});

test('latestInvocation is the newest by creation time', () => {
  assert.equal(latestInvocation(db), '9f2d000000000000');
});
