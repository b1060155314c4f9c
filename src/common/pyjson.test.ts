import { test } from 'node:test';
import assert from 'node:assert/strict';
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
