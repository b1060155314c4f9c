/**
 * Golden files pin the text of the Slurm batch scripts (run.sub) and the HAProxy config for small fixed
 * plans (fixed id, time, paths and version): no deployment, vLLM, SGLang, NIM, several instances behind
 * HAProxy, the engine on the host, and hostile values. Each script must pass `bash -n`, and every
 * #SBATCH line must read back, with sbatch's own tokenizing rules, as the configured value. After an
 * intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launcherConfig } from '../src/config/index.js';
import type { LauncherConfig } from '../src/config/schema.js';
import { buildSlurmPlan, type SlurmInvocationPlan } from '../src/executors/slurm/plan.js';
import { repoRoot } from './support/paths.js';

const INV = '5e1a9c3b7d2f4e60';
const NOW = new Date(2026, 4, 27, 14, 15, 3);
const STAMP = '20260527_141503';
const TOOLS = { nelJs: '/opt/nel/dist/src/bin/nel.js', engineJs: '/opt/nel/dist/src/bin/nemo-evaluator.js' };

/** The packaged Slurm defaults, as composed and interpolated, with the required values filled in. */
function execution(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'slurm',
    hostname: 'login.cluster.example',
    username: 'alice',
    account: 'acct',
    output_dir: '/lustre/alice/nel',
    partition: 'batch',
    cpu_partition: null,
    num_nodes: 1,
    num_instances: 1,
    ntasks_per_node: 1,
    gres: 'gpu:8',
    walltime: '01:00:00',
    max_walltime: '120:00:00',
    subproject: 'nemo-evaluator-launcher',
    sbatch_comment: null,
    sbatch_extra_flags: { exclusive: true },
    container_runtime: 'pyxis',
    staging_dir: '/nel-golden/staging',
    deployment: { n_tasks: (over.num_nodes as number | undefined) ?? 1 },
    mounts: { deployment: {}, evaluation: {}, auxiliary: {}, mount_home: true },
    proxy: {
      type: 'haproxy',
      image: 'haproxy:latest',
      config: { haproxy_port: 5009, health_check_path: '/health', health_check_status: 200 },
    },
    ...over,
  };
}

const VLLM = {
  type: 'vllm',
  image: 'vllm/vllm-openai:v0.15.1',
  checkpoint_path: null,
  hf_model_handle: 'meta-llama/Llama-3.1-8B-Instruct',
  served_model_name: 'meta-llama/Llama-3.1-8B-Instruct',
  port: 8000,
  tensor_parallel_size: 8,
  command:
    'vllm serve meta-llama/Llama-3.1-8B-Instruct --tensor-parallel-size=8 --port 8000 --served-model-name meta-llama/Llama-3.1-8B-Instruct',
  endpoints: { chat: '/v1/chat/completions', completions: '/v1/completions', health: '/health' },
  env_vars: { HF_TOKEN: 'host:HF_TOKEN' },
};

function plan(resolved: Record<string, unknown>): SlurmInvocationPlan {
  const config = launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null });
  return buildSlurmPlan(
    { raw: resolved, resolved: config, sourcePath: null, sourceText: null, warnings: [] },
    {
      dryRun: true,
      env: {},
      now: NOW,
      invocationId: INV,
      launcherCommand: 'nel run --config golden.yaml --dry-run',
      toolPaths: TOOLS,
      version: '0.0.0-golden',
    },
  );
}

const CASES: Record<string, Record<string, unknown>> = {
  'no-deployment': {
    execution: execution({
      partition: 'cpu_short',
      gres: 'gpu:0',
      walltime: '02:00:00',
      sbatch_comment: 'nightly evals',
      sbatch_extra_flags: { exclusive: false, constraint: 'cpu', switches: 1, qos: null },
      mounts: {
        deployment: {},
        evaluation: { '/lustre/hf': '/root/.cache/huggingface' },
        auxiliary: {},
        mount_home: false,
      },
      auto_export: { destinations: ['local'] },
    }),
    deployment: { type: 'none' },
    target: {
      api_endpoint: {
        url: 'https://integrate.api.nvidia.com/v1/chat/completions',
        model_id: 'meta/llama-3.1-8b-instruct',
        api_key_name: 'NGC_API_KEY',
      },
    },
    env_vars: { HF_HOME: 'lit:/root/.cache/huggingface' },
    evaluation: {
      nemo_evaluator_config: { config: { params: { parallelism: 4, limit_samples: 10 } } },
      tasks: [{ name: 'gpqa_diamond', env_vars: { HF_TOKEN: 'host:HF_TOKEN_FOR_GPQA' } }],
    },
  },
  vllm: {
    execution: execution({
      endpoint_readiness_timeout: 1800,
      mounts: {
        deployment: { '/lustre/hf': '/root/.cache/huggingface' },
        evaluation: {},
        auxiliary: {},
        mount_home: true,
      },
    }),
    deployment: { ...VLLM, checkpoint_path: '/lustre/models/llama', pre_cmd: 'pip install -q extra-package' },
    target: { api_endpoint: { api_key_name: null } },
    evaluation: { tasks: [{ name: 'ifeval' }] },
  },
  sglang: {
    execution: execution({ container_runtime: 'docker', walltime: '1-00:00:00', max_walltime: null }),
    deployment: {
      type: 'sglang',
      image: 'lmsysorg/sglang:latest',
      served_model_name: 'Qwen/Qwen3-4B-Instruct-2507',
      port: 8000,
      command:
        'python3 -m sglang.launch_server --model-path Qwen/Qwen3-4B-Instruct-2507 --host 0.0.0.0 --port 8000 --served-model-name Qwen/Qwen3-4B-Instruct-2507 --tp-size 1',
      endpoints: { chat: '/v1/chat/completions', completions: '/v1/completions', health: '/health' },
      env_vars: {},
    },
    evaluation: { tasks: [{ name: 'gsm8k' }] },
  },
  nim: {
    execution: execution({
      mounts: {
        deployment: { '/lustre/nim-cache': '/opt/nim/.cache' },
        evaluation: {},
        auxiliary: {},
        mount_home: true,
      },
    }),
    deployment: {
      type: 'nim',
      image: 'nvcr.io/nim/meta/llama-3.2-1b-instruct:latest',
      served_model_name: 'meta/llama-3.2-1b-instruct',
      port: 8000,
      command: '/opt/nvidia/nvidia_entrypoint.sh /opt/nim/start_server.sh',
      endpoints: { chat: '/v1/chat/completions', completions: '/v1/completions', health: '/v1/health/ready' },
      env_vars: { NGC_API_KEY: 'host:NGC_API_KEY' },
    },
    evaluation: { tasks: [{ name: 'ifeval' }] },
  },
  'multi-instance': {
    execution: execution({ num_nodes: 4, num_instances: 2, deployment: { n_tasks: 4 } }),
    deployment: { ...VLLM, tensor_parallel_size: 8, pipeline_parallel_size: 2 },
    evaluation: { tasks: [{ name: 'ifeval' }] },
  },
  'host-engine': {
    execution: execution({ container_runtime: 'none', gres: null, sbatch_extra_flags: {} }),
    deployment: { type: 'none' },
    target: {
      api_endpoint: {
        url: 'http://10.0.0.5:8000/v1/chat/completions',
        model_id: 'm',
        api_key_name: 'API_KEY',
      },
    },
    evaluation: {
      tasks: [
        {
          name: 'builtin.gsm8k',
          dataset_dir: '/lustre/data/gsm8k',
          pre_cmd: 'echo before',
          post_cmd: 'echo after',
          nemo_evaluator_config: { config: { params: { limit_samples: 5 } } },
        },
      ],
    },
  },
  // upstream's slurm_vllm_auxiliary_judge.yaml: a judge on a node of its own, its URL and model id
  // filled into config_ef.yaml (the URL once the judge runs)
  auxiliary: {
    execution: execution({ mounts: { deployment: {}, evaluation: {}, auxiliary: {}, mount_home: false } }),
    deployment: VLLM,
    auxiliary_deployments: {
      judge: {
        ...VLLM,
        hf_model_handle: 'Qwen/Qwen2.5-72B-Instruct',
        served_model_name: 'Qwen/Qwen2.5-72B-Instruct',
        port: 8001,
        num_nodes: 2,
        command:
          'vllm serve Qwen/Qwen2.5-72B-Instruct --port 8001 --served-model-name Qwen/Qwen2.5-72B-Instruct',
        env_vars: { HF_TOKEN: 'host:JUDGE_HF_TOKEN' },
      },
      unused: { type: 'none' },
    },
    evaluation: {
      nemo_evaluator_config: {
        config: {
          params: {
            extra: {
              judge: {
                url: 'auxiliary_deployments.judge.chat_url',
                model_id: 'auxiliary_deployments.judge.model_id',
              },
            },
          },
        },
      },
      tasks: [{ name: 'AIME_2025' }],
    },
  },
  // the same with the engine on the host, no deployment of the model itself: a generic judge
  'auxiliary-host': {
    execution: execution({ container_runtime: 'none', gres: null, sbatch_extra_flags: {} }),
    deployment: { type: 'none' },
    target: { api_endpoint: { url: 'http://10.0.0.5:8000/v1/chat/completions', model_id: 'm' } },
    auxiliary_deployments: {
      judge: {
        type: 'generic',
        image: 'none',
        command: 'node /opt/nel/dist/src/bin/nel.js serve-reference --benchmark gsm8k --port 8001',
        served_model_name: 'judge-model',
        port: 8001,
        endpoints: { chat: '/v1/chat/completions', health: '/health' },
      },
    },
    evaluation: {
      nemo_evaluator_config: {
        config: { params: { extra: { judge_url: 'auxiliary_deployments.judge.chat_url' } } },
      },
      tasks: [{ name: 'builtin.gsm8k', dataset_dir: '/lustre/data/gsm8k' }],
    },
  },
};

/** Hostile values everywhere a value reaches the script (no newline or backslash where #SBATCH takes it). */
const EVIL = `it's "q" $(touch /tmp/PWNED) \`touch /tmp/PWNED\` ; touch /tmp/PWNED 50% #x ünï`;
CASES.hostile = {
  execution: execution({
    account: `acct ${EVIL}`,
    output_dir: `/lustre/out dir/${EVIL}`,
    partition: 'batch',
    sbatch_comment: EVIL,
    sbatch_extra_flags: { exclusive: true, constraint: `h100&"a b"`, 'mail-user': `x'y@example.com` },
    mounts: {
      deployment: { '/lustre/hf cache $(id)': '/root/.cache/huggingface' },
      evaluation: { "/lustre/e'val": '/mnt/x y' },
      auxiliary: {},
      mount_home: true,
    },
  }),
  deployment: {
    ...VLLM,
    served_model_name: `model ${EVIL}\nline2`,
    command: `vllm serve "/checkpoint" --served-model-name '${EVIL}'\necho "$(touch /tmp/PWNED)"`,
    pre_cmd: `export A='$(touch /tmp/PWNED)'\necho "${EVIL}"`,
    env_vars: { HF_TOKEN: 'host:DEP_TOKEN', DEP_LIT: `lit:${EVIL}\nline2` },
  },
  env_vars: { SWAP_A: 'host:NEL_B', SWAP_B: 'host:NEL_A' },
  evaluation: {
    tasks: [
      {
        name: `task ${EVIL}`,
        container: `example.com/eval:1`,
        dataset_dir: `/lustre/data $(touch /tmp/PWNED)`,
        env_vars: { HF_TOKEN: 'host:EVAL_TOKEN', LIT_IN: `lit:${EVIL}\nsecond line` },
        pre_cmd: `echo "${EVIL}"`,
      },
    ],
  },
};

function checkGolden(name: string, text: string): void {
  const dir = join(repoRoot(), 'test', 'golden', 'slurm');
  const path = join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, text);
  }
  assert.equal(
    text,
    readFileSync(path, 'utf8'),
    `${name} differs from the golden file (UPDATE_GOLDEN=1 to regenerate)`,
  );
}

/** sbatch's tokenizing of an #SBATCH line (its _get_argument): quotes group, `\` escapes, `#` outside quotes ends. */
function sbatchTokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) return out;
    let arg = '';
    let quote: string | null = null;
    let escape = false;
    for (; i < line.length && (quote !== null || !/\s/.test(line[i]!)); i++) {
      const ch = line[i]!;
      if (escape) escape = false;
      else if (ch === '\\') {
        escape = true;
        continue;
      } else if (quote !== null) {
        if (ch === quote) {
          quote = null;
          continue;
        }
      } else if (ch === '"' || ch === "'") {
        quote = ch;
        continue;
      } else if (ch === '#') {
        i = line.length;
        break;
      }
      arg += ch;
    }
    out.push(arg);
  }
}

/** The options sbatch reads from a script: #SBATCH lines before the first command. */
function sbatchOptions(text: string): string[] {
  const opts: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line.trim() !== '' && !line.startsWith('#')) break;
    if (line.startsWith('#SBATCH')) opts.push(...sbatchTokens(line.slice('#SBATCH'.length)));
  }
  return opts;
}

function bashN(text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'nel-slurm-golden-'));
  try {
    const f = join(dir, 'run.sub');
    writeFileSync(f, text);
    const r = spawnSync('bash', ['-n', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `bash -n: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, resolved] of Object.entries(CASES)) {
  test(`run.sub (${name}) matches its golden file and passes bash -n`, () => {
    const p = plan(resolved);
    assert.equal(p.invocationDir, `/nel-golden/staging/${STAMP}-${INV}`);
    const sub = p.files.find((f) => f.path.endsWith('/run.sub'))!;
    assert.equal(sub.path, join(p.invocationDir, `${p.jobs[0]!.uniqueName}`, 'run.sub'));
    bashN(sub.text);
    checkGolden(`${name}.run.sub`, sub.text);
    // auto-export: a CPU-only job of its own, on cpu_partition (else partition), no GPUs, not exclusive
    const exp = p.files.find((f) => f.path.endsWith('/export.sub'));
    if (name === 'no-deployment') {
      bashN(exp!.text);
      checkGolden(`${name}.export.sub`, exp!.text);
      const opts = sbatchOptions(exp!.text);
      assert.ok(opts.includes('--partition=cpu_short'), opts.join(' '));
      assert.ok(!opts.some((o) => /^--(gres|gpus|exclusive)/.test(o)), opts.join(' '));
      assert.match(sub.text, /sbatch --parsable "\$task_dir\/export\.sub"/);
    } else assert.equal(exp, undefined);
    const cfg = p.files.find((f) => f.path.endsWith('/proxy.cfg.template'));
    if (name === 'multi-instance') checkGolden(`${name}.proxy.cfg`, cfg!.text);
    else assert.equal(cfg, undefined);
  });
}

test('the #SBATCH lines read back as the configured values (sbatch tokenizing)', () => {
  const p = plan(CASES.hostile!);
  const text = p.files.find((f) => f.path.endsWith('/run.sub'))!.text;
  const opts = sbatchOptions(text);
  // the task directory is `<name>.<index>` with any `/` of the name as `_`
  const taskDir = `task ${EVIL.replace(/\//g, '_')}.0`;
  const remoteTask = `/lustre/out dir/${EVIL}/${STAMP}-${INV}/${taskDir}`;
  const pattern = `${remoteTask.replace(/%/g, '%%')}/logs/slurm-%A.log`;
  assert.deepEqual(opts, [
    `--job-name=acct ${EVIL}-nemo-evaluator-launcher.${taskDir}`,
    '--time=01:00:00',
    `--account=acct ${EVIL}`,
    '--partition=batch',
    '--nodes=1',
    '--ntasks-per-node=1',
    '--gres=gpu:8',
    `--comment=${EVIL}`,
    '--exclusive',
    `--constraint=h100&"a b"`,
    `--mail-user=x'y@example.com`,
    '--no-requeue',
    `--output=${pattern}`,
    `--error=${pattern}`,
  ]);
  // the shell sees the same task directory
  const r = spawnSync(
    'bash',
    ['-c', `${text.split('\n').find((l) => l.startsWith('task_dir='))}; printf %s "$task_dir"`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.stdout, remoteTask);
});

test('several instances: the evaluation goes through the proxy port, one backend per instance head', () => {
  const p = plan(CASES['multi-instance']!);
  assert.equal(
    (p.jobs[0]!.engineConfig as any).target.api_endpoint.url,
    'http://127.0.0.1:5009/v1/chat/completions',
  );
  const cfg = p.files.find((f) => f.path.endsWith('/proxy.cfg'))!.text;
  assert.deepEqual(cfg.match(/server node\d+ \S+/g), [
    'server node1 {IP_0}:8000',
    'server node2 {IP_2}:8000',
  ]);
  const single = plan(CASES.vllm!);
  assert.equal(
    (single.jobs[0]!.engineConfig as any).target.api_endpoint.url,
    'http://127.0.0.1:8000/v1/chat/completions',
  );
});

test('the plan records where each run.sub goes on the cluster', () => {
  const p = plan(CASES.vllm!);
  assert.deepEqual(p.slurm.jobs, [
    {
      jobId: `${INV}.0`,
      jobName: 'acct-nemo-evaluator-launcher.ifeval.0',
      remoteTaskDir: `/lustre/alice/nel/${STAMP}-${INV}/ifeval.0`,
      remoteRunSub: `/lustre/alice/nel/${STAMP}-${INV}/ifeval.0/run.sub`,
      stagedRunSub: `/nel-golden/staging/${STAMP}-${INV}/ifeval.0/run.sub`,
    },
  ]);
  assert.equal(p.slurm.remoteInvocationDir, `/lustre/alice/nel/${STAMP}-${INV}`);
  assert.equal(p.slurm.hostname, 'login.cluster.example');
  assert.equal(p.jobs[0]!.taskDir, `/nel-golden/staging/${STAMP}-${INV}/ifeval.0`);
  assert.equal(p.hasPrePostCmd, true, 'deployment.pre_cmd needs NEMO_EVALUATOR_TRUST_PRE_CMD');
  const host = plan(CASES['host-engine']!);
  const names = host.files.map((f) => f.path.slice(host.invocationDir.length + 1)).sort();
  assert.deepEqual(names, [
    'builtin.gsm8k.0/config_ef.yaml',
    'builtin.gsm8k.0/post_cmd.sh',
    'builtin.gsm8k.0/pre_cmd.sh',
    'builtin.gsm8k.0/run.sub',
  ]);
  assert.equal(
    (host.jobs[0]!.engineConfig as any).config.output_dir,
    `/lustre/alice/nel/${STAMP}-${INV}/builtin.gsm8k.0/artifacts`,
    'on the host the engine writes into the task directory on the cluster',
  );
});

test('auxiliary deployments: node count, URL placeholders, and one-line errors for bad ones', () => {
  const base = CASES.auxiliary!;
  const p = plan(base);
  const sub = p.files.find((f) => f.path.endsWith('/run.sub'))!.text;
  // 1 node for the model, 2 for the judge; the judge's nodes come after the model's
  assert.match(sub, /^#SBATCH --nodes=3$/m);
  assert.match(sub, /^nel_aux_nodes=\("\$\{nel_server_nodes\[@\]:1:2\}"\)$/m);
  // config_ef.yaml: the model id filled in now, the URL once the judge runs
  const cfgText = Buffer.from(
    /printf '\\''%s'\\'' (\S+) \| base64 -d > config_ef\.yaml/.exec(sub)![1]!,
    'base64',
  ).toString();
  assert.match(cfgText, /model_id: Qwen\/Qwen2\.5-72B-Instruct/);
  assert.match(cfgText, /url: \$\{JUDGE_CHAT_URL\}/);
  assert.doesNotMatch(cfgText, /auxiliary_deployments\.judge\.(chat_url|model_id)/);
  assert.match(sub, /sed -i -e "s\|\\\$\{JUDGE_CHAT_URL\}\|\$\{JUDGE_CHAT_URL\}\|g" config_ef\.yaml/);
  const aux =
    (judge: Record<string, unknown>, name = 'judge') =>
    () =>
      plan({
        ...base,
        auxiliary_deployments: {
          [name]: { ...(base.auxiliary_deployments as Record<string, object>).judge, ...judge },
        },
      });
  assert.throws(
    aux({}, 'my-judge'),
    /auxiliary_deployments\.my-judge: the name must be letters, digits and _/,
  );
  assert.throws(aux({ image: '' }), /auxiliary_deployments\.judge\.image must be set/);
  assert.throws(
    aux({ num_nodes: 0 }),
    /auxiliary_deployments\.judge\.num_nodes must be a positive integer, got 0/,
  );
  assert.throws(aux({ port: 'x' }), /auxiliary_deployments\.judge\.port must be a port number, got "x"/);
});
