/**
 * `deployment: llamacpp` end to end: `nel run` starts `nel serve-model` on a GGUF checkpoint (a random,
 * seeded llama model written here), health-checks it, evaluates builtin gsm8k (3 samples) through it
 * and stops it — on the host (--no-docker) and in the engine image. The score of random weights is ~0;
 * what is checked is the lifecycle and that the requests reached the model.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeRandomLlamaGguf } from '../src/model-server/gguf-writer.js';
import { nel, nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import {
  containersOf,
  gsm8kDir,
  invocationIdOfDir,
  launchedDir,
  statusJson,
  taskDirs,
} from './support/e2e.js';
import { serverPort } from './support/ports.js';

async function setUp(
  image?: string,
  limit = 3,
  maxTokens = 48,
): Promise<{ dir: string; env: NodeJS.ProcessEnv; config: string; port: number }> {
  const { dir, env } = scratch('nel-llamacpp-dep-');
  const model = join(dir, 'model', 'tiny.gguf');
  writeRandomLlamaGguf(model, { seed: 3 });
  const port = await serverPort();
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      'defaults:',
      '  - execution: local',
      '  - deployment: llamacpp',
      '  - _self_',
      'execution:',
      `  output_dir: ${JSON.stringify(join(dir, 'out'))}`,
      'deployment:',
      // a folder with one .gguf, as a checkpoint folder is mounted
      `  checkpoint_path: ${JSON.stringify(join(dir, 'model'))}`,
      '  served_model_name: tiny-random',
      `  port: ${port}`,
      ...(image ? [`  image: ${image}`] : []),
      'evaluation:',
      '  tasks:',
      '    - name: builtin.gsm8k',
      `      dataset_dir: ${JSON.stringify(gsm8kDir())}`,
      '      nemo_evaluator_config:',
      '        config:',
      '          params:',
      `            limit_samples: ${limit}`,
      `            max_new_tokens: ${maxTokens}`,
      '',
    ].join('\n'),
  );
  return { dir, env, config, port };
}

async function runLlamacpp(t: TestContext, docker: boolean, image?: string): Promise<void> {
  const { dir, env, config, port } = await setUp(image);
  const args = ['run', '--config', config, '--wait', ...(docker ? [] : ['--no-docker'])];
  const out = await nelAsync(args, { cwd: dir, env, timeoutMs: 240_000 });
  assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  const inv = launchedDir(out);
  const id = invocationIdOfDir(inv);
  const [task] = taskDirs(inv);
  const [status] = statusJson([id], { cwd: dir, env });
  assert.equal(status!.status, 'success');
  const serverLog = readFileSync(join(task!, 'logs', 'server_stdout.log'), 'utf8');
  assert.match(serverLog, /serving tiny-random \(/);
  assert.match(serverLog, /GET \/health 200/);
  const chats = serverLog.split('\n').filter((l) => /^POST \/v1\/chat\/completions 200 /.test(l));
  assert.equal(chats.length, 3, serverLog);
  const samples = readFileSync(join(task!, 'artifacts', 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(samples.length, 3);
  // stopped afterwards: nothing answers on the port, no server container is left
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
  if (docker) assert.deepEqual(containersOf(id), []);
  else {
    assert.match(serverLog, /served 4 requests/, 'the host server was stopped with SIGTERM and said so');
    t.diagnostic(`host run: ${chats.length} chat requests served`);
  }
}

test('deployment: llamacpp on the host (--no-docker): started, health-checked, evaluated, stopped', async (t) => {
  await runLlamacpp(t, false);
});

test('deployment: llamacpp in the engine image: started, health-checked, evaluated, stopped', async (t) => {
  // NEL_TEST_LLAMACPP_IMAGE: an engine image built under another tag (a shared machine's own build)
  const base = engineImage(t);
  if (!base) return;
  const image = process.env.NEL_TEST_LLAMACPP_IMAGE ?? base;
  await runLlamacpp(t, true, image);
});

test('the server container gets no --gpus (gpus: null), a vllm one still does; on the host the server is a process', async () => {
  const { dir, env, config } = await setUp();
  const docker = nel(['run', '--config', config, '--dry-run'], { cwd: dir, env });
  assert.equal(docker.code, 0, docker.stderr);
  const serverRun = docker.stdout.split('\n').find((l) => /docker run --rm --init/.test(l));
  assert.ok(serverRun, docker.stdout);
  assert.doesNotMatch(serverRun, /--gpus/);
  assert.match(docker.stdout, /serve-model --model \/checkpoint --host 0\.0\.0\.0/);
  const vllm = nel(
    [
      'run',
      '--config',
      config,
      '--dry-run',
      '-o',
      'deployment=vllm',
      '-o',
      'deployment.checkpoint_path=/tmp',
      '-o',
      'deployment.served_model_name=m',
    ],
    { cwd: dir, env },
  );
  assert.equal(vllm.code, 0, vllm.stderr);
  assert.match(vllm.stdout, /docker run --rm --init --shm-size=100g --gpus all/);
  const host = nel(['run', '--config', config, '--dry-run', '--no-docker'], { cwd: dir, env });
  assert.equal(host.code, 0, host.stderr);
  assert.match(host.stdout, /export NEL_CHECKPOINT_PATH=/);
  assert.match(host.stdout, /bash -c 'nel serve-model --model "\$NEL_CHECKPOINT_PATH" --host 127\.0\.0\.1/);
  assert.doesNotMatch(host.stdout, /docker run/);
  // other deployment types still need Docker
  const refused = nel(
    [
      'run',
      '--config',
      config,
      '--dry-run',
      '--no-docker',
      '-o',
      'deployment=vllm',
      '-o',
      'deployment.checkpoint_path=/tmp',
      '-o',
      'deployment.served_model_name=m',
    ],
    { cwd: dir, env },
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /needs Docker/);
});

test('nel kill of a host llamacpp job stops its server', async () => {
  const { dir, env, config, port } = await setUp(undefined, 40, 4000);
  const out = await nelAsync(['run', '--config', config, '--no-docker'], {
    cwd: dir,
    env,
    timeoutMs: 60_000,
  });
  assert.equal(out.code, 0, out.stderr);
  const inv = launchedDir(out);
  const [task] = taskDirs(inv);
  const pidFile = join(task!, 'logs', 'stage.server.pid');
  // the server is up and the evaluation under way
  const deadline = Date.now() + 60_000;
  let answered = false;
  while (Date.now() < deadline && !answered) {
    answered = (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200;
    if (!answered) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(answered, 'the server came up');
  const serverPid = Number(readFileSync(pidFile, 'utf8').trim());
  assert.ok(serverPid > 0);
  const k = await nelAsync(['kill', invocationIdOfDir(inv)], { cwd: dir, env, timeoutMs: 60_000 });
  assert.equal(k.code, 0, k.stdout + k.stderr);
  const gone = Date.now() + 30_000;
  let alive = true;
  while (Date.now() < gone && alive) {
    try {
      process.kill(serverPid, 0);
      await new Promise((r) => setTimeout(r, 250));
    } catch {
      alive = false;
    }
  }
  assert.equal(alive, false, `server process ${serverPid} is gone`);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});
