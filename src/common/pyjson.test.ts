import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PyFloat, pyFloatRepr, pyJsonDumps } from './pyjson.js';

test('serialises like Python json.dumps(sort_keys=True)', () => {
  const body = {
    model: 'm',
    messages: [{ role: 'user', content: 'héllo "x"\n' }],
    temperature: 0.5,
    top_p: 1e-5,
  };
  assert.equal(
    pyJsonDumps(body),
    '{"messages": [{"content": "h\\u00e9llo \\"x\\"\\n", "role": "user"}], "model": "m", "temperature": 0.5, "top_p": 1e-05}',
  );
});

test('floats follow Python repr, PyFloat keeps whole floats as floats', () => {
  assert.equal(pyFloatRepr(1e-7), '1e-07');
  assert.equal(pyFloatRepr(0.9999999), '0.9999999');
  assert.equal(pyFloatRepr(1e16), '1e+16');
  assert.equal(pyJsonDumps({ t: new PyFloat(0), n: 0 }), '{"n": 0, "t": 0.0}');
});

test('every UTF-16 unit is escaped as Python json.dumps escapes it (checked against python3)', (t) => {
  const py = spawnSync('python3', ['--version']);
  if (py.status !== 0) return t.skip('python3 is not installed');
  const units: string[] = [];
  for (let c = 0; c <= 0xffff; c++) units.push(String.fromCharCode(c));
  const samples = [
    units.join(''),
    'plain ASCII with "quotes" and \\ backslash',
    'astral 😀 and 𝔸 beside text',
    'lone high \ud800 and lone low \udc00 surrogates',
  ];
  // Python reads the strings from JSON (which carries lone surrogates as escapes) and dumps them back.
  const r = spawnSync(
    'python3',
    ['-c', 'import json,sys\nfor s in json.loads(sys.stdin.read()): print(json.dumps(s))'],
    { input: JSON.stringify(samples), encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  assert.equal(r.status, 0, r.stderr);
  const expected = r.stdout.trimEnd().split('\n');
  assert.equal(expected.length, samples.length);
  samples.forEach((s, i) => assert.equal(pyJsonDumps(s), expected[i], `sample ${i}`));
});
