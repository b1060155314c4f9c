import { test } from 'node:test';
import { listBenchmarks } from '../engine/benchmarks/index.js';
import assert from 'node:assert/strict';
import { NelError } from '../common/errors.js';
import { engineImageRef } from '../runtime/engine-image-ref.js';
import { sharedPath } from '../../test/support/paths.js';
import { builtinCatalogue, editDistance, loadTaskCatalogue, resolveTask } from './catalogue.js';
import { formatTaskDetail, formatTaskList } from './format.js';

const cat = builtinCatalogue();
const r = (name: string, extra: { container?: string; endpoint_type?: string } = {}) =>
  resolveTask(cat, { name, ...extra });

test('v0.1.x bare names resolve as v0.1.28 did', () => {
  const ifeval = r('ifeval');
  assert.equal(ifeval.harness, 'lm-evaluation-harness');
  assert.equal(ifeval.endpointType, 'chat');
  assert.equal(ifeval.container, 'nvcr.io/nvidia/eval-factory/lm-evaluation-harness:25.10');
  assert.equal(r('gpqa_diamond').harness, 'simple_evals');
  assert.equal(r('mbpp').harness, 'bigcode-evaluation-harness');
  assert.equal(r('mbpp').endpointType, 'chat');
  assert.equal(r('mgsm').harness, 'simple_evals');
  assert.equal(r('gsm8k').harness, 'lm-evaluation-harness');
  assert.equal(r('simple_evals.mmlu_pro').endpointType, 'chat');
  assert.ok(cat.tasks.length >= 60 && cat.tasks.length <= 130);
});

test('builtin tasks run in the engine image and need builtin. when the name collides', () => {
  const g = r('builtin.gsm8k');
  assert.equal(g.container, engineImageRef());
  assert.deepEqual(g.supportedEndpointTypes, ['chat', 'completions']);
  assert.equal(r('builtin.humaneval').endpointType, 'completions');
  assert.equal(r('custom').harness, 'builtin');
  assert.equal(r('builtin.gsm8k', { endpoint_type: 'completions' }).endpointType, 'completions');
});

test('ambiguous, unknown and malformed names are clear errors', () => {
  assert.throws(
    () => r('mmlu'),
    (e: unknown) =>
      e instanceof NelError &&
      e.code === 'TASK_AMBIGUOUS' &&
      e.message.includes("['lm-evaluation-harness.mmlu', 'simple_evals.mmlu'"),
  );
  assert.throws(
    () => r('no_such_task'),
    (e: unknown) => e instanceof NelError && /Task 'no_such_task' not found/.test(e.message) && !!e.hint,
  );
  assert.throws(
    () => r('a.b.c'),
    (e: unknown) => e instanceof NelError && /invalid query/.test(e.message),
  );
  assert.throws(() => r('nope.ifeval'), /Harness 'nope' not found in supported harnesses/);
});

test('unknown task of a known harness and explicit containers are unlisted', () => {
  const u = r('simple_evals.brand_new');
  assert.equal(u.isUnlisted, true);
  assert.equal(u.container, 'nvcr.io/nvidia/eval-factory/simple-evals:25.10');
  const c = r('my_task', { container: 'example.com/img:1', endpoint_type: 'completions' });
  assert.equal(c.isUnlisted, true);
  assert.equal(c.endpointType, 'completions');
  const listed = r('ifeval', { container: 'nvcr.io/nvidia/eval-factory/lm-evaluation-harness:25.10' });
  assert.equal(listed.isUnlisted, false);
  assert.throws(
    () => r('simple_evals.ifeval', { container: 'nvcr.io/nvidia/eval-factory/lm-evaluation-harness:25.10' }),
    /does not match container/,
  );
});

test('an upstream all_tasks_irs.yaml replaces the built-in tasks but keeps builtin', () => {
  const file = sharedPath('data', 'upstream', 'all_tasks_irs.yaml');
  const loaded = loadTaskCatalogue({ env: { NEL_TASKS_FILE: file } });
  assert.equal(loaded.source, file);
  assert.equal(loaded.tasks.length, 421 + listBenchmarks().length);
  const t = resolveTask(loaded, { name: 'lm-evaluation-harness.mmlu' });
  assert.match(t.container, /lm-evaluation-harness:26\.03$/);
  assert.deepEqual(t.supportedEndpointTypes, ['completions']);
  assert.ok(t.defaults && typeof t.defaults.command === 'string');
  assert.equal(resolveTask(loaded, { name: 'builtin.gsm8k' }).container, engineImageRef());
  assert.equal(loadTaskCatalogue({ tasksFile: file, env: {} }), loaded, 'kept in memory for the process');
  assert.throws(
    () => loadTaskCatalogue({ tasksFile: '/nonexistent/tasks.yaml' }),
    /cannot read the task catalogue/,
  );
});

test('ls tasks / ls task formatting', () => {
  const json = JSON.parse(formatTaskList(cat, { json: true })) as { tasks: Record<string, string>[] };
  assert.deepEqual(Object.keys(json.tasks[0]!).sort(), [
    'arch',
    'builtin_equivalent',
    'container',
    'description',
    'endpoint_type',
    'harness',
    'task',
  ]);
  const text = formatTaskList(cat);
  assert.match(
    text,
    /^harness: lm-evaluation-harness\ncontainer: nvcr\.io\/nvidia\/eval-factory\/lm-evaluation-harness:25\.10\n/,
  );
  assert.match(
    text,
    new RegExp(`\\n${cat.tasks.length} tasks available; \\d+ marked \\[built-in: X\\] .*\\n$`),
  );
  const loaded = loadTaskCatalogue({ tasksFile: sharedPath('data', 'upstream', 'all_tasks_irs.yaml') });
  const detail = formatTaskDetail(resolveTask(loaded, { name: 'lm-evaluation-harness.mmlu' }));
  assert.match(detail, /^task: mmlu\nharness: lm-evaluation-harness\n/);
  assert.match(detail, /defaults:\n {2}command: /);
  assert.match(detail, /supported_endpoint_types:/);
});

test('an unknown built-in task is a typo with a suggestion, not an unlisted task', () => {
  assert.throws(
    () => r('builtin.gsm8kk'),
    (e: unknown) =>
      e instanceof NelError &&
      e.message === 'unknown task builtin.gsm8kk; did you mean builtin.gsm8k?' &&
      /nel ls tasks/.test(e.hint ?? ''),
  );
  assert.throws(
    () => r('builtin.zzzzzz'),
    (e: unknown) => e instanceof NelError && e.message === 'unknown task builtin.zzzzzz',
  );
  // A bare misspelt name suggests by edit distance too.
  assert.throws(
    () => r('humaneavl'),
    (e: unknown) => e instanceof NelError && /did you mean .*humaneval/.test(e.hint ?? ''),
  );
});

test('editDistance counts insertions, deletions and substitutions', () => {
  assert.equal(editDistance('gsm8kk', 'gsm8k'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('same', 'same'), 0);
});
