import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NelError } from '../common/errors.js';
import { deploymentEnvVars, evaluationEnvVars, findMissingHostVars, parseEnvVarValue } from './env-vars.js';

const src = (v: unknown) => parseEnvVarValue('T', v, 'env_vars.T').source;

test('prefixes and the seed rule', () => {
  assert.deepEqual(src('host:MY_KEY'), { kind: 'host', name: 'MY_KEY' });
  assert.deepEqual(src('lit:a b $c'), { kind: 'lit', value: 'a b $c' });
  assert.deepEqual(src('lit:'), { kind: 'lit', value: '' });
  assert.deepEqual(src('runtime:LATE'), { kind: 'runtime', name: 'LATE' });
  assert.deepEqual(src('HF_TOKEN_FOR_GPQA_DIAMOND'), { kind: 'host', name: 'HF_TOKEN_FOR_GPQA_DIAMOND' });
});

test('values that are not names are errors suggesting lit:', () => {
  const isEnvInvalid = (re: RegExp) => (e: unknown) =>
    e instanceof NelError && e.code === 'ENV_INVALID' && re.test(`${e.message} ${e.hint}`);
  assert.throws(() => src('some value'), isEnvInvalid(/lit:/));
  assert.throws(() => src(42), isEnvInvalid(/'lit:42'/));
  assert.throws(() => src(true), isEnvInvalid(/'lit:true'/));
  assert.throws(() => src(null), isEnvInvalid(/env_vars\.T/));
  assert.throws(() => src('$HOME'), isEnvInvalid(/host:HOME/));
  assert.throws(() => src('host:not a name'), isEnvInvalid(/host:/));
  assert.throws(
    () => parseEnvVarValue('BAD-NAME', 'lit:x', 'env_vars.BAD-NAME'),
    isEnvInvalid(/not a valid environment variable name/),
  );
  assert.throws(
    () => src('some value'),
    (e: unknown) => e instanceof NelError && !e.message.includes('some value'),
  );
});

test('merge order and the API key under its own name', () => {
  const resolved = {
    env_vars: { A: 'lit:top', B: 'lit:top', C: 'host:CTOP' },
    evaluation: { env_vars: { B: 'lit:eval', D: 'lit:eval' } },
    target: { api_endpoint: { api_key_name: 'NGC_API_KEY' } },
    deployment: { type: 'vllm', env_vars: { C: 'host:CDEP' } },
  };
  const specs = evaluationEnvVars(resolved, { env_vars: { D: 'host:DTASK' } }, 3);
  assert.deepEqual(
    specs.map((s) => [s.target, s.source, s.declaredAt]),
    [
      ['A', { kind: 'lit', value: 'top' }, 'env_vars.A'],
      ['B', { kind: 'lit', value: 'eval' }, 'evaluation.env_vars.B'],
      ['C', { kind: 'host', name: 'CTOP' }, 'env_vars.C'],
      ['D', { kind: 'host', name: 'DTASK' }, 'evaluation.tasks[3].env_vars.D'],
      ['NGC_API_KEY', { kind: 'host', name: 'NGC_API_KEY' }, 'target.api_endpoint.api_key_name'],
    ],
  );
  const declared = evaluationEnvVars(resolved, { env_vars: { NGC_API_KEY: 'lit:x' } }, 0);
  assert.deepEqual(declared.find((s) => s.target === 'NGC_API_KEY')!.source, { kind: 'lit', value: 'x' });
  const dep = deploymentEnvVars(resolved);
  assert.deepEqual(dep.find((s) => s.target === 'C')!.source, { kind: 'host', name: 'CDEP' });
  assert.deepEqual(findMissingHostVars(specs, { CTOP: '' }), [
    { name: 'DTASK', declaredAt: 'evaluation.tasks[3].env_vars.D' },
    { name: 'NGC_API_KEY', declaredAt: 'target.api_endpoint.api_key_name' },
  ]);
});

test('no api key name, or the packaged placeholder, adds nothing', () => {
  assert.deepEqual(evaluationEnvVars({ target: { api_endpoint: { api_key_name: null } } }, {}, 0), []);
  assert.deepEqual(
    evaluationEnvVars({ target: { api_endpoint: { api_key_name: '<YOUR_API_KEY_NAME>' } } }, {}, 0),
    [],
  );
  assert.throws(
    () => evaluationEnvVars({ target: { api_endpoint: { api_key_name: 'a b' } } }, {}, 0),
    /api_key_name/,
  );
});
