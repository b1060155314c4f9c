import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NelError } from '../common/errors.js';
import { loadEnvFile, parseEnvFile } from './env-file.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-envfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('parses NAME=value lines, export, quotes and comments', () => {
  const pairs = parseEnvFile(
    '# comment\n\nA=1\nexport B = two words # note\nC="x\\ny"\nD=\'$lit #\'\nE=\n',
    'f',
  );
  assert.deepEqual(pairs, [
    ['A', '1'],
    ['B', 'two words'],
    ['C', 'x\ny'],
    ['D', '$lit #'],
    ['E', ''],
  ]);
});

test('bad lines name the file and line, never the value', () => {
  assert.throws(
    () => parseEnvFile('A=1\nnot a line with secret-value\n', '/x/.env'),
    (e: NelError) =>
      e.code === 'ENV_INVALID' &&
      e.message.includes('line 2') &&
      e.message.includes('/x/.env') &&
      !e.message.includes('secret-value'),
  );
});

test('./.env is used when present and never overrides variables already set', () => {
  writeFileSync(join(dir, '.env'), 'NEW_ONE=a\nALREADY=b\nEMPTY_SET=c\n');
  const env: NodeJS.ProcessEnv = { ALREADY: 'keep', EMPTY_SET: '' };
  const r = loadEnvFile(undefined, { cwd: dir, env });
  assert.deepEqual(r.loaded, ['NEW_ONE']);
  assert.deepEqual(r.skipped, ['ALREADY', 'EMPTY_SET']);
  assert.equal(env.NEW_ONE, 'a');
  assert.equal(env.ALREADY, 'keep');
  assert.equal(env.EMPTY_SET, '');
});

test('no ./.env is fine; a given --env-file must exist', () => {
  const empty = mkdtempSync(join(dir, 'e-'));
  assert.deepEqual(loadEnvFile(undefined, { cwd: empty, env: {} }), { loaded: [], skipped: [], path: null });
  assert.throws(
    () => loadEnvFile('missing.env', { cwd: empty, env: {} }),
    (e: NelError) => e.code === 'CONFIG_NOT_FOUND' && e.message.includes("'missing.env' does not exist"),
  );
  writeFileSync(join(empty, 'my.env'), 'Q=1\n');
  const env: NodeJS.ProcessEnv = {};
  assert.deepEqual(loadEnvFile('my.env', { cwd: empty, env }).loaded, ['Q']);
  assert.equal(env.Q, '1');
});
