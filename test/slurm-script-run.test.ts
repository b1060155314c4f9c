/**
 * The generated run.sub scripts run by bash with stand-ins for the Slurm commands (srun, sbatch,
 * scontrol, sacct, scancel), curl, sleep and node on PATH: no cluster, but the script's own logic runs
 * for real. The stand-ins record each call (argv, and the values of the variables a container would
 * get) and play the model server (healthy, dying, never ready), the proxy and the evaluation.
 * Checked: values arrive byte-for-byte and nothing is injected, each group gets its own variables,
 * servers are stopped, a server that dies or never becomes healthy ends the job naming its log tail,
 * the successor job is submitted and cancelled, resumption follows the previous job's state and
 * max_walltime, and no secret value is written to any file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launcherConfig } from '../src/config/index.js';
import type { LauncherConfig } from '../src/config/schema.js';
import { parseYaml } from '../src/common/yaml.js';
import { writeInvocationPlan } from '../src/launcher/plan.js';
import { buildSlurmPlan, type SlurmInvocationPlan } from '../src/executors/slurm/plan.js';

interface Call {
  cmd: string;
  /** srun: its options (name -> value; true for a bare flag). */
  opts?: Record<string, string | true>;
  argv: string[];
  /** Values the container would get: --container-env names, docker -e names (null when unset). */
  env?: Record<string, string | null>;
  cwd?: string;
}

const root = mkdtempSync(join(tmpdir(), 'nel-slurm-run-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MARKER = join(root, 'PWNED');
const EVIL = `it's "q" $(touch ${MARKER}) \`touch ${MARKER}\` ; touch ${MARKER} 50% ünï`;
const SECRETS = {
  DEP_TOKEN: `dep-s3cr3t'"$(touch ${MARKER})\`id\`\nend`,
  EVAL_TOKEN: `eval-s3cr3t "$(touch ${MARKER})" '\n\tx`,
  NEL_A: 'value-of-a-s3cr3t',
  NEL_B: 'value-of-b-s3cr3t',
};

/** The stand-ins, as small node programs (their shebang is this node, so a fake `node` cannot shadow them). */
function standins(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const common = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const cp = require('node:child_process');
const FAKE = process.env.FAKE_DIR;
const record = (c) => fs.appendFileSync(path.join(FAKE, 'calls.jsonl'), JSON.stringify(c) + '\\n');
const argv = process.argv.slice(2);
`;
  const programs: Record<string, string> = {
    srun: `
const opts = {};
let i = 0;
for (; i < argv.length && argv[i].startsWith('--'); i++) {
  const eq = argv[i].indexOf('=');
  if (eq < 0) opts[argv[i].slice(2)] = true;
  else opts[argv[i].slice(2, eq)] = argv[i].slice(eq + 1);
}
const cmd = argv.slice(i);
const env = {};
const names = typeof opts['container-env'] === 'string' ? opts['container-env'].split(',') : [];
for (let k = 0; k < cmd.length - 1; k++) if (cmd[0] === 'docker' && cmd[k] === '-e') names.push(cmd[k + 1]);
for (const n of names) env[n] = process.env[n] === undefined ? null : process.env[n];
record({ cmd: 'srun', opts, argv: cmd, env });
const out = typeof opts.output === 'string' && opts.output !== '/dev/null'
  ? opts.output.replace(/%(%|A|j|t)/g, (m, c) => (c === '%' ? '%' : c === 't' ? '0' : process.env.SLURM_JOB_ID))
  : null;
const log = (s) => { if (out) fs.appendFileSync(out, s + '\\n'); };
const words = cmd.join(' ');
if (cmd[0] === 'hostname') { process.stdout.write('10.0.0.' + String(opts.nodelist).replace(/\\D/g, '') + ' fe80::1\\n'); process.exit(0); }
const image = opts['container-image'] || (cmd[0] === 'docker' ? cmd.find((w) => /^[a-z].*:[^/]*$/.test(w) && !w.startsWith('nel.')) : undefined);
const isServer = words.includes(process.env.FAKE_SERVER_IMAGE) || (image === process.env.FAKE_SERVER_IMAGE);
if (isServer) {
  const mode = process.env.FAKE_SERVER || 'ok';
  log('server starting on ' + opts.nodelist);
  if (mode === 'die') { log('RuntimeError: CUDA out of memory (fake)'); process.exit(1); }
  if (mode === 'ok' || mode === 'ok-then-die') fs.writeFileSync(path.join(FAKE, 'healthy'), '');
  // dies once the evaluation is under way (it says so after its SIGTERM handler is in place)
  if (mode === 'ok-then-die') {
    const poll = setInterval(() => {
      if (!fs.existsSync(path.join(FAKE, 'eval-started'))) return;
      clearInterval(poll);
      setTimeout(() => { log('server crashed (fake)'); process.exit(3); }, 100);
    }, 20);
  }
  process.on('SIGTERM', () => { log('server stopped on SIGTERM'); fs.appendFileSync(path.join(FAKE, 'stopped'), 'server\\n'); process.exit(0); });
  setInterval(() => {}, 1000);
} else if (words.includes('haproxy -f')) {
  process.on('SIGTERM', () => { fs.appendFileSync(path.join(FAKE, 'stopped'), 'proxy\\n'); process.exit(0); });
  setInterval(() => {}, 1000);
} else if (words.includes('docker ps')) {
  process.exit(0);
} else if (!opts['container-image'] && cmd[0] === 'bash') {
  // the engine on the host: run the step for real (node is a stand-in too)
  const fd = out ? fs.openSync(out, 'a') : 'inherit';
  const r = cp.spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', fd, fd] });
  process.exit(r.status === null ? 1 : r.status);
} else {
  log('evaluation ran');
  const ms = Number(process.env.FAKE_EVAL_MS || 0);
  process.on('SIGTERM', () => { fs.appendFileSync(path.join(FAKE, 'stopped'), 'eval\\n'); process.exit(143); });
  fs.writeFileSync(path.join(FAKE, 'eval-started'), '');
  setTimeout(() => process.exit(Number(process.env.FAKE_EVAL_EXIT || 0)), ms);
}
`,
    sbatch: `record({ cmd: 'sbatch', argv }); process.stdout.write((process.env.FAKE_SBATCH_ID || '5678') + '\\n');`,
    scancel: `record({ cmd: 'scancel', argv });`,
    sacct: `process.stderr.write('Slurm accounting storage is disabled\\n'); process.exit(1);`,
    scontrol: `
if (argv[0] === 'show' && argv[1] === 'hostnames') { process.stdout.write(argv[2].split(',').join('\\n') + '\\n'); process.exit(0); }
if (argv[0] === 'show' && argv[1] === 'job') {
  process.stdout.write('JobId=' + argv[argv.length - 1] + ' JobName=x UserId=a(1) JobState=' + (process.env.FAKE_PREV_STATE || 'COMPLETED') + ' Reason=None RunTime=' + (process.env.FAKE_PREV_RUNTIME || '00:10:00') + ' TimeLimit=01:00:00\\n');
  process.exit(0);
}
process.exit(1);`,
    curl: `
const url = argv[argv.length - 1];
record({ cmd: 'curl', argv: [url] });
process.stdout.write(fs.existsSync(path.join(FAKE, 'healthy')) ? '200' : '000');`,
    sleep: `process.exit(0);`,
    'nemo-evaluator': `record({ cmd: 'nemo-evaluator', argv, cwd: process.cwd(), env: { config: fs.readFileSync('config_ef.yaml', 'utf8') } });`,
    node: `record({ cmd: 'node', argv, cwd: process.cwd(), env: { NEMO_EVALUATOR_DATASET_DIR: process.env.NEMO_EVALUATOR_DATASET_DIR ?? null, API_KEY: process.env.API_KEY ?? null } });`,
  };
  for (const [name, body] of Object.entries(programs)) {
    writeFileSync(join(bin, name), common + body);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

const TOOLS = { nelJs: '/opt/nel/nel.js', engineJs: '/opt/nel/dist/src/bin/nemo-evaluator.js' };
let counter = 0;

function execution(dir: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'slurm',
    hostname: 'login.example',
    username: 'alice',
    account: `acct ${EVIL}`,
    output_dir: join(dir, `cluster 50% "out" $(touch ${MARKER})`),
    partition: 'batch',
    num_nodes: 1,
    num_instances: 1,
    ntasks_per_node: 1,
    gres: 'gpu:8',
    walltime: '01:00:00',
    max_walltime: '120:00:00',
    subproject: 'nemo-evaluator-launcher',
    sbatch_extra_flags: { exclusive: true },
    container_runtime: 'pyxis',
    staging_dir: join(dir, 'staging'),
    deployment: { n_tasks: (over.num_nodes as number | undefined) ?? 1 },
    mounts: { deployment: {}, evaluation: {}, auxiliary: {}, mount_home: true },
    proxy: {
      type: 'haproxy',
      image: 'haproxy:latest',
      config: { haproxy_port: 5009, health_check_path: '/health' },
    },
    ...over,
  };
}

const VLLM_IMAGE = 'vllm/vllm-openai:v0.15.1';
const DEPLOY_CMD = `vllm serve "/checkpoint" --served-model-name '${EVIL}'\necho "$(touch ${MARKER})"`;
const DEPLOY_PRE = `export A='$(touch ${MARKER})'\necho "${EVIL}"`;
function vllm(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'vllm',
    image: VLLM_IMAGE,
    served_model_name: `model ${EVIL}`,
    port: 8000,
    command: DEPLOY_CMD,
    pre_cmd: DEPLOY_PRE,
    endpoints: { chat: '/v1/chat/completions', completions: '/v1/completions', health: '/health' },
    env_vars: { HF_TOKEN: 'host:DEP_TOKEN', DEP_LIT: `lit:${EVIL}\nline2` },
    ...over,
  };
}

interface Run {
  plan: SlurmInvocationPlan;
  code: number | null;
  stdout: string;
  stderr: string;
  calls: Call[];
  srun: Call[];
  fake: string;
  taskDir: string;
  stopped: string[];
}

/** Plan, stage, copy to the "cluster" path, and run the first job's run.sub as Slurm would. */
function runJob(
  resolved: Record<string, unknown>,
  opts: { env?: Record<string, string | undefined>; args?: string[]; dir?: string } = {},
): Run {
  const dir = opts.dir ?? join(root, `case-${counter++}`);
  const fake = join(dir, 'fake');
  mkdirSync(fake, { recursive: true });
  const bin = standins(fake);
  const config = launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null });
  const plan = buildSlurmPlan(
    { raw: resolved, resolved: config, sourcePath: null, sourceText: null, warnings: [] },
    { dryRun: true, env: {}, launcherCommand: 'nel run', toolPaths: TOOLS, version: '0.0.0-test' },
  );
  writeInvocationPlan(plan);
  cpSync(plan.invocationDir, plan.slurm.remoteInvocationDir, { recursive: true });
  const job = plan.slurm.jobs[0]!;
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: join(dir, 'home'),
    LANG: 'C.UTF-8',
    FAKE_DIR: fake,
    FAKE_SERVER_IMAGE: VLLM_IMAGE,
    SLURM_JOB_ID: '1234',
    SLURM_JOB_NODELIST: 'n1',
    SLURM_JOB_NUM_NODES: '1',
    ...SECRETS,
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const r = spawnSync('bash', [job.remoteRunSub, ...(opts.args ?? [])], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const callsFile = join(fake, 'calls.jsonl');
  const calls: Call[] = existsSync(callsFile)
    ? readFileSync(callsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call)
    : [];
  const stoppedFile = join(fake, 'stopped');
  return {
    plan,
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    calls,
    srun: calls.filter((c) => c.cmd === 'srun' && c.argv[0] !== 'hostname'),
    fake,
    taskDir: job.remoteTaskDir,
    stopped: existsSync(stoppedFile) ? readFileSync(stoppedFile, 'utf8').split('\n').filter(Boolean) : [],
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function assertNoSecretsWritten(run: Run): void {
  for (const base of [run.plan.invocationDir, run.plan.slurm.remoteInvocationDir]) {
    for (const f of filesUnder(base)) {
      const text = readFileSync(f, 'utf8');
      for (const v of Object.values(SECRETS)) assert.ok(!text.includes(v), `${f} contains a secret value`);
    }
  }
  for (const v of Object.values(SECRETS)) {
    assert.ok(!run.stdout.includes(v) && !run.stderr.includes(v), 'the job output contains a secret value');
  }
}

const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

function evalConfig(call: Call): Record<string, any> {
  const m = /printf '%s' ([A-Za-z0-9+/=]+) \| base64 -d > config_ef\.yaml/.exec(call.argv[2]!);
  assert.ok(m, 'config_ef.yaml payload in the bash -c argument');
  return parseYaml(decode(m[1]!)) as Record<string, any>;
}

const stageExit = (taskDir: string): string =>
  readFileSync(join(taskDir, 'logs', 'stage.exit'), 'utf8')
    .trim()
    .split(' ')[1]!;

function hostileDeployment(
  over: Record<string, unknown> = {},
  deploy: Record<string, unknown> = {},
): Record<string, unknown> {
  const dir = join(root, `case-${counter}`);
  return {
    execution: execution(dir, over),
    deployment: vllm(deploy),
    env_vars: { SWAP_A: 'host:NEL_B', SWAP_B: 'host:NEL_A' },
    target: { api_endpoint: { api_key_name: null } },
    evaluation: {
      tasks: [
        {
          name: `task ${EVIL}`,
          container: 'example.com/eval:1',
          env_vars: { HF_TOKEN: 'host:EVAL_TOKEN', LIT_IN: `lit:${EVIL}\nsecond line` },
        },
      ],
    },
  };
}

test('a healthy deployment: values arrive byte-for-byte, each group its own, servers stopped, successor cancelled', () => {
  const run = runJob(hostileDeployment());
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.equal(existsSync(MARKER), false, 'an injected command ran');
  assert.equal(stageExit(run.taskDir), '0');
  const [server, evaluation] = run.srun;
  assert.equal(run.srun.length, 2, JSON.stringify(run.srun.map((c) => c.argv[0])));

  // the model server: its image, its variables (the deployment group), its command and pre_cmd
  assert.equal(server!.opts!['container-image'], VLLM_IMAGE);
  assert.equal(server!.opts!.mpi, 'pmix');
  assert.equal(server!.env!.HF_TOKEN, SECRETS.DEP_TOKEN);
  assert.equal(server!.env!.DEP_LIT, `${EVIL}\nline2`);
  assert.equal(server!.env!.SWAP_A, SECRETS.NEL_B);
  assert.equal(server!.env!.SWAP_B, SECRETS.NEL_A);
  assert.equal(server!.env!.MASTER_IP, '10.0.0.1');
  const inner = server!.argv[2]!;
  const payloads = [...inner.matchAll(/printf '%s' ([A-Za-z0-9+/=]+)/g)].map((m) => decode(m[1]!));
  assert.deepEqual(payloads, [DEPLOY_PRE, DEPLOY_CMD]);
  assert.equal(server!.opts!['container-mounts'], `${run.taskDir}/artifacts:/results`);
  assert.match(String(server!.opts!.output), /logs\/server-0-%A-%t\.log$/);

  // the evaluation: its variables (the evaluation group) and config, through the container's names only
  assert.equal(evaluation!.opts!['container-image'], 'example.com/eval:1');
  assert.equal(evaluation!.opts!.nodelist, 'n1');
  assert.equal(evaluation!.env!.HF_TOKEN, SECRETS.EVAL_TOKEN);
  assert.equal(evaluation!.env!.LIT_IN, `${EVIL}\nsecond line`);
  assert.equal(evaluation!.env!.SWAP_A, SECRETS.NEL_B);
  assert.equal(evaluation!.env!.NEL_JOB_ID, run.plan.jobs[0]!.jobId);
  const cfg = evalConfig(evaluation!);
  assert.equal(cfg.target.api_endpoint.model_id, `model ${EVIL}`);
  assert.equal(cfg.target.api_endpoint.url, 'http://127.0.0.1:8000/v1/chat/completions');
  assert.equal(cfg.config.output_dir, '/results');
  // the container's command itself, run here with /results pointing at a scratch folder
  const results = join(run.fake, 'results');
  mkdirSync(results);
  const inContainer = spawnSync('bash', ['-c', evaluation!.argv[2]!.replaceAll('/results', results)], {
    env: { PATH: `${join(run.fake, 'bin')}:${process.env.PATH}`, FAKE_DIR: run.fake },
    encoding: 'utf8',
  });
  assert.equal(inContainer.status, 0, inContainer.stderr);
  const engine = readFileSync(join(run.fake, 'calls.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Call)
    .find((c) => c.cmd === 'nemo-evaluator')!;
  assert.deepEqual(engine.argv, ['run_eval', '--run_config', 'config_ef.yaml']);
  assert.deepEqual(parseYaml(engine.env!.config!), cfg);

  // health polled, server stopped, successor submitted then cancelled
  assert.ok(run.calls.some((c) => c.cmd === 'curl' && c.argv[0] === 'http://127.0.0.1:8000/health'));
  assert.deepEqual(run.stopped, ['server']);
  const sbatch = run.calls.filter((c) => c.cmd === 'sbatch');
  assert.deepEqual(
    sbatch.map((c) => c.argv),
    [['--parsable', '--dependency=afternotok:1234', run.plan.slurm.jobs[0]!.remoteRunSub, '1234']],
  );
  assert.deepEqual(
    run.calls.filter((c) => c.cmd === 'scancel').map((c) => c.argv),
    [['5678']],
  );
  assert.equal(readFileSync(join(run.taskDir, '.slurm_job_id.list'), 'utf8'), '1234\n');
  // the server's log is where the --output pattern (with `%` doubled) says
  assert.match(
    readFileSync(join(run.taskDir, 'logs', 'server-0-1234-0.log'), 'utf8'),
    /server stopped on SIGTERM/,
  );
  assertNoSecretsWritten(run);
});

test('a server that dies before it is healthy ends the job with its log tail named; no evaluation', () => {
  const run = runJob(hostileDeployment(), { env: { FAKE_SERVER: 'die' } });
  assert.equal(run.code, 1);
  const log = join(run.taskDir, 'logs', 'server-0-1234-0.log');
  assert.ok(
    run.stdout.includes(
      `error: model server instance 0 (vllm) exited with code 1 before it became healthy; its log ${log} ends: RuntimeError: CUDA out of memory (fake)`,
    ),
    run.stdout,
  );
  assert.match(run.stdout, /RuntimeError: CUDA out of memory \(fake\)/);
  assert.match(run.stderr, /RuntimeError: CUDA out of memory \(fake\)/, 'the tail goes to the error log too');
  assert.equal(run.srun.length, 1, 'only the server step');
  assert.equal(stageExit(run.taskDir), '1');
  assert.deepEqual(
    run.calls.filter((c) => c.cmd === 'scancel').map((c) => c.argv),
    [['5678']],
  );
  assertNoSecretsWritten(run);
});

test('a server that never becomes healthy: readiness timeout, server stopped', () => {
  const run = runJob(hostileDeployment({ endpoint_readiness_timeout: 10 }), { env: { FAKE_SERVER: 'hang' } });
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /error: the model server did not become healthy within 10s \(execution\.endpoint_readiness_timeout\); its log .*server-0-1234-0\.log ends: server starting on n1\n/,
  );
  assert.match(run.stdout, /--- last lines of .*server-0-1234-0\.log:\n {2}server starting on n1/);
  assert.deepEqual(run.stopped, ['server']);
  assert.equal(run.srun.length, 1);
});

test('a server that dies during the evaluation stops it and ends the job', () => {
  const run = runJob(hostileDeployment(), { env: { FAKE_SERVER: 'ok-then-die', FAKE_EVAL_MS: '20000' } });
  assert.equal(run.code, 1, run.stdout);
  assert.match(
    run.stdout,
    /error: model server instance 0 \(vllm\) exited with code 3 while the evaluation ran; its log .*server-0-1234-0\.log ends: server crashed \(fake\)\n/,
  );
  assert.match(run.stdout, /server crashed \(fake\)/);
  assert.deepEqual(run.stopped, ['eval']);
});

test('an unset variable ends the job before any step, naming it', () => {
  const run = runJob(hostileDeployment(), { env: { EVAL_TOKEN: undefined } });
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /error: environment variable EVAL_TOKEN is not set in the job's environment \(needed by evaluation\.tasks\[0\]\.env_vars\.HF_TOKEN\)/,
  );
  assert.equal(run.srun.length, 0);
  assert.deepEqual(
    run.calls.filter((c) => c.cmd === 'scancel').map((c) => c.argv),
    [['5678']],
  );
});

test('resumption: goes on after TIMEOUT, PREEMPTED or NODE_FAIL only, within max_walltime', () => {
  const resumed = runJob(hostileDeployment(), { args: ['999'], env: { FAKE_PREV_STATE: 'TIMEOUT' } });
  assert.equal(resumed.code, 0, resumed.stdout);
  assert.match(resumed.stdout, /The previous Slurm job 999 ended with TIMEOUT: resuming\./);
  assert.equal(readFileSync(join(resumed.taskDir, '.accumulated_walltime'), 'utf8').trim(), '600');
  assert.equal(resumed.srun.length, 2);

  for (const [state, code] of [
    ['COMPLETED', 0],
    ['FAILED', 1],
    ['CANCELLED', 1],
  ] as const) {
    const r = runJob(hostileDeployment(), { args: ['999'], env: { FAKE_PREV_STATE: state } });
    assert.equal(r.code, code, state);
    assert.equal(r.srun.length, 0, `${state}: nothing runs`);
    assert.equal(r.calls.filter((c) => c.cmd === 'sbatch').length, 0, `${state}: no successor`);
  }

  const capped = runJob(hostileDeployment({ max_walltime: '00:05:00' }), {
    args: ['999'],
    env: { FAKE_PREV_STATE: 'PREEMPTED', FAKE_PREV_RUNTIME: '00:10:00' },
  });
  assert.equal(capped.code, 1);
  assert.match(
    capped.stdout,
    /error: max_walltime 00:05:00 reached \(600s used by this task's jobs\); not resuming again/,
  );
  assert.equal(capped.srun.length, 0);
  assert.equal(capped.calls.filter((c) => c.cmd === 'sbatch').length, 0);
});

test('the engine on the host (container_runtime none): node runs run_eval in the task directory', () => {
  const dir = join(root, `case-${counter++}`);
  const resolved = {
    execution: execution(dir, { container_runtime: 'none', output_dir: join(dir, 'cluster out') }),
    deployment: { type: 'none' },
    target: {
      api_endpoint: {
        url: 'http://10.0.0.9:8000/v1/chat/completions',
        model_id: 'm',
        api_key_name: 'API_KEY',
      },
    },
    evaluation: {
      tasks: [
        {
          name: 'builtin.gsm8k',
          dataset_dir: join(dir, 'data dir'),
          pre_cmd: `echo pre > "${join(dir, 'pre ran')}"`,
          post_cmd: `echo post > "${join(dir, 'post ran')}"`,
        },
      ],
    },
  };
  const run = runJob(resolved, { dir, env: { API_KEY: 'k-s3cr3t' } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const node = run.calls.find((c) => c.cmd === 'node')!;
  assert.deepEqual(node.argv, [
    TOOLS.engineJs,
    'run_eval',
    '--run_config',
    join(run.taskDir, 'config_ef.yaml'),
  ]);
  assert.equal(node.cwd, run.taskDir);
  assert.equal(node.env!.NEMO_EVALUATOR_DATASET_DIR, join(dir, 'data dir'));
  assert.equal(node.env!.API_KEY, 'k-s3cr3t');
  assert.ok(existsSync(join(dir, 'pre ran')) && existsSync(join(dir, 'post ran')));
  const cfg = parseYaml(readFileSync(join(run.taskDir, 'config_ef.yaml'), 'utf8')) as Record<string, any>;
  assert.equal(cfg.config.output_dir, join(run.taskDir, 'artifacts'));
  assert.equal(run.srun[0]!.opts!['container-image'], undefined);
  assert.equal(run.srun[0]!.opts!.mpi, undefined, 'no --mpi=pmix outside pyxis');
});

test('docker and several instances: one server per instance head, the proxy in front, containers removed', () => {
  const dir = join(root, `case-${counter++}`);
  const resolved = {
    execution: execution(dir, {
      container_runtime: 'docker',
      num_nodes: 4,
      num_instances: 2,
      output_dir: join(dir, 'cluster out'),
    }),
    deployment: vllm({ pre_cmd: null }),
    target: { api_endpoint: { api_key_name: null } },
    evaluation: { tasks: [{ name: 'ifeval', env_vars: { HF_TOKEN: 'host:EVAL_TOKEN' } }] },
  };
  const run = runJob(resolved, { dir, env: { SLURM_JOB_NODELIST: 'n1,n2,n3,n4', SLURM_JOB_NUM_NODES: '4' } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  // both instances start at once: their calls are recorded in either order
  const servers = run.srun
    .filter((c) => c.argv.includes(VLLM_IMAGE))
    .sort((a, b) => String(a.opts!.nodelist).localeCompare(String(b.opts!.nodelist)));
  assert.deepEqual(
    servers.map((c) => [c.opts!.nodelist, c.opts!.nodes, c.opts!.ntasks, c.env!.MASTER_IP]),
    [
      ['n1,n2', '2', '2', '10.0.0.1'],
      ['n3,n4', '2', '2', '10.0.0.3'],
    ],
  );
  const words = servers[0]!.argv;
  assert.deepEqual(words.slice(0, 4), ['docker', 'run', '--rm', '--init']);
  assert.ok(words.includes('--label') && words.includes('nel.slurm_job=1234'));
  assert.ok(words.includes('--gpus=all') && words.includes('--network=host'));
  assert.equal(servers[0]!.env!.HF_TOKEN, SECRETS.DEP_TOKEN);
  assert.equal(servers[0]!.env!.ALL_NODE_IPS, '10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4');
  assert.ok('SLURM_PROCID' in servers[0]!.env!, 'the rank reaches the container');
  const proxyCfg = readFileSync(join(run.taskDir, 'proxy.cfg'), 'utf8');
  assert.deepEqual(proxyCfg.match(/server node\d+ \S+/g), [
    'server node1 10.0.0.1:8000',
    'server node2 10.0.0.3:8000',
  ]);
  const curls = run.calls.filter((c) => c.cmd === 'curl').map((c) => c.argv[0]);
  for (const u of [
    'http://10.0.0.1:8000/health',
    'http://10.0.0.3:8000/health',
    'http://127.0.0.1:5009/health',
  ])
    assert.ok(curls.includes(u), `${u} polled`);
  const evaluation = run.srun.find((c) => c.argv.some((w) => w.includes('config_ef.yaml')))!;
  assert.equal(evaluation.argv[evaluation.argv.length - 3], 'bash');
  assert.equal(evaluation.env!.HF_TOKEN, SECRETS.EVAL_TOKEN);
  assert.equal(
    evalConfig({ ...evaluation, argv: evaluation.argv.slice(-3) }).target.api_endpoint.url,
    'http://127.0.0.1:5009/v1/chat/completions',
  );
  assert.deepEqual([...run.stopped].sort(), ['proxy', 'server', 'server']);
  assert.ok(
    run.srun.some((c) =>
      c.argv.join(' ').includes('docker ps -q --filter "label=nel.slurm_job=$SLURM_JOB_ID"'),
    ),
    'containers removed on every node',
  );
  assertNoSecretsWritten(run);
});
