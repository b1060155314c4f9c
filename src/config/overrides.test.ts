import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NelError } from '../common/errors.js';
import {
  applyKeyOverride,
  applyTaskNameOverride,
  isTaskNameOverride,
  parseOverride,
  parseOverrideValue,
  splitKey,
} from './overrides.js';

/** Asserts that fn throws a one-line NelError with `code` naming every part, and returns it. */
function throwsCode(fn: () => unknown, code: string, ...parts: string[]): NelError {
  let caught: NelError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NelError, `expected NelError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(!e.message.includes('\n'), `message is not one line: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' lacks '${p}'`);
    caught = e;
    return true;
  });
  return caught!;
}

test('values are typed like Hydra', () => {
  assert.equal(parseOverrideValue('42'), 42);
  assert.equal(parseOverrideValue('-3'), -3);
  assert.equal(parseOverrideValue('0.5'), 0.5);
  assert.equal(parseOverrideValue('1e3'), 1000);
  assert.equal(parseOverrideValue('true'), true);
  assert.equal(parseOverrideValue('False'), false);
  assert.equal(parseOverrideValue('null'), null);
  assert.equal(parseOverrideValue(''), '');
  assert.equal(parseOverrideValue('hello world'), 'hello world');
  assert.equal(parseOverrideValue("'42'"), '42');
  assert.equal(parseOverrideValue('"a, b"'), 'a, b');
  assert.equal(parseOverrideValue("'it\\'s'"), "it's");
  assert.equal(parseOverrideValue('${oc.env:HOME}'), '${oc.env:HOME}');
  assert.equal(parseOverrideValue('http://${host}:${port}/v1'), 'http://${host}:${port}/v1');
  assert.equal(parseOverrideValue('/path/to/x'), '/path/to/x');
});

test('lists and maps, nested, with quoted and typed items', () => {
  assert.deepEqual(parseOverrideValue('[1, two, "3", [true, null]]'), [1, 'two', '3', [true, null]]);
  assert.deepEqual(parseOverrideValue('[]'), []);
  assert.deepEqual(parseOverrideValue('{a: 1, b: x, c: {d: [1,2]}}'), { a: 1, b: 'x', c: { d: [1, 2] } });
  assert.deepEqual(parseOverrideValue("{'k.x': '${a.b}'}"), { 'k.x': '${a.b}' });
  assert.deepEqual(parseOverrideValue('[${a.b}, ${oc.select:x,1}]'), ['${a.b}', '${oc.select:x,1}']);
});

test('prefixes and keys', () => {
  assert.deepEqual(
    { kind: parseOverride('a.b=1').kind, key: parseOverride('a.b=1').key },
    { kind: 'set', key: 'a.b' },
  );
  assert.equal(parseOverride('+a.b=1').kind, 'add');
  assert.equal(parseOverride('++a.b=1').kind, 'force');
  const del = parseOverride('~a.b');
  assert.equal(del.kind, 'delete');
  assert.equal(del.valueText, undefined);
  assert.equal(parseOverride('a.b=x=y').value, 'x=y');
  assert.deepEqual(splitKey('evaluation.tasks[0].name'), ['evaluation', 'tasks', '0', 'name']);
});

test('bad override syntax is one clear line quoting the override', () => {
  throwsCode(() => parseOverride('a.b'), 'CONFIG_OVERRIDE', "'a.b'", "missing '='");
  throwsCode(() => parseOverride('=5'), 'CONFIG_OVERRIDE', "'=5'", 'empty key');
  throwsCode(() => parseOverride('a..b=1'), 'CONFIG_OVERRIDE', 'a..b');
  throwsCode(() => parseOverride('a=[1, 2'), 'CONFIG_OVERRIDE', "'a=[1, 2'", "unclosed '['");
  throwsCode(() => parseOverride('a={x: 1'), 'CONFIG_OVERRIDE', "unclosed '{'");
  throwsCode(() => parseOverride("a='abc"), 'CONFIG_OVERRIDE', 'unclosed quote');
  throwsCode(() => parseOverride('a=${x.y'), 'CONFIG_OVERRIDE', "unclosed '${'");
  throwsCode(() => parseOverride('a=[1]x'), 'CONFIG_OVERRIDE', 'unexpected text');
  throwsCode(() => parseOverride('a=x\ny'.replace('=', '')), 'CONFIG_OVERRIDE', '\\n');
});

test('set requires the key, + requires its absence, ++ does both, ~ deletes', () => {
  const cfg = { a: { b: 1, l: [{ name: 'x' }, { name: 'y' }] } } as Record<string, unknown>;
  applyKeyOverride(cfg, parseOverride('a.b=2'));
  assert.equal((cfg.a as { b: number }).b, 2);
  const missing = throwsCode(
    () => applyKeyOverride(cfg, parseOverride('a.c=3')),
    'CONFIG_OVERRIDE',
    "'a.c'",
    'does not exist',
  );
  assert.match(missing.hint ?? '', /\+a\.c=3/);
  applyKeyOverride(cfg, parseOverride('+a.c.d=3'));
  assert.deepEqual((cfg.a as Record<string, unknown>).c, { d: 3 });
  const present = throwsCode(
    () => applyKeyOverride(cfg, parseOverride('+a.b=5')),
    'CONFIG_OVERRIDE',
    "'a.b'",
    'already exists',
  );
  assert.match(present.hint ?? '', /\+\+a\.b=5/);
  applyKeyOverride(cfg, parseOverride('++a.b=7'));
  applyKeyOverride(cfg, parseOverride('++a.n=8'));
  assert.equal((cfg.a as Record<string, unknown>).b, 7);
  assert.equal((cfg.a as Record<string, unknown>).n, 8);
  applyKeyOverride(cfg, parseOverride('a.l.1.name=z'));
  assert.deepEqual((cfg.a as { l: unknown[] }).l[1], { name: 'z' });
  throwsCode(() => applyKeyOverride(cfg, parseOverride('~a.n=9')), 'CONFIG_OVERRIDE', 'not 9');
  applyKeyOverride(cfg, parseOverride('~a.n=8'));
  applyKeyOverride(cfg, parseOverride('~a.c'));
  assert.deepEqual(Object.keys(cfg.a as object), ['b', 'l']);
  throwsCode(() => applyKeyOverride(cfg, parseOverride('~a.zz')), 'CONFIG_OVERRIDE', 'a.zz', 'not found');
  throwsCode(() => applyKeyOverride(cfg, parseOverride('a.l.5.name=q')), 'CONFIG_OVERRIDE', 'a.l.5.name');
});

function tasksCfg(names: string[]): Record<string, unknown> {
  return { evaluation: { tasks: names.map((name) => ({ name })) } };
}
const task = (cfg: Record<string, unknown>, i: number): Record<string, unknown> =>
  (cfg.evaluation as { tasks: Record<string, unknown>[] }).tasks[i]!;

test('task-name form: exact, dotted names, suffix match, YAML values', () => {
  const cfg = tasksCfg(['lm-evaluation-harness.ifeval', 'mmlu', 'simple_evals.gpqa_diamond']);
  assert.ok(isTaskNameOverride(parseOverride('evaluation.tasks.mmlu.x=1')));
  assert.ok(!isTaskNameOverride(parseOverride('evaluation.tasks.0.x=1')));
  applyTaskNameOverride(
    cfg,
    parseOverride('evaluation.tasks.mmlu.nemo_evaluator_config.config.params.parallelism=64'),
  );
  assert.deepEqual(task(cfg, 1).nemo_evaluator_config, { config: { params: { parallelism: 64 } } });
  applyTaskNameOverride(
    cfg,
    parseOverride('evaluation.tasks.lm-evaluation-harness.ifeval.endpoint_type=completions'),
  );
  assert.equal(task(cfg, 0).endpoint_type, 'completions');
  applyTaskNameOverride(cfg, parseOverride('evaluation.tasks.gpqa_diamond.env_vars={HF_TOKEN: "host:T"}'));
  assert.deepEqual(task(cfg, 2).env_vars, { HF_TOKEN: 'host:T' });
  applyTaskNameOverride(cfg, parseOverride('~evaluation.tasks.gpqa_diamond.env_vars'));
  assert.equal(task(cfg, 2).env_vars, undefined);
});

test('task-name form errors: unknown task, duplicates suggest the index form', () => {
  const cfg = tasksCfg(['mmlu', 'mmlu', 'a.gsm8k', 'b.gsm8k']);
  throwsCode(
    () => applyTaskNameOverride(cfg, parseOverride('evaluation.tasks.nope.x=1')),
    'CONFIG_OVERRIDE',
    "'nope'",
    'mmlu',
  );
  assert.throws(
    () => applyTaskNameOverride(cfg, parseOverride('evaluation.tasks.mmlu.pre_cmd=x')),
    (e: NelError) =>
      e.code === 'CONFIG_OVERRIDE' &&
      /indices 0, 1/.test(e.message) &&
      /\+\+evaluation\.tasks\.0\.pre_cmd=/.test(e.hint!),
  );
  throwsCode(
    () => applyTaskNameOverride(cfg, parseOverride('evaluation.tasks.gsm8k.pre_cmd=x')),
    'CONFIG_OVERRIDE',
    'a.gsm8k, b.gsm8k',
  );
});
