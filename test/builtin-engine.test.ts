/**
 * Upstream task names on the built-in engine (`nel run --builtin-engine`, execution.builtin_engine):
 * the equivalents come from the benchmark definitions' `mirrors`, a task keeps its nemo_evaluator_config,
 * tasks without an equivalent are refused together before anything is written, `nel ls tasks` shows
 * and filters them, and a failed image pull suggests the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { nel, scratch } from './support/cli.js';
import { registerBenchmark, getBenchmark } from '../src/engine/benchmarks/index.js';
import { builtinCatalogue, resolveTask } from '../src/tasks/index.js';
import { builtinEquivalentOf, builtinEquivalents } from '../src/tasks/builtin-equivalent.js';

function writeConfig(dir: string, tasks: unknown[]): string {
  const file = join(dir, 'cfg.yaml');
  const config = {
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: { output_dir: join(dir, 'out') },
    target: { api_endpoint: { model_id: 'm', url: 'http://127.0.0.1:9/v1/chat/completions' } },
    evaluation: {
      nemo_evaluator_config: {
        config: { params: { parallelism: 3 } },
        target: {
          api_endpoint: { adapter_config: { use_system_prompt: true, custom_system_prompt: 'Be brief.' } },
        },
      },
      tasks,
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

test('the equivalents are derived from the benchmark definitions (a registered mirror appears, and goes)', () => {
  const before = builtinEquivalents();
  assert.equal(before.get('simple_evals.gpqa_diamond'), 'gpqa_diamond');
  assert.equal(before.get('bigcode-evaluation-harness.humaneval'), 'humaneval');
  const gsm8k = getBenchmark('gsm8k')!;
  const remove = registerBenchmark({
    ...gsm8k,
    name: 'gsm8k_twin',
    mirrors: ['lm-evaluation-harness.gsm8k_cot_llama'],
  });
  try {
    assert.equal(builtinEquivalents().get('lm-evaluation-harness.gsm8k_cot_llama'), 'gsm8k_twin');
  } finally {
    remove();
  }
  assert.equal(builtinEquivalents().has('lm-evaluation-harness.gsm8k_cot_llama'), false);
  // the equivalent keeps the upstream task's endpoint type, and only where the built-in one serves it
  const cat = builtinCatalogue();
  const chat = builtinEquivalentOf(resolveTask(cat, { name: 'simple_evals.humaneval' }), cat)!;
  assert.deepEqual(
    [chat.harness, chat.name, chat.endpointType, chat.standsFor],
    ['builtin', 'humaneval', 'chat', 'simple_evals.humaneval'],
  );
  const completions = builtinEquivalentOf(
    resolveTask(cat, { name: 'bigcode-evaluation-harness.humaneval' }),
    cat,
  )!;
  assert.equal(completions.endpointType, 'completions');
  assert.equal(builtinEquivalentOf(resolveTask(cat, { name: 'simple_evals.humanevalplus' }), cat), undefined);
  // a mirrored upstream task the catalogue does not list still maps by its harness.task name
  const aime = resolveTask(cat, { name: 'simple_evals.AIME_2024' });
  assert.equal(aime.isUnlisted, true);
  assert.equal(builtinEquivalentOf(aime, cat)?.name, 'aime24');
});

test("--builtin-engine runs upstream task names on the built-in engine, keeping each task's config", () => {
  const s = scratch('nel-builtin-');
  const cfg = writeConfig(s.dir, [
    {
      name: 'gpqa_diamond',
      nemo_evaluator_config: { config: { params: { temperature: 0.6, extra: { n_samples: 3 } } } },
    },
    { name: 'bigcode-evaluation-harness.humaneval' },
  ]);
  const r = nel(['run', '--config', cfg, '--dry-run', '--builtin-engine', '--no-docker'], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /harness: builtin/);
  assert.doesNotMatch(r.stdout, /nvcr\.io/, 'no NVIDIA image is used');
  const inv = /Scripts prepared and saved to (\/\S+)/.exec(r.stdout)?.[1] ?? '';
  const ef = (_i: number, name: string) =>
    parse(readFileSync(join(inv, `${name}`, 'config_ef.yaml'), 'utf8')) as Record<string, any>;
  const gpqa = ef(0, 'gpqa_diamond.0');
  assert.equal(gpqa.config.type, 'gpqa_diamond');
  assert.equal(gpqa.config.params.temperature, 0.6);
  assert.equal(gpqa.config.params.extra.n_samples, 3);
  assert.equal(gpqa.config.params.parallelism, 3);
  assert.equal(gpqa.target.api_endpoint.type, 'chat');
  assert.equal(gpqa.target.api_endpoint.adapter_config.custom_system_prompt, 'Be brief.');
  const he = ef(1, 'bigcode-evaluation-harness.humaneval.1');
  assert.equal(he.config.type, 'humaneval');
  assert.equal(he.target.api_endpoint.type, 'completions');
  assert.equal(he.metadata.launcher_resolved_config.execution.builtin_engine, true, 'the choice is recorded');
  // the config key does the same without the flag
  const r2 = nel(['run', '--config', cfg, '--dry-run', '-o', '++execution.builtin_engine=true'], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r2.stdout, /nvcr\.io/);
  // and without either, the harness's container
  const r3 = nel(['run', '--config', cfg, '--dry-run'], { cwd: s.dir, env: s.env });
  assert.match(r3.stdout, /nvcr\.io\/nvidia\/eval-factory\/simple-evals/);
});

test('tasks without a built-in equivalent are refused together, in one line, before anything is written', () => {
  const s = scratch('nel-builtin-');
  const cfg = writeConfig(s.dir, [
    { name: 'gpqa_diamond' },
    { name: 'simple_evals.humanevalplus' },
    { name: 'lm-evaluation-harness.mmlu_prox_fr_chat' },
  ]);
  for (const dry of [true, false]) {
    const r = nel(['run', '--config', cfg, '--builtin-engine', ...(dry ? ['--dry-run'] : [])], {
      cwd: s.dir,
      env: s.env,
    });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'error: no built-in equivalent for tasks humanevalplus (simple_evals.humanevalplus, chat), mmlu_prox_fr_chat (lm-evaluation-harness.mmlu_prox_fr_chat, chat)',
    );
    assert.match(lines[1] ?? '', /^hint: .*nel ls tasks --builtin-engine/);
    assert.equal(lines.length, 2);
    assert.equal(existsSync(join(s.dir, 'out')), false, 'no output directory');
    assert.equal(existsSync(s.dbPath), false, 'no exec DB record');
  }
});

test('nel ls tasks marks the upstream tasks with an equivalent and --builtin-engine lists only those', () => {
  const s = scratch('nel-builtin-');
  const all = nel(['ls', 'tasks'], { cwd: s.dir, env: s.env });
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^gpqa_diamond\s+chat\s+\[built-in: gpqa_diamond\] /m);
  assert.match(all.stdout, /marked \[built-in: X\] also run on the built-in engine/);
  const only = nel(['ls', 'tasks', '--builtin-engine', '--json'], { cwd: s.dir, env: s.env });
  const tasks = (
    JSON.parse(only.stdout) as {
      tasks: { task: string; harness: string; builtin_equivalent: string | null }[];
    }
  ).tasks;
  assert.ok(tasks.length >= 6, only.stdout);
  assert.ok(tasks.every((t) => t.builtin_equivalent !== null && t.harness !== 'builtin'));
  const expected = [...builtinEquivalents().keys()].filter((k) => {
    try {
      return !resolveTask(builtinCatalogue(), { name: k }).isUnlisted;
    } catch {
      return false;
    }
  });
  assert.deepEqual(tasks.map((t) => `${t.harness}.${t.task}`).sort(), expected.sort());
  const detail = nel(['ls', 'task', 'simple_evals.gpqa_diamond'], { cwd: s.dir, env: s.env });
  assert.match(detail.stdout, /^built-in equivalent: gpqa_diamond \(nel run --builtin-engine\)$/m);
});
