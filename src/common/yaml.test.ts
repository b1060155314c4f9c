import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dumpPlainYaml, dumpYaml, dumpYamlSorted, parseYaml, sortedYamlView } from './yaml.js';

const HOSTILE_STRINGS = [
  '',
  ' ',
  ' lead',
  'trail ',
  'true',
  'False',
  'yes',
  'NO',
  'on',
  'off',
  'y',
  'N',
  'null',
  'Null',
  '~',
  '0',
  '1.5',
  '1e3',
  '0x1f',
  '0o17',
  '.inf',
  '-.inf',
  '.nan',
  '1_000',
  '12:30:00',
  '2025-01-01',
  '2025-01-01T10:00:00Z',
  'a: b',
  'a:',
  'a #b',
  '#x',
  '- x',
  '-',
  '? x',
  '[a]',
  '{a: 1}',
  '*alias',
  '&anchor',
  '!tag',
  '%directive',
  '@at',
  '`tick',
  '|',
  '>',
  "'single'",
  '"double"',
  'back\\slash',
  'multi\nline\n',
  'tab\there',
  'cr\rlf',
  '$(rm -rf /)',
  '${HOME}',
  'é ü 中文 🙂',
  '\u0085nel',
  '\u2028ls',
  '\ufeffbom',
  '\u0000nul',
  '<<',
  'http://127.0.0.1:9/v1/chat/completions',
  'meta/llama-3.1-8b-instruct',
  'builtin.gsm8k',
  'plain words here',
];

const SAMPLE = {
  zeta: 1,
  alpha: {
    list: ['a', 1, 2.5, -0.25, true, null, { b: 2, a: 1 }, [], {}, [1, [2, 3]], [{ x: 1 }]],
    empty_list: [],
    empty_map: {},
    big: 1e21,
    small: 1e-7,
    neg: -3,
  },
  strings: HOSTILE_STRINGS,
  keyed: Object.fromEntries(HOSTILE_STRINGS.map((s, i) => [s, i])),
  nested: { deeper: { deepest: { value: 'x', list: [[['y']]] } } },
  skipped: undefined,
};

test('dumpPlainYaml output parses back to the same data, for hostile strings as values and keys', () => {
  for (const sortKeys of [false, true]) {
    const text = dumpPlainYaml(SAMPLE, { sortKeys });
    assert.deepEqual(parseYaml(text), JSON.parse(JSON.stringify(SAMPLE)));
  }
  for (const s of HOSTILE_STRINGS) assert.equal(parseYaml(dumpPlainYaml(s)), s, JSON.stringify(s));
  for (const v of [null, 0, -1, 2.5, true, false, [], {}, 'x'])
    assert.deepEqual(parseYaml(dumpPlainYaml(v)), v);
});

test('dumpPlainYaml sorts keys at every level when asked and keeps insertion order otherwise', () => {
  const v = { b: { d: 1, c: 2 }, a: [{ f: 1, e: 2 }] };
  assert.equal(dumpPlainYaml(v, { sortKeys: true }), 'a:\n  - e: 2\n    f: 1\nb:\n  c: 2\n  d: 1\n');
  assert.equal(dumpPlainYaml(v), 'b:\n  d: 1\n  c: 2\na:\n  - f: 1\n    e: 2\n');
});

test('dumpPlainYaml matches the library for ordinary configs and quotes only what needs it', () => {
  const cfg = {
    config: { type: 'gsm8k', output_dir: '/results', params: { limit_samples: 10, temperature: 0 } },
    target: { api_endpoint: { url: 'http://127.0.0.1:9/v1/chat/completions', model_id: 'a/b-1.0' } },
    metadata: { versioning: { nemo_evaluator_launcher: 'v0.1.0' }, tasks: ['x', 'z'], none: null },
  };
  assert.equal(dumpPlainYaml(cfg, { sortKeys: true }), dumpYamlSorted(cfg));
  assert.equal(dumpPlainYaml(cfg), dumpYaml(cfg));
  assert.equal(dumpPlainYaml({ a: 'true', b: 'a: b', c: 'x\ny' }), 'a: "true"\nb: "a: b"\nc: "x\\ny"\n');
  // more careful than the library: YAML 1.1 readers take y for a boolean; 0.1.0 starts like a number
  assert.equal(dumpPlainYaml(['y', '0.1.0']), '- "y"\n- "0.1.0"\n');
});

test('dumpPlainYaml falls back to the library for data that is not plain', () => {
  const d = new Date('2025-01-01T00:00:00Z');
  assert.equal(dumpPlainYaml({ d }, { sortKeys: true }), dumpYamlSorted({ d }));
  const m = new Map([['k', 1]]);
  assert.equal(dumpPlainYaml({ m }), dumpYaml({ m }));
});

/** The keys of every object, in order, at every level (deepEqual does not compare key order). */
function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, keyOrder(x)]);
  return null;
}

test('sortedYamlView is the data as dumpYamlSorted and parseYaml give it back, key order included', () => {
  const { '<<': _merge, ...keyed } = SAMPLE.keyed;
  const cases: unknown[] = [
    { ...SAMPLE, keyed },
    { b: [undefined, 1, { d: undefined, c: NaN }], a: -0, inf: Infinity, ninf: -Infinity, '10': 1, '9': 2 },
    {
      tasks: {
        gsm8k: { metrics: { exact_match: { scores: { strict: { value: 0.5, stats: { stderr: 0.1 } } } } } },
      },
    },
    [],
    {},
    'x',
    3,
    null,
  ];
  for (const v of cases) {
    const viaFile = parseYaml(dumpYamlSorted(v));
    const view = sortedYamlView(v);
    assert.deepEqual(view, viaFile);
    assert.deepEqual(keyOrder(view), keyOrder(viaFile));
  }
});

test('sortedYamlView gives undefined for data that is not plain', () => {
  assert.equal(sortedYamlView({ when: new Date(0) }), undefined);
  assert.equal(sortedYamlView({ m: new Map() }), undefined);
  assert.equal(sortedYamlView({ f: () => 1 }), undefined);
  // a `<<` key is a merge key to parseYaml: the file is read instead
  assert.equal(sortedYamlView(SAMPLE), undefined);
  class Box {
    v = 1;
  }
  assert.equal(sortedYamlView([new Box()]), undefined);
});
