/**
 * The generated scripts of the local executor: `<task>/run.sh`, `run_all.sequential.sh` and
 * `run_all.parallel.sh` (launcher-spec 5.5, with its pain points fixed).
 *
 * Rules kept here:
 * - every value interpolated into a script goes through shQuote (paths, names, image, args, literals);
 * - secret values never appear: each task's subshell captures its variables' sources by NAME into
 *   temporaries (so swaps like A=host:B, B=host:A work), checks they are set, then exports the targets,
 *   and `docker run` gets `-e NAME` for that task's names only;
 * - the client container name gets a suffix computed when the script runs, so reruns never conflict.
 *
 * killed_jobs.txt (in the invocation dir) lists jobs killed by `nel kill`; a job listed there is skipped
 * when it is started by its invocation's scheduler. A script started by hand (or by resume) reruns its
 * own jobs: it removes only those jobs' lines, never the whole file, so kills recorded for other jobs
 * (for example pending jobs of a run_all script still going) are still honoured.
 * - run_all.sequential.sh / run_all.parallel.sh: forget the kills of their own jobs at start, then skip
 *   any job killed while they run;
 * - run.sh: `bash run.sh --scheduled` (how run_all.parallel.sh starts it) skips the job if it is listed;
 *   plain `bash run.sh` (a rerun by hand) forgets this job's kill and runs it.
 */
import { shQuote } from '../../common/shell.js';
import type { EnvVarSpec } from '../../launcher/types.js';

/** The stage files a job's start removes (stage.pre-start is rewritten; stage.pid by the engine start). */
const STAGE_FILES = ['stage.running', 'stage.exit', 'stage.lost', 'stage.script.pid'];

export interface DeploymentScriptSpec {
  image: string;
  command: string;
  port: number;
  healthUrl: string;
  readinessTimeoutSec: number;
  env: EnvVarSpec[];
  /** `host:container[:ro]` volume specs. */
  volumes: string[];
  serverContainerName: string;
  /** `--gpus` of the server container ('' = none). */
  gpus?: string;
  /** Host mode: the command that starts the server on the host (`nel` runs this package's CLI). */
  hostCommand?: string;
  /** The checkpoint as an absolute host path (host mode: $NEL_CHECKPOINT_PATH), '' when none. */
  checkpointPath?: string;
}

export interface ScriptJob {
  jobId: string;
  taskName: string;
  taskDir: string;
  evalImage: string;
  /** Base name of the client container; a run suffix is appended when the script runs. */
  containerName: string;
  env: EnvVarSpec[];
  /** config_ef.yaml text. */
  engineConfigYaml: string;
  preCmd: string;
  postCmd: string;
  /** The user's YAML as written (copied to artifacts/launcher_unresolved_config.yaml), if known. */
  unresolvedConfigText: string | null;
  datasetDir?: string;
  datasetMountPath: string;
  /** execution.mounts.evaluation as [host, container]. */
  evaluationMounts: [string, string][];
  deployment?: DeploymentScriptSpec;
}

export interface ScriptContext {
  invocationId: string;
  invocationDir: string;
  useDocker: boolean;
  extraDockerArgs: string[];
  autoExportDestinations: string[];
  /** Absolute path of dist/src/bin/nel.js (auto-export). */
  nelJs: string;
  /** Absolute path of dist/src/bin/nemo-evaluator.js (host mode). */
  engineJs: string;
  version: string;
}

const q = shQuote;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Lines as shell comments (a newline inside a value can never end the comment early). */
function commentLines(title: string, text: string): string[] {
  return [
    `# ${title}`,
    ...text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `#   ${l}`.trimEnd()),
  ];
}

/** The single `bash -c` command run inside the evaluation container (launcher-spec 5.6). */
export function inContainerCommand(
  job: Pick<ScriptJob, 'preCmd' | 'postCmd' | 'engineConfigYaml' | 'unresolvedConfigText'>,
): string {
  const parts = [
    `echo "${b64(job.preCmd)}" | base64 -d > pre_cmd.sh`,
    `echo "${b64(job.postCmd)}" | base64 -d > post_cmd.sh`,
    `echo "${b64(job.engineConfigYaml)}" | base64 -d > config_ef.yaml`,
  ];
  if (job.unresolvedConfigText !== null) {
    parts.push(
      `echo "${b64(job.unresolvedConfigText)}" | base64 -d > /results/launcher_unresolved_config.yaml`,
    );
  }
  parts.push(
    'cmd=$(command -v nemo-evaluator >/dev/null 2>&1 && echo nemo-evaluator || echo eval-factory)',
    'source pre_cmd.sh',
    // The engine runs as a child of this shell, which is PID 1's only child: `docker stop` (and the
    // signal `docker run` proxies) reach this shell alone. Forward the first TERM/INT to the engine so
    // it finishes its in-flight requests and writes its files; further signals are not passed on.
    '{ $cmd run_eval --run_config config_ef.yaml & nel_engine=$!; ' +
      'trap "trap \\"\\" TERM INT; kill -TERM \\$nel_engine 2>/dev/null" TERM; ' +
      'trap "trap \\"\\" TERM INT; kill -INT \\$nel_engine 2>/dev/null" INT; ' +
      'wait $nel_engine; code=$?; ' +
      'while kill -0 $nel_engine 2>/dev/null; do wait $nel_engine; code=$?; done; ' +
      '(source post_cmd.sh); (exit $code); }',
  );
  return (
    parts.join(' && ') +
    '; exit_code=$?; chmod -R 777 /results; if [ "$exit_code" -ne 0 ]; then echo "The evaluation container failed with exit code $exit_code" >&2; exit "$exit_code"; fi; echo "Container completed successfully" >&2; exit 0'
  );
}

function header(ctx: ScriptContext, title: string, jobs: ScriptJob[]): string[] {
  const names = new Set<string>();
  const runtime = new Set<string>();
  for (const j of jobs) {
    for (const s of [...j.env, ...(j.deployment?.env ?? [])]) {
      if (s.source.kind === 'host') names.add(s.source.name);
      if (s.source.kind === 'runtime') runtime.add(s.source.name);
    }
  }
  const lines = [
    '#!/usr/bin/env bash',
    `# ${title}`,
    `# Generated by nemo-evaluator-launcher-ts ${ctx.version}. Secret values are never written here: variables`,
    '# are passed to containers by NAME and read from the environment this script runs in.',
  ];
  if (names.size > 0) lines.push(`# Needs these environment variables: ${[...names].join(' ')}`);
  if (runtime.size > 0) lines.push(`# Reads these at run time: ${[...runtime].join(' ')}`);
  lines.push(
    '# killed_jobs.txt: jobs listed there are skipped when started by their scheduler; starting a job again',
    '# by hand removes only that job from the list.',
    '',
    `export NEL_INVOCATION_ID=${q(ctx.invocationId)}`,
    'exec 3>&2',
    'nel_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }',
    `nel_err() { printf '%s\\n' "$1"; printf '%s\\n' "$1" >&3; }`,
    `nel_refuse() { printf '%s\\n' "$1" >&2; printf '%s\\n' "$1" >> "$logs_dir/stdout.log"; }`,
    `invocation_dir=${q(ctx.invocationDir)}`,
    'killed_jobs_file="$invocation_dir/killed_jobs.txt"',
    'nel_is_killed() { [ -f "$killed_jobs_file" ] && grep -qxF -- "$1" "$killed_jobs_file"; }',
    'nel_forget_kill() {',
    '  [ -f "$killed_jobs_file" ] || return 0',
    '  grep -vxF -- "$1" "$killed_jobs_file" > "$killed_jobs_file.$$.tmp"',
    '  mv -f "$killed_jobs_file.$$.tmp" "$killed_jobs_file"',
    '}',
  );
  if (ctx.useDocker) {
    lines.push(
      "command -v docker >/dev/null 2>&1 || { echo 'error: docker not found on PATH; use execution.use_docker=false (nel run --no-docker) to run on the host' >&2; exit 1; }",
    );
  }
  return lines;
}

function prepareDirs(job: ScriptJob): string[] {
  const d = job.taskDir;
  const log = `${d}/logs/client_stdout.log`;
  return [
    `mkdir -m 777 -p ${q(d)} ${q(`${d}/artifacts`)} ${q(`${d}/logs`)}`,
    `touch ${q(log)} && chmod 666 ${q(log)}`,
  ];
}

/** Capture, check and export the variables of a job (inside its subshell). */
function envSetup(job: ScriptJob): {
  check: string[];
  /** The same checks, silent: they only set nel_missing. */
  quietCheck: string[];
  /** The same checks, printed with nel_refuse (outside the job's subshell). */
  refuseCheck: string[];
  capture: string[];
  exportEval: string[];
  exportDeploy: string[];
} {
  const check: string[] = [];
  const quietCheck: string[] = [];
  const refuseCheck: string[] = [];
  const capture: string[] = [];
  const checked = new Set<string>();
  const exportLines = (specs: EnvVarSpec[], prefix: string): string[] =>
    specs.map((s, i) => {
      const tmp = `nel_${prefix}_${i}`;
      if (s.source.kind === 'lit') {
        capture.push(`${tmp}=${q(s.source.value)}`);
      } else {
        const name = s.source.name;
        if (!checked.has(name)) {
          checked.add(name);
          const msg = `error: environment variable ${name} is not set (needed by ${s.declaredAt})`;
          check.push(`if [ -z "\${${name}+x}" ]; then nel_err ${q(msg)}; nel_missing=1; fi`);
          quietCheck.push(`if [ -z "\${${name}+x}" ]; then nel_missing=1; fi`);
          refuseCheck.push(`if [ -z "\${${name}+x}" ]; then nel_refuse ${q(msg)}; fi`);
        }
        capture.push(`${tmp}="\${${name}}"`);
      }
      return `export ${s.target}="$${tmp}"`;
    });
  const exportDeploy = job.deployment ? exportLines(job.deployment.env, 'dep') : [];
  const exportEval = exportLines(job.env, 'env');
  return { check, quietCheck, refuseCheck, capture, exportEval, exportDeploy };
}

const cont = (lines: string[], indent: string): string[] =>
  lines.map((l, i) => (i === 0 ? `${indent}${l}` : `${indent}  ${l}`) + (i < lines.length - 1 ? ' \\' : ''));

function writeExit(code: string): string {
  return `printf '%s %s\\n' "$(nel_utc)" ${code} > "$logs_dir/stage.exit"`;
}

function deploymentLines(job: ScriptJob, ctx: ScriptContext, exportDeploy: string[]): string[] {
  const d = job.deployment!;
  const I = '    ';
  const run = [
    `docker run --rm --init --shm-size=100g${d.gpus === undefined || d.gpus ? ` --gpus ${q(d.gpus ?? 'all')}` : ''}${ctx.extraDockerArgs.map((w) => ' ' + q(w)).join('')}`,
    '--name "$server_container"',
    `--label ${q(`nel.invocation=${ctx.invocationId}`)} --label ${q(`nel.job=${job.jobId}`)} --label nel.role=server`,
    `--entrypoint '' -p ${q(`${d.port}:${d.port}`)}`,
    ...d.env.map((s) => `-e ${s.target}`),
    ...d.volumes.map((v) => `--volume ${q(v)}`),
    `${q(d.image)} bash -c ${q(d.command)}`,
    '> "$logs_dir/server_stdout.log" 2>&1 &',
  ];
  const fail = (msg: string, code: number): string[] => [
    `${I}    ${msg}`,
    `${I}    nel_stop_server`,
    `${I}    ${writeExit(String(code))}`,
    `${I}    exit ${code}`,
  ];
  // host mode: the server is a process of this script, stopped by its PID
  const start = d.hostCommand
    ? [
        `${I}nel() { exec node ${q(ctx.nelJs)} "$@"; }`,
        `${I}export -f nel`,
        `${I}export NEL_CHECKPOINT_PATH=${q(d.checkpointPath ?? '')}`,
        `${I}nel_stop_server() { if [ -n "\${server_pid:-}" ]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; rm -f "$logs_dir/stage.server.pid"; }`,
        ...exportDeploy.map((l) => I + l),
        `${I}bash -c ${q(d.hostCommand)} > "$logs_dir/server_stdout.log" 2>&1 &`,
        `${I}server_pid=$!`,
        `${I}printf '%s\\n' "$server_pid" > "$logs_dir/stage.server.pid"`,
      ]
    : [
        `${I}server_container=${q(d.serverContainerName)}"-$(date +%s)-$$-\${RANDOM}"`,
        `${I}nel_stop_server() { docker rm -f "$server_container" >/dev/null 2>&1 || true; }`,
        ...exportDeploy.map((l) => I + l),
        ...cont(run, I),
        `${I}server_pid=$!`,
      ];
  return [
    ...start,
    `${I}date`,
    `${I}nel_elapsed=0`,
    `${I}until [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' ${q(d.healthUrl)})" = 200 ]; do`,
    `${I}  if [ "$nel_terminated" = 1 ]; then`,
    ...fail('echo "Terminated while waiting for the server"', 143),
    `${I}  fi`,
    `${I}  if ! kill -0 "$server_pid" 2>/dev/null; then`,
    ...fail('echo "Server process $server_pid died"', 1),
    `${I}  fi`,
    `${I}  if [ "$nel_elapsed" -ge ${d.readinessTimeoutSec} ]; then`,
    ...fail(`echo ${q(`Health check timeout after ${d.readinessTimeoutSec}s`)}`, 1),
    `${I}  fi`,
    `${I}  sleep 5`,
    `${I}  nel_elapsed=$((nel_elapsed + 5))`,
    `${I}done`,
    `${I}date`,
  ];
}

function dockerClientLines(job: ScriptJob, ctx: ScriptContext): string[] {
  const I = '    ';
  const volumes: string[] = ['--volume "$artifacts_dir:/results"'];
  const envs: string[] = ['-e NEL_INVOCATION_ID', ...job.env.map((s) => `-e ${s.target}`)];
  if (job.datasetDir !== undefined) {
    volumes.push(`--volume ${q(`${job.datasetDir}:${job.datasetMountPath}`)}`);
    envs.push(`-e ${q(`NEMO_EVALUATOR_DATASET_DIR=${job.datasetMountPath}`)}`);
  }
  for (const [host, container] of job.evaluationMounts) volumes.push(`--volume ${q(`${host}:${container}`)}`);
  const run = [
    `docker run --init --shm-size=100g${ctx.extraDockerArgs.map((w) => ' ' + q(w)).join('')}`,
    '--name "$client_container"',
    `--label ${q(`nel.invocation=${ctx.invocationId}`)} --label ${q(`nel.job=${job.jobId}`)} --label nel.role=client`,
    ...(job.deployment ? ['--network "container:$server_container"'] : []),
    ...volumes,
    ...envs,
    q(job.evalImage),
    `bash -c ${q(inContainerCommand(job))}`,
    '> "$logs_dir/client_stdout.log" 2>&1',
  ];
  return [
    `${I}client_container=${q(job.containerName)}"-$(date +%s)-$$-\${RANDOM}"`,
    ...cont(run, I),
    `${I}exit_code=$?`,
    // 125: docker itself failed (image missing and not pullable, name conflict, bad mount ...): say so
    // in this job's stdout.log and in the log of the script that started it
    `${I}if [ "$exit_code" = 125 ]; then`,
    `${I}  nel_docker_err=$(grep -E '^docker: ' "$logs_dir/client_stdout.log" | tail -n 1)`,
    `${I}  nel_err "$(printf 'error: job %s: docker run of %s failed (exit code 125): %s' ${q(job.jobId)} ${q(job.evalImage)} "\${nel_docker_err:-see $logs_dir/client_stdout.log}")"`,
    `${I}fi`,
    `${I}docker cp "$client_container:/results/." "$artifacts_dir/" || echo "warning: docker cp from $client_container failed"`,
    `${I}docker rm -f "$client_container" >/dev/null || echo "warning: docker rm $client_container failed"`,
    ...(job.deployment ? [`${I}nel_stop_server`] : []),
  ];
}

function hostEngineLines(job: ScriptJob, ctx: ScriptContext): string[] {
  const I = '    ';
  const lines = [`${I}cd "$task_dir" || exit 1`];
  if (job.datasetDir !== undefined) lines.push(`${I}export NEMO_EVALUATOR_DATASET_DIR=${q(job.datasetDir)}`);
  if (job.preCmd) lines.push(`${I}source "$task_dir/pre_cmd.sh"`);
  lines.push(
    `${I}node ${q(ctx.engineJs)} run_eval --run_config "$task_dir/config_ef.yaml" > "$logs_dir/client_stdout.log" 2>&1 &`,
    `${I}engine_pid=$!`,
    `${I}printf '%s\\n' "$engine_pid" > "$logs_dir/stage.pid"`,
    `${I}wait "$engine_pid"`,
    `${I}exit_code=$?`,
    `${I}while kill -0 "$engine_pid" 2>/dev/null; do`,
    `${I}  wait "$engine_pid"`,
    `${I}  exit_code=$?`,
    `${I}done`,
    `${I}rm -f "$logs_dir/stage.pid"`,
  );
  if (job.deployment) lines.push(`${I}nel_stop_server`);
  if (job.postCmd) lines.push(`${I}(source "$task_dir/post_cmd.sh")`);
  return lines;
}

function autoExportLines(job: ScriptJob, ctx: ScriptContext): string[] {
  if (ctx.autoExportDestinations.length === 0) return [];
  const I = '    ';
  const lines = [`${I}if [ "$exit_code" = 0 ]; then`];
  for (const dest of ctx.autoExportDestinations) {
    lines.push(
      `${I}  if node ${q(ctx.nelJs)} export ${q(job.jobId)} --dest ${q(dest)}; then`,
      `${I}    printf '%s Export of job %s to %s completed successfully\\n' "$(nel_utc)" ${q(job.jobId)} ${q(dest)}`,
      `${I}  else`,
      `${I}    nel_rc=$?`,
      `${I}    printf '%s Export of job %s to %s failed with exit code %s\\n' "$(nel_utc)" ${q(job.jobId)} ${q(dest)} "$nel_rc"`,
      `${I}  fi`,
    );
  }
  lines.push(
    `${I}else`,
    `${I}  printf '%s Job %s failed with exit code %s. Skipping auto-export.\\n' "$(nel_utc)" ${q(job.jobId)} "$exit_code"`,
    `${I}fi`,
  );
  return lines;
}

function taskBlock(job: ScriptJob, ctx: ScriptContext): string[] {
  const env = envSetup(job);
  const I = '    ';
  const trap = ctx.useDocker
    ? `${I}trap 'nel_terminated=1' TERM INT`
    : `${I}trap 'nel_terminated=1; [ -n "\${engine_pid:-}" ] && kill -TERM "$engine_pid" 2>/dev/null' TERM INT`;
  const body = [
    `${I}nel_terminated=0`,
    trap,
    `${I}nel_missing=0`,
    ...env.check.map((l) => I + l),
    `${I}if [ "$nel_missing" != 0 ]; then`,
    `${I}  ${writeExit('1')}`,
    `${I}  exit 1`,
    `${I}fi`,
    ...env.capture.map((l) => I + l),
    `${I}nel_utc > "$logs_dir/stage.running"`,
    ...(job.deployment ? deploymentLines(job, ctx, env.exportDeploy) : []),
    ...env.exportEval.map((l) => I + l),
    ...(ctx.useDocker ? dockerClientLines(job, ctx) : hostEngineLines(job, ctx)),
    `${I}if [ "$exit_code" = 0 ] && { [ -f "$artifacts_dir/.nemo_evaluator_interrupted" ] || [ "$nel_terminated" = 1 ]; }; then`,
    `${I}  echo "Evaluation exited cleanly after SIGTERM; marking job as interrupted." >&2`,
    `${I}  exit_code=143`,
    `${I}fi`,
    `${I}${writeExit('"$exit_code"')}`,
    ...autoExportLines(job, ctx),
    `${I}exit "$exit_code"`,
  ];
  const configComment = ctx.useDocker
    ? commentLines('config_ef.yaml (sent to the container base64-encoded below):', job.engineConfigYaml).map(
        (l) => `  ${l}`,
      )
    : [];
  return [
    `# job ${job.jobId}: ${JSON.stringify(job.taskName)}`,
    `task_dir=${q(job.taskDir)}`,
    'artifacts_dir="$task_dir/artifacts"',
    'logs_dir="$task_dir/logs"',
    `if [ "$nel_honour_kills" = 1 ] && nel_is_killed ${q(job.jobId)}; then`,
    `  printf '%s Job %s (%s) was killed, skipping execution\\n' "$(nel_utc)" ${q(job.jobId)} ${q(job.taskName)} | tee -a "$logs_dir/stdout.log"`,
    // A job that already has an outcome keeps it when its variables are missing: checked before any
    // stage file is touched.
    ...(env.quietCheck.length > 0
      ? [
          'elif nel_missing=0; ' +
            env.quietCheck.map((l) => l.replace(/; fi$/, '; fi;')).join(' ') +
            ' [ "$nel_missing" != 0 ] && [ -f "$logs_dir/stage.exit" ]; then',
          ...env.refuseCheck.map((l) => '  ' + l),
          `  nel_refuse ${q(`error: job ${job.jobId} not started; its earlier outcome (logs/stage.exit) is kept (hint: set the variables named above and run it again)`)}`,
          '  (exit 1)',
        ]
      : []),
    'else',
    `  rm -f ${STAGE_FILES.map((f) => `"$logs_dir/${f}"`).join(' ')} "$artifacts_dir/.nemo_evaluator_interrupted"`,
    '  nel_utc > "$logs_dir/stage.pre-start"',
    `  printf '%s\\n' "$$" > "$logs_dir/stage.script.pid"`,
    ...configComment,
    '  (',
    ...body,
    '  ) >> "$logs_dir/stdout.log" 2>&1',
    'fi',
  ];
}

function finish(lines: string[]): string {
  return (
    lines
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd() + '\n'
  );
}

/** `<task>/run.sh`: one job, usable on its own. */
export function renderTaskScript(job: ScriptJob, ctx: ScriptContext): string {
  return finish([
    ...header(ctx, `Job ${job.jobId} of invocation ${ctx.invocationId}. Run: bash run.sh`, [job]),
    '',
    'if [ "${1:-}" = --scheduled ]; then',
    '  nel_honour_kills=1',
    'else',
    '  nel_honour_kills=0',
    `  nel_forget_kill ${q(job.jobId)}`,
    'fi',
    ...prepareDirs(job),
    '',
    ...taskBlock(job, ctx),
  ]);
}

/** `run_all.sequential.sh`: every job, one after the other; a failing job does not stop the next. */
export function renderSequentialScript(jobs: ScriptJob[], ctx: ScriptContext): string {
  const lines = [
    ...header(
      ctx,
      `Invocation ${ctx.invocationId}: all jobs, one after the other. Run: bash run_all.sequential.sh`,
      jobs,
    ),
    '',
    'nel_honour_kills=1',
    ...jobs.map((j) => `nel_forget_kill ${q(j.jobId)}`),
    ...jobs.flatMap(prepareDirs),
  ];
  for (const j of jobs) lines.push('', ...taskBlock(j, ctx));
  return finish(lines);
}

/** `run_all.parallel.sh`: each job's run.sh in the background, at most `maxParallel` at once. */
export function renderParallelScript(
  jobs: ScriptJob[],
  ctx: ScriptContext,
  maxParallel: number | null,
): string {
  const max = maxParallel ?? jobs.length;
  return finish([
    ...header(
      ctx,
      `Invocation ${ctx.invocationId}: all jobs in parallel (at most ${max} at once). Run: bash run_all.parallel.sh`,
      jobs,
    ),
    '',
    ...jobs.map((j) => `nel_forget_kill ${q(j.jobId)}`),
    `nel_max_parallel=${Math.max(1, max)}`,
    'nel_running=0',
    `for nel_script in ${jobs.map((j) => q(`${j.taskDir}/run.sh`)).join(' ')}; do`,
    '  if [ "$nel_running" -ge "$nel_max_parallel" ]; then',
    '    wait -n',
    '    nel_running=$((nel_running - 1))',
    '  fi',
    '  (cd "$(dirname "$nel_script")" && bash "$nel_script" --scheduled) &',
    '  nel_running=$((nel_running + 1))',
    'done',
    'wait',
  ]);
}
