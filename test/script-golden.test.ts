/**
 * Golden files pin the text of the generated scripts for a small fixed plan (fixed id, time, paths and
 * version). After an intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInvocationPlan } from '../src/executors/local/plan.js';
import { repoRoot } from './support/paths.js';
import { launcherConfig } from '../src/config/index.js';
import type { LauncherConfig } from '../src/config/schema.js';

const resolved = {
  execution: {
    type: 'local',
    output_dir: '/nel-golden/results',
    mode: 'sequential',
    extra_docker_args: '--cpus 2',
    use_docker: true,
    max_parallel_tasks: null,
    endpoint_readiness_timeout: 600,
    auto_export: { destinations: ['local'] },
  },
  deployment: { type: 'none' },
  target: {
    api_endpoint: {
      url: 'http://127.0.0.1:8000/v1/chat/completions',
      model_id: 'meta/llama-3.1-8b-instruct',
      api_key_name: 'NGC_API_KEY',
    },
  },
  evaluation: {
    nemo_evaluator_config: { config: { params: { parallelism: 2, limit_samples: 5 } } },
    tasks: [
      { name: 'ifeval' },
      { name: 'mbpp', env_vars: { HF_TOKEN: 'host:HF_TOKEN_FOR_MBPP', MODE: 'lit:fast run' } },
    ],
  },
};

const plan = buildInvocationPlan(
  {
    raw: resolved,
    resolved: launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null }),
    sourceText: null,
    sourcePath: null,
    warnings: [],
  },
  {
    dryRun: true,
    env: {},
    now: new Date(2026, 4, 27, 14, 15, 3),
    invocationId: '9f2c4e1a0b3d5c7e',
    launcherCommand: 'nel run --config golden.yaml --dry-run',
    toolPaths: { nelJs: '/opt/nel/dist/src/bin/nel.js', engineJs: '/opt/nel/dist/src/bin/nemo-evaluator.js' },
    version: '0.0.0-golden',
  },
);

function checkGolden(name: string, text: string): void {
  const path = join(repoRoot(), 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  assert.equal(
    text,
    readFileSync(path, 'utf8'),
    `${name} differs from the golden file (UPDATE_GOLDEN=1 to regenerate)`,
  );
}

test('run_all.sequential.sh matches its golden file', () => {
  const f = plan.files.find((x) => x.path.endsWith('/run_all.sequential.sh'))!;
  assert.equal(f.path, '/nel-golden/results/20260527_141503-9f2c4e1a0b3d5c7e/run_all.sequential.sh');
  checkGolden('run_all.sequential.sh', f.text);
});

test('run.sh of the second job matches its golden file', () => {
  const f = plan.files.find((x) => x.path.endsWith('/mbpp.1/run.sh'))!;
  checkGolden('mbpp.1.run.sh', f.text);
});
