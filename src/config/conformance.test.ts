/**
 * Every upstream example config loads: composed with the packaged groups, overrides applied,
 * interpolations resolved and validated, with the tasks in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CONFORMANCE_OVERRIDES, conformanceFiles, conformanceRoot } from '../../test/support/conformance.js';
import { loadConfig } from './index.js';

const root = conformanceRoot();
const files = conformanceFiles();

test('the upstream examples are there', () => {
  assert.ok(files.length >= 20, `found ${files.length}`);
});

for (const rel of files) {
  test(`loads ${rel}`, () => {
    const path = join(root, rel);
    const c = loadConfig({ config: path, overrides: CONFORMANCE_OVERRIDES[rel] ?? [], env: {} });
    const r = c.resolved as Record<string, any>;
    assert.equal(r.user_config_path, path);
    assert.ok(Array.isArray(r.evaluation.tasks) && r.evaluation.tasks.length > 0);
    for (const t of r.evaluation.tasks) assert.equal(typeof t.name, 'string');
    assert.equal(r.execution.type, 'local');
    assert.equal(typeof r.execution.output_dir, 'string');
    assert.ok(['none', 'vllm', 'nim', 'sglang', 'trtllm', 'generic'].includes(r.deployment.type));
    assert.ok(!JSON.stringify(r).includes('${'), 'no interpolation left');
    if (r.deployment.type === 'vllm') {
      assert.match(r.deployment.command, /^vllm serve \S+ --tensor-parallel-size=\d+ /);
      assert.match(r.deployment.command, new RegExp(`--served-model-name ${r.deployment.served_model_name}`));
    }
  });
}

test('v0.1.x legacy adapter_config flat keys pass through unchanged', () => {
  const c = loadConfig({ config: join(root, 'v0.1.28', 'local_llama_3_1_8b_instruct.yaml'), env: {} });
  const r = c.resolved as Record<string, any>;
  assert.deepEqual(r.evaluation.nemo_evaluator_config.target.api_endpoint.adapter_config, {
    use_reasoning: false,
    use_system_prompt: true,
    custom_system_prompt: '"Think step by step."',
  });
  assert.deepEqual(
    r.evaluation.tasks.map((t: { name: string }) => t.name),
    ['ifeval', 'gpqa_diamond', 'mbpp'],
  );
  assert.deepEqual(r.evaluation.tasks[1].env_vars, { HF_TOKEN: 'HF_TOKEN_FOR_GPQA_DIAMOND' });
});

test('the example with a task-level target block loads with a warning', () => {
  const c = loadConfig({ config: join(root, 'v0.2.8', 'local_nemotron-3-super-120b-a12b.yaml'), env: {} });
  assert.ok(c.warnings.some((w) => /evaluation\.tasks\.\d+\.target is not a task key/.test(w)));
  const tasks = (c.resolved as Record<string, any>).evaluation.tasks as Record<string, any>[];
  const moved = tasks.find((t) => t.name === 'tau2_bench_airline')!;
  assert.equal(moved.target, undefined);
  assert.equal(moved.nemo_evaluator_config.target.api_endpoint.adapter_config.use_reasoning, true);
});
