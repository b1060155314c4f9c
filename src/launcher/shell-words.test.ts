import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerArgWords, splitShellWords } from './shell-words.js';

test('splits like a POSIX shell without expanding', () => {
  assert.deepEqual(splitShellWords('  --network host   -v /a:/b '), ['--network', 'host', '-v', '/a:/b']);
  assert.deepEqual(splitShellWords(`--label 'a b' --env "X=\\"q\\" \\$HOME" c\\ d`), [
    '--label',
    'a b',
    '--env',
    'X="q" $HOME',
    'c d',
  ]);
  assert.deepEqual(splitShellWords(`'$(touch /tmp/x)' \`id\` ''`), ['$(touch /tmp/x)', '`id`', '']);
  assert.deepEqual(splitShellWords('a"b"\'c\'d'), ['abcd']);
  assert.deepEqual(splitShellWords(''), []);
});

test('unclosed quotes are config errors; lists are taken as words', () => {
  assert.throws(() => splitShellWords("a 'b"), /unclosed single quote/);
  assert.throws(() => splitShellWords('a "b'), /unclosed double quote/);
  assert.deepEqual(dockerArgWords(['--cpus', 2]), ['--cpus', '2']);
  assert.deepEqual(dockerArgWords(null), []);
  assert.throws(() => dockerArgWords({ a: 1 }), /must be a string or a list/);
});
