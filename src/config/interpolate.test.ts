import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NelError } from '../common/errors.js';
import { resolveInterpolations } from './interpolate.js';

const resolve = (cfg: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Record<string, unknown> =>
  resolveInterpolations(cfg, { env, source: '/cfg/run.yaml' });

function throwsCode(fn: () => unknown, code: string, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NelError, `expected NelError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' lacks '${p}'`);
    return true;
  });
}

test('absolute references keep the type; string interpolation builds text', () => {
  const out = resolve({
    d: { port: 8000, host: 'localhost', on: true, list: [1, 2], map: { a: 1 } },
    url: 'http://${d.host}:${d.port}/v1',
    port: '${d.port}',
    on: '${d.on}',
    list: '${d.list}',
    map: '${d.map}',
    item: '${d.list[1]}',
    item2: '${d.list.0}',
    flag: '--x ${d.on}',
  });
  assert.equal(out.url, 'http://localhost:8000/v1');
  assert.equal(out.port, 8000);
  assert.equal(out.on, true);
  assert.deepEqual(out.list, [1, 2]);
  assert.deepEqual(out.map, { a: 1 });
  assert.equal(out.item, 2);
  assert.equal(out.item2, 1);
  assert.equal(out.flag, '--x True');
});

test('relative references follow OmegaConf: . is the parent node, .. one level up', () => {
  const out = resolve({
    a: { b: { x: 1, y: '${.x}', z: '${..w}' }, w: 'up' },
    l: [{ n: 'first', copy: '${.n}' }],
  });
  assert.deepEqual(out.a, { b: { x: 1, y: 1, z: 'up' }, w: 'up' });
  assert.deepEqual((out.l as unknown[])[0], { n: 'first', copy: 'first' });
});

test('chains and nested interpolations resolve; the input is not changed', () => {
  const input = {
    a: '${b}',
    b: '${c}',
    c: 'v',
    which: 'c',
    n: '${${which}}',
    k: { c: 5 },
    m: '${k.${which}}',
  };
  const out = resolve(input);
  assert.equal(out.a, 'v');
  assert.equal(out.n, 'v');
  assert.equal(out.m, 5);
  assert.equal(input.a, '${b}');
});

test('oc.env with and without default, oc.select, select_not_null, oc.decode', () => {
  const out = resolve(
    {
      home: '${oc.env:MY_HOME}',
      dflt: '${oc.env:NOT_SET,fallback}',
      dnull: '${oc.env:NOT_SET,null}',
      sel: '${oc.select:a.missing,7}',
      sel2: '${oc.select:a.v,7}',
      snn: '${select_not_null:a.nul,/checkpoint}',
      snn2: '${select_not_null:a.v,/checkpoint}',
      dec: '${oc.decode:${oc.env:NUM}}',
      a: { v: 'x', nul: null },
      escaped: 'echo \\${HOME} $PATH',
    },
    { MY_HOME: '/h', NUM: '12' },
  );
  assert.equal(out.home, '/h');
  assert.equal(out.dflt, 'fallback');
  assert.equal(out.dnull, null);
  assert.equal(out.sel, 7);
  assert.equal(out.sel2, 'x');
  assert.equal(out.snn, '/checkpoint');
  assert.equal(out.snn2, 'x');
  assert.equal(out.dec, 12);
  assert.equal(out.escaped, 'echo ${HOME} $PATH');
});

test('errors name the key holding the interpolation and the file', () => {
  throwsCode(
    () => resolve({ a: { b: '${nope.x}' } }),
    'CONFIG_INTERPOLATION',
    'a.b',
    'nope.x',
    '/cfg/run.yaml',
  );
  throwsCode(
    () => resolve({ a: '${b}', b: '${c}', c: '${a}' }),
    'CONFIG_INTERPOLATION',
    'cycle',
    'a -> b -> c -> a',
  );
  throwsCode(() => resolve({ k: '${oc.env:SECRET_X}' }), 'CONFIG_INTERPOLATION', 'k', 'SECRET_X', 'not set');
  throwsCode(
    () => resolve({ k: '${oc.nothing:x}' }),
    'CONFIG_INTERPOLATION',
    "unknown resolver 'oc.nothing'",
  );
  throwsCode(() => resolve({ k: 'echo ${HOME' }), 'CONFIG_INTERPOLATION', 'k', 'cannot parse');
  throwsCode(() => resolve({ k: '${}' }), 'CONFIG_INTERPOLATION', 'k');
  throwsCode(() => resolve({ k: '${m}', m: '???' }), 'CONFIG_INTERPOLATION', 'k', 'no value');
});
