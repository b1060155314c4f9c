/**
 * The batch script of one Slurm job (`<task>/run.sub`, upstream's layout) and the HAProxy config of a
 * multi-instance deployment.
 *
 * Rules kept here:
 * - every value interpolated into the script goes through shQuote (paths, names, images, commands);
 *   `#SBATCH` values are checked by config.ts to be one line without backslashes, where sbatch's own
 *   tokenizer reads shQuote's output as the shell does;
 * - secret values never appear: the job reads each variable by NAME from its environment (sbatch
 *   passes the submitting environment on), checks it is set, copies the values into temporaries, and
 *   exports each group (deployment, evaluation, export) under its target names right before its srun;
 *   containers get the names only (`--container-env`, `docker run -e NAME`). No xtrace anywhere;
 * - paths in `--output` are written as Slurm filename patterns (`%` doubled).
 */
import { shQuote } from '../../common/shell.js';
import type { EnvVarSpec } from '../../launcher/types.js';
import { configVarSed, evaluationContainerCommand } from './container-command.js';
import type { ContainerRuntime, SlurmSettings } from './config.js';

/** Where a job's artifacts directory is mounted in its containers. */
export const CONTAINER_RESULTS_DIR = '/results';

export interface SlurmDeploymentSpec {
  type: string;
  image: string;
  command: string;
  /** deployment.pre_cmd: run in the server's shell before the command. */
  preCmd: string;
  port: number;
  healthPath: string;
  env: EnvVarSpec[];
  /** `host:container[:ro]` mounts of the server. */
  mounts: string[];
}

/** An auxiliary deployment (`auxiliary_deployments.<name>`, e.g. a judge) on nodes of its own. */
export interface SlurmAuxDeploymentSpec extends SlurmDeploymentSpec {
  name: string;
  numNodes: number;
  /** `<NAME>_<ENDPOINT>_URL` variables the evaluation gets, with the endpoint's path. */
  urls: { name: string; path: string }[];
  servedModelName?: string;
}

export interface SlurmScriptJob {
  jobId: string;
  taskName: string;
  /** Absolute path of the task directory on the cluster. */
  taskDir: string;
  evalImage: string;
  env: EnvVarSpec[];
  engineConfigYaml: string;
  preCmd: string;
  postCmd: string;
  unresolvedConfigText: string | null;
  /** dataset_dir (host path on the cluster) and where it is mounted. */
  dataset?: { host: string; mountPath: string };
  /** `${NAME}` placeholders in engineConfigYaml that the job fills in (auxiliary deployments' URLs). */
  configVars?: string[];
}

export interface SlurmScriptContext {
  invocationId: string;
  version: string;
  settings: SlurmSettings;
  deployment?: SlurmDeploymentSpec;
  /** Auxiliary deployments, each on its own nodes after the deployment's. */
  auxiliary?: SlurmAuxDeploymentSpec[];
  /** Variables of the export group (top-level env_vars < export.env_vars). */
  exportEnv: EnvVarSpec[];
  /** The whole remote output_dir (auto-export looks for the job there). */
  outputDir: string;
  /** Absolute paths on the nodes (container_runtime none, auto-export). */
  engineJs: string;
  nelJs: string;
}

const q = shQuote;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A path as a Slurm filename pattern (`%` is its escape character). */
export const slurmPattern = (path: string): string => path.replace(/%/g, '%%');

function commentLines(title: string, text: string): string[] {
  return [
    `# ${title}`,
    ...text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `#   ${l}`.trimEnd()),
  ];
}

/** The job name: `<account>-<subproject>.<task>.<index>` as upstream. */
export function slurmJobName(settings: SlurmSettings, uniqueName: string): string {
  return `${settings.account}-${settings.subproject}.${uniqueName}`;
}

function sbatchHeader(job: SlurmScriptJob, ctx: SlurmScriptContext, jobName: string): string[] {
  const s = ctx.settings;
  const line = (name: string, value?: string): string =>
    value === undefined ? `#SBATCH --${name}` : `#SBATCH --${name}=${q(value)}`;
  const log = `${slurmPattern(job.taskDir)}/logs/slurm-%A.log`;
  const out = [
    line('job-name', jobName),
    line('time', s.walltime),
    line('account', s.account),
    line('partition', s.partition),
    line('nodes', String(totalNodes(ctx))),
    line('ntasks-per-node', String(s.ntasksPerNode)),
  ];
  if (s.gpusPerNode !== null) out.push(line('gpus-per-node', s.gpusPerNode));
  if (s.gres !== null) out.push(line('gres', s.gres));
  if (s.sbatchComment !== null) out.push(line('comment', s.sbatchComment));
  for (const f of s.sbatchExtraFlags) out.push(f.value === null ? line(f.name) : line(f.name, f.value));
  out.push(line('no-requeue'), line('output', log), line('error', log));
  return out;
}

/** All nodes of the job: the deployment's (`num_nodes`) and each auxiliary deployment's. */
export function totalNodes(ctx: SlurmScriptContext): number {
  return ctx.settings.numNodes + (ctx.auxiliary ?? []).reduce((n, a) => n + a.numNodes, 0);
}

const hasServers = (ctx: SlurmScriptContext): boolean =>
  ctx.deployment !== undefined || (ctx.auxiliary ?? []).length > 0;

/** The names of a group's variables that come from the environment (host and runtime sources). */
function sourceNames(specs: EnvVarSpec[]): string[] {
  const out = new Set<string>();
  for (const s of specs) if (s.source.kind !== 'lit') out.add(s.source.name);
  return [...out];
}

interface EnvGroups {
  check: string[];
  capture: string[];
  exportDeploy: string[];
  exportAux: string[][];
  exportEval: string[];
  exportExport: string[];
}

/** Check that every named source is set, capture the values, and the per-group exports. */
function envGroups(job: SlurmScriptJob, ctx: SlurmScriptContext): EnvGroups {
  const check: string[] = [];
  const capture: string[] = [];
  const checked = new Set<string>();
  const group = (specs: EnvVarSpec[], prefix: string): string[] =>
    specs.map((s, i) => {
      const tmp = `nel_${prefix}_${i}`;
      if (s.source.kind === 'lit') {
        capture.push(`${tmp}=${q(s.source.value)}`);
      } else {
        const name = s.source.name;
        if (!checked.has(name)) {
          checked.add(name);
          const msg = `error: environment variable ${name} is not set in the job's environment (needed by ${s.declaredAt})`;
          check.push(`if [ -z "\${${name}+x}" ]; then nel_say ${q(msg)}; nel_missing=1; fi`);
        }
        capture.push(`${tmp}="\${${name}}"`);
      }
      return `export ${s.target}="$${tmp}"`;
    });
  const exportDeploy = group(ctx.deployment?.env ?? [], 'dep');
  const exportAux = (ctx.auxiliary ?? []).map((a, i) => group(a.env, `aux${i}`));
  const exportEval = group(job.env, 'eval');
  const exportExport = ctx.settings.autoExportDestinations.length > 0 ? group(ctx.exportEnv, 'exp') : [];
  return { check, capture, exportDeploy, exportAux, exportEval, exportExport };
}

function helpers(): string[] {
  return [
    'nel_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }',
    'nel_say() { printf \'%s\\n\' "$1"; printf \'%s\\n\' "$1" >&2; }',
    'nel_terminated=0',
    "trap 'nel_terminated=1' TERM INT",
    "# The job's model servers: pid, what it is, its log (index = start order).",
    'SERVER_PIDS=()',
    'SERVER_LABELS=()',
    'SERVER_LOGS=()',
    'PROXY_PID=',
    'nel_next_job_id=',
    '# The successor job is only wanted when this one ends by TIMEOUT, PREEMPTED or NODE_FAIL, which',
    '# never reach the end of this script.',
    'nel_cancel_successor() {',
    '  if [ -n "$nel_next_job_id" ]; then',
    '    scancel "$nel_next_job_id" >/dev/null 2>&1 || true',
    '    rm -f "$task_dir/.slurm_next_job_id"',
    '  fi',
    '}',
    '# Servers and proxy get TERM, and KILL after 30 s (a killed srun makes Slurm kill its step).',
    'nel_stop_servers() {',
    '  local p n=0',
    '  for p in "${SERVER_PIDS[@]}" $PROXY_PID; do kill -TERM "$p" 2>/dev/null || true; done',
    '  for p in "${SERVER_PIDS[@]}" $PROXY_PID; do',
    '    while kill -0 "$p" 2>/dev/null && [ "$n" -lt 30 ]; do sleep 1; n=$((n + 1)); done',
    '    kill -KILL "$p" 2>/dev/null || true',
    '    wait "$p" 2>/dev/null || true',
    '  done',
    '  SERVER_PIDS=()',
    '  SERVER_LABELS=()',
    '  SERVER_LOGS=()',
    '  PROXY_PID=',
    '}',
    '# End the job: stop what it started, record the exit code, exit.',
    'nel_finish() {',
    '  nel_stop_servers',
    '  nel_stop_containers',
    '  if [ "$nel_terminated" != 1 ]; then nel_cancel_successor; fi',
    '  printf \'%s %s\\n\' "$(nel_utc)" "$1" > "$logs_dir/stage.exit"',
    '  exit "$1"',
    '}',
  ];
}

function stopContainers(ctx: SlurmScriptContext): string[] {
  if (ctx.settings.containerRuntime !== 'docker') return ['nel_stop_containers() { :; }'];
  // srun's signals reach the docker clients, and `docker run` passes them on; whatever is left of
  // this job's containers is removed on every node of the allocation.
  return [
    'nel_stop_containers() {',
    '  [ -n "${SLURM_JOB_ID:-}" ] || return 0',
    '  srun --overlap --nodes="${SLURM_JOB_NUM_NODES:-1}" --ntasks-per-node=1 --output=/dev/null bash -c ' +
      q(
        'docker ps -q --filter "label=nel.slurm_job=$SLURM_JOB_ID" | xargs -r docker rm -f >/dev/null 2>&1; true',
      ) +
      ' || true',
    '}',
  ];
}

/** Automatic resumption (upstream's autoresume hook) and the max_walltime bound. */
function autoresume(ctx: SlurmScriptContext): string[] {
  const s = ctx.settings;
  const lines = [
    '# --- automatic resumption ------------------------------------------------------------------',
    '# The job submits its successor at start: `sbatch --dependency=afternotok:$SLURM_JOB_ID run.sub',
    "# $SLURM_JOB_ID`. The successor runs only if this job fails; it goes on only when this job's state was",
    '# TIMEOUT, PREEMPTED or NODE_FAIL. The state is read with sacct, or scontrol while the controller',
    '# still knows the job.',
    'nel_prev_job_id="${1:-}"',
    'nel_job_field() {',
    '  local v',
    '  v=$(sacct -j "$1" -X -P -n -o "$2" 2>/dev/null | head -n 1)',
    '  if [ -z "$v" ]; then',
    '    v=$(scontrol show job -o "$1" 2>/dev/null | tr \' \' \'\\n\' | grep -m 1 "^$3=")',
    '    v="${v#*=}"',
    '  fi',
    '  printf \'%s\\n\' "${v%% *}"',
    '}',
    'nel_seconds() {',
    '  local d=0 h=0 m=0 s=0',
    '  if [[ "$1" =~ ^([0-9]+)-([0-9]+):([0-9]+):([0-9]+)$ ]]; then',
    '    d=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]} m=${BASH_REMATCH[3]} s=${BASH_REMATCH[4]}',
    '  elif [[ "$1" =~ ^([0-9]+):([0-9]+):([0-9]+)$ ]]; then',
    '    h=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}',
    '  elif [[ "$1" =~ ^([0-9]+):([0-9]+)$ ]]; then',
    '    m=${BASH_REMATCH[1]} s=${BASH_REMATCH[2]}',
    '  elif [[ "$1" =~ ^([0-9]+)$ ]]; then',
    '    s=${BASH_REMATCH[1]}',
    '  else',
    '    return 1',
    '  fi',
    '  echo $((10#$d * 86400 + 10#$h * 3600 + 10#$m * 60 + 10#$s))',
    '}',
    'if [ -n "$nel_prev_job_id" ]; then',
    '  nel_prev_state=$(nel_job_field "$nel_prev_job_id" State JobState)',
    '  case "$nel_prev_state" in',
    '    TIMEOUT | PREEMPTED | NODE_FAIL)',
    '      echo "The previous Slurm job $nel_prev_job_id ended with $nel_prev_state: resuming." ;;',
    '    COMPLETED)',
    '      echo "The previous Slurm job $nel_prev_job_id completed: nothing to resume."',
    '      exit 0 ;;',
    '    *)',
    '      echo "The previous Slurm job $nel_prev_job_id ended with ${nel_prev_state:-an unknown state}: not resuming."',
    '      exit 1 ;;',
    '  esac',
    'fi',
  ];
  if (s.maxWalltime !== null) {
    lines.push(
      `nel_max_walltime=${q(s.maxWalltime)}`,
      'nel_max_seconds=$(nel_seconds "$nel_max_walltime")',
      'nel_acc_file="$task_dir/.accumulated_walltime"',
      '# A first job (no predecessor) starts the count again: a manual resubmission is a new chain.',
      'if [ ! -f "$nel_acc_file" ] || [ -z "$nel_prev_job_id" ]; then echo 0 > "$nel_acc_file"; fi',
      'nel_acc=$(cat "$nel_acc_file" 2>/dev/null)',
      '[[ "$nel_acc" =~ ^[0-9]+$ ]] || nel_acc=0',
      'if [ -n "$nel_prev_job_id" ]; then',
      '  nel_prev_elapsed=$(nel_job_field "$nel_prev_job_id" Elapsed RunTime)',
      '  if nel_prev_seconds=$(nel_seconds "$nel_prev_elapsed"); then',
      '    nel_acc=$((nel_acc + nel_prev_seconds))',
      '  elif [ -f "$task_dir/.job_start_time" ]; then',
      '    nel_acc=$((nel_acc + $(date +%s) - $(cat "$task_dir/.job_start_time")))',
      '  fi',
      '  echo "$nel_acc" > "$nel_acc_file"',
      'fi',
      'echo "Time used by this task\'s jobs so far: ${nel_acc}s (max_walltime $nel_max_walltime)"',
      'if [ "$nel_acc" -ge "$nel_max_seconds" ]; then',
      '  nel_say "error: max_walltime $nel_max_walltime reached (${nel_acc}s used by this task\'s jobs); not resuming again"',
      '  printf \'%s %s\\n\' "$(nel_utc)" 1 > "$logs_dir/stage.exit"',
      '  exit 1',
      'fi',
    );
  }
  lines.push(
    'date +%s > "$task_dir/.job_start_time"',
    'if [ -n "${SLURM_JOB_ID:-}" ]; then',
    '  if nel_out=$(sbatch --parsable --dependency=afternotok:"$SLURM_JOB_ID" "$task_dir/run.sub" "$SLURM_JOB_ID" 2>&1); then',
    '    nel_next_job_id="${nel_out%%;*}"',
    '    # written whole (a temporary file renamed): a reader never sees it empty',
    '    printf \'%s\\n\' "$nel_next_job_id" > "$task_dir/.slurm_next_job_id.tmp"',
    '    mv -f "$task_dir/.slurm_next_job_id.tmp" "$task_dir/.slurm_next_job_id"',
    '    echo "Submitted the successor job $nel_next_job_id (runs only if this job fails)"',
    '  else',
    '    nel_say "warning: the successor job could not be submitted, so this job will not resume by itself: $nel_out"',
    '  fi',
    'fi',
  );
  return lines;
}

function nodeLines(): string[] {
  return [
    '# --- nodes -----------------------------------------------------------------------------------',
    'nel_nodelist="${SLURM_JOB_NODELIST:-${SLURM_NODELIST:-}}"',
    'nel_nodes=()',
    'if command -v scontrol >/dev/null 2>&1 && [ -n "$nel_nodelist" ]; then',
    '  mapfile -t nel_nodes < <(scontrol show hostnames "$nel_nodelist")',
    'fi',
    '[ "${#nel_nodes[@]}" -gt 0 ] || nel_nodes=("$(hostname)")',
    'export PRIMARY_NODE="${nel_nodes[0]}"',
    'echo "PRIMARY_NODE: $PRIMARY_NODE"',
  ];
}

/** `--container-mounts` (pyxis) or `-v` (docker) words for `host:container[:flags]` specs. */
function mountWords(runtime: ContainerRuntime, specs: string[]): string[] {
  if (specs.length === 0) return [];
  if (runtime === 'pyxis') return [`--container-mounts=${q(specs.join(','))}`];
  if (runtime === 'docker') return specs.flatMap((m) => ['-v', q(m)]);
  return [];
}

/** Words that start a step on some nodes: srun with the runtime's options before the command. */
function srunWords(
  ctx: SlurmScriptContext,
  opts: {
    nodelist: string;
    nodes: string;
    ntasks: string;
    output: string;
    image?: string;
    mounts?: string[];
    envNames?: string[];
    /** docker: run the container with the GPUs and the host's network */
    gpus?: boolean;
    dockerExtra?: string[];
  },
): string[] {
  const rt = ctx.settings.containerRuntime;
  const words = ['srun'];
  if (rt === 'pyxis') words.push('--mpi=pmix');
  words.push('--overlap', `--nodelist=${opts.nodelist}`, `--nodes=${opts.nodes}`, `--ntasks=${opts.ntasks}`);
  if (rt === 'pyxis' && opts.image !== undefined) {
    words.push(`--container-image=${q(opts.image)}`);
    words.push(...mountWords(rt, opts.mounts ?? []));
    if (!ctx.settings.mounts.mountHome) words.push('--no-container-mount-home');
    if (opts.envNames && opts.envNames.length > 0)
      words.push(`--container-env=${q(opts.envNames.join(','))}`);
  }
  words.push(`--output=${opts.output}`);
  if (rt === 'docker' && opts.image !== undefined) {
    words.push('docker', 'run', '--rm', '--init', '--network=host', '--shm-size=100g');
    if (opts.gpus) words.push('--gpus=all');
    words.push('--label', '"nel.slurm_job=$SLURM_JOB_ID"', ...(opts.dockerExtra ?? []));
    words.push(...mountWords(rt, opts.mounts ?? []));
    for (const n of opts.envNames ?? []) words.push('-e', n);
    words.push(q(opts.image));
  }
  return words;
}

/** Continuation lines of a long command. */
const cont = (words: string[], indent: string, tail = ''): string[] => {
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + w.length > 100) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => `${indent}${i > 0 ? '  ' : ''}${l}${i < lines.length - 1 ? ' \\' : tail}`);
};

function healthWait(opts: {
  what: string;
  /** A bash array expression of the addresses to poll, one per instance (or the proxy's). */
  ips: string;
  port: number;
  path: string;
  timeoutSec: number;
  checkServers: boolean;
  /** The log named when the wait times out: a bash word using $nel_w (the index in ips). */
  log: string;
}): string[] {
  const url = `"http://$nel_ip:"${q(`${opts.port}${opts.path}`)}`;
  const timeoutMsg = `error: the ${opts.what} did not become healthy within ${opts.timeoutSec}s (execution.endpoint_readiness_timeout)`;
  return [
    `nel_elapsed=0`,
    `nel_wait_ips=(${opts.ips})`,
    'for nel_w in "${!nel_wait_ips[@]}"; do',
    '  nel_ip="${nel_wait_ips[$nel_w]}"',
    `  echo ${q(`Waiting for the ${opts.what} on `)}"$nel_ip..."`,
    `  until [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' ${url})" = 200 ]; do`,
    ...(opts.checkServers ? [`    nel_check_servers ${q(`before it became healthy`)} || nel_finish 1`] : []),
    `    if [ "$nel_terminated" = 1 ]; then nel_say ${q(`Terminated while waiting for the ${opts.what}`)}; nel_finish 143; fi`,
    `    if [ "$nel_elapsed" -ge ${opts.timeoutSec} ]; then`,
    `      nel_say ${q(timeoutMsg)}"; $(nel_log_end ${opts.log})"`,
    ...(opts.checkServers ? ['      nel_server_logs'] : []),
    '      nel_finish 1',
    '    fi',
    '    sleep 5',
    '    nel_elapsed=$((nel_elapsed + 5))',
    '  done',
    `  echo ${q(`The ${opts.what} is ready on `)}"$nel_ip"`,
    'done',
  ];
}

/** The server's shell: scheduler-neutral variables, pre_cmd (sourced) and the command, base64-encoded. */
function serverShell(d: SlurmDeploymentSpec, npi: number): string {
  return [
    `export PROC_ID="\${SLURM_PROCID:-0}" NODES_PER_INSTANCE=${npi}`,
    ...(d.preCmd ? [`eval "$(printf '%s' ${b64(d.preCmd)} | base64 -d)"`] : []),
    `exec bash -c "$(printf '%s' ${b64(d.command)} | base64 -d)"`,
  ].join('; ');
}

/** The names a server's container gets (its variables and the scheduler-neutral ones). */
function serverEnvNames(d: SlurmDeploymentSpec, rt: ContainerRuntime): string[] {
  const envNames = [
    ...new Set([...d.env.map((e) => e.target), 'MASTER_IP', 'ALL_NODE_IPS', 'NODES_PER_INSTANCE', 'PROC_ID']),
  ];
  return rt === 'docker'
    ? [...envNames.filter((n) => n !== 'PROC_ID'), 'SLURM_PROCID']
    : envNames.filter((n) => n !== 'PROC_ID' && n !== 'NODES_PER_INSTANCE');
}

/** Node IPs, and the helpers that watch the servers and report one that exits. */
function serverSetupLines(job: SlurmScriptJob, ctx: SlurmScriptContext): string[] {
  const total = totalNodes(ctx);
  return [
    '# --- model servers ---------------------------------------------------------------------------',
    `nel_server_nodes=("\${nel_nodes[@]:0:${total}}")`,
    `if [ "\${#nel_server_nodes[@]}" -lt ${total} ]; then`,
    `  nel_say "error: the deployments need ${total} node(s), the allocation has \${#nel_server_nodes[@]}"`,
    '  nel_finish 1',
    'fi',
    'NODES_IPS_ARRAY=()',
    'for nel_node in "${nel_server_nodes[@]}"; do',
    '  nel_ip=$(srun --overlap --nodelist="$nel_node" --nodes=1 --ntasks=1 hostname --ip-address | awk \'{print $1}\')',
    '  NODES_IPS_ARRAY+=("${nel_ip:-$nel_node}")',
    'done',
    `export ALL_NODE_IPS=$(IFS=,; echo "\${NODES_IPS_ARRAY[*]:0:${ctx.settings.numNodes}}")`,
    'echo "Node IPs: ${NODES_IPS_ARRAY[*]}"',
    '# A server that exits is reported with the tail of its log.',
    'nel_server_logs() {',
    '  local f',
    '  for f in "${SERVER_LOGS[@]}"; do',
    '    [ -f "$f" ] || continue',
    '    nel_say "--- last lines of $f:"',
    '    tail -n 20 "$f" | sed \'s/^/  /\'',
    '    tail -n 20 "$f" | sed \'s/^/  /\' >&2',
    '  done',
    '}',
    '# One line naming a log and its last non-empty line (the cause `nel status` shows).',
    'nel_log_end() {',
    '  local last',
    `  last=$(grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c 1-300)`,
    '  if [ -n "$last" ]; then printf \'its log %s ends: %s\' "$1" "$last"; else printf \'its log %s is empty\' "$1"; fi',
    '}',
    `nel_proxy_log() { printf '%s' ${q(`${job.taskDir}/logs/proxy-`)}"\${SLURM_JOB_ID:-}.log"; }`,
    'nel_check_servers() {',
    '  local g c',
    '  for g in "${!SERVER_PIDS[@]}"; do',
    '    if ! kill -0 "${SERVER_PIDS[$g]}" 2>/dev/null; then',
    '      wait "${SERVER_PIDS[$g]}" 2>/dev/null',
    '      c=$?',
    '      nel_say "error: ${SERVER_LABELS[$g]} exited with code $c $1; $(nel_log_end "${SERVER_LOGS[$g]}")"',
    '      nel_server_logs',
    '      return 1',
    '    fi',
    '  done',
    '  if [ -n "$PROXY_PID" ] && ! kill -0 "$PROXY_PID" 2>/dev/null; then',
    '    wait "$PROXY_PID" 2>/dev/null',
    '    c=$?',
    '    nel_say "error: the proxy exited with code $c $1; $(nel_log_end "$(nel_proxy_log)")"',
    '    return 1',
    '  fi',
    '}',
  ];
}

/** The deployment's instances, started in the background (SERVER_PIDS 0 .. num_instances-1). */
function deploymentLines(job: SlurmScriptJob, ctx: SlurmScriptContext, env: EnvGroups): string[] {
  const d = ctx.deployment!;
  const s = ctx.settings;
  const npi = s.numNodes / s.numInstances;
  const logs = slurmPattern(`${job.taskDir}/logs`);
  const srun = srunWords(ctx, {
    nodelist: '"$nel_instance_nodelist"',
    nodes: String(npi),
    ntasks: String(s.deploymentTasksPerInstance),
    output: `${q(`${logs}/server-`)}"$nel_g"${q('-%A-%t.log')}`,
    image: d.image,
    mounts: d.mounts,
    envNames: serverEnvNames(d, s.containerRuntime),
    gpus: true,
  });
  return [
    '# --- model deployment ------------------------------------------------------------------------',
    `nel_deploy_nodes=("\${nel_nodes[@]:0:${s.numNodes}}")`,
    `export NODES_PER_INSTANCE=${npi}`,
    'HEAD_NODE_IPS=()',
    ...env.exportDeploy,
    `for ((nel_g = 0; nel_g < ${s.numInstances}; nel_g++)); do`,
    `  nel_start=$((nel_g * ${npi}))`,
    `  nel_instance_nodes=("\${nel_deploy_nodes[@]:$nel_start:${npi}}")`,
    '  nel_instance_nodelist=$(IFS=,; echo "${nel_instance_nodes[*]}")',
    '  export MASTER_IP="${NODES_IPS_ARRAY[$nel_start]}"',
    '  HEAD_NODE_IPS+=("$MASTER_IP")',
    '  echo "Instance $nel_g: MASTER_IP=$MASTER_IP, nodes: ${nel_instance_nodes[*]}"',
    ...cont([...srun, 'bash', '-c', q(serverShell(d, npi))], '  ', ' &'),
    '  SERVER_PIDS+=($!)',
    `  SERVER_LABELS+=("model server instance $nel_g (${d.type})")`,
    `  SERVER_LOGS+=(${q(`${job.taskDir}/logs/server-`)}"$nel_g-\${SLURM_JOB_ID:-}-0.log")`,
    'done',
  ];
}

/** Each auxiliary deployment on its own nodes (after the deployment's), started in the background. */
function auxiliaryLines(job: SlurmScriptJob, ctx: SlurmScriptContext, env: EnvGroups): string[] {
  const lines: string[] = [];
  const logs = slurmPattern(`${job.taskDir}/logs`);
  let offset = ctx.settings.numNodes;
  (ctx.auxiliary ?? []).forEach((a, i) => {
    const srun = srunWords(ctx, {
      nodelist: '"$nel_aux_nodelist"',
      nodes: String(a.numNodes),
      ntasks: String(a.numNodes),
      output: q(`${logs}/aux-${a.name}-%A-%t.log`),
      image: a.image,
      mounts: a.mounts,
      envNames: serverEnvNames(a, ctx.settings.containerRuntime),
      gpus: true,
    });
    lines.push(
      `# --- auxiliary deployment ${a.name} (${a.type}) on ${a.numNodes} node(s) of its own ---`,
      `nel_aux_nodes=("\${nel_server_nodes[@]:${offset}:${a.numNodes}}")`,
      'nel_aux_nodelist=$(IFS=,; echo "${nel_aux_nodes[*]}")',
      ...env.exportAux[i]!,
      `export MASTER_IP="\${NODES_IPS_ARRAY[${offset}]}"`,
      `export ALL_NODE_IPS=$(IFS=,; echo "\${NODES_IPS_ARRAY[*]:${offset}:${a.numNodes}}")`,
      `export NODES_PER_INSTANCE=${a.numNodes}`,
      `AUX_IP_${i}="$MASTER_IP"`,
      `echo ${q(`Auxiliary deployment ${a.name}: `)}"MASTER_IP=$MASTER_IP, nodes: \${nel_aux_nodes[*]}"`,
      ...cont([...srun, 'bash', '-c', q(serverShell(a, a.numNodes))], '', ' &'),
      'SERVER_PIDS+=($!)',
      `SERVER_LABELS+=(${q(`auxiliary deployment ${a.name} (${a.type})`)})`,
      `SERVER_LOGS+=(${q(`${job.taskDir}/logs/aux-${a.name}-`)}"\${SLURM_JOB_ID:-}-0.log")`,
    );
    offset += a.numNodes;
  });
  return lines;
}

/** Wait for every server (and the proxy), then export the auxiliary deployments' URLs. */
function healthLines(job: SlurmScriptJob, ctx: SlurmScriptContext): string[] {
  const s = ctx.settings;
  const d = ctx.deployment;
  const lines: string[] = ['date'];
  if (d) {
    const multi = s.numInstances > 1;
    lines.push(
      ...healthWait({
        what: 'model server',
        ips: multi ? '"${HEAD_NODE_IPS[@]}"' : '127.0.0.1',
        port: d.port,
        path: d.healthPath,
        timeoutSec: s.readinessTimeoutSec,
        checkServers: true,
        log: '"${SERVER_LOGS[$nel_w]}"',
      }),
    );
    if (multi) lines.push(...proxyLines(job, ctx));
  }
  const first = d ? s.numInstances : 0;
  (ctx.auxiliary ?? []).forEach((a, i) => {
    lines.push(
      ...healthWait({
        what: `auxiliary deployment ${a.name}`,
        ips: `"$AUX_IP_${i}"`,
        port: a.port,
        path: a.healthPath,
        timeoutSec: s.readinessTimeoutSec,
        checkServers: true,
        log: `"\${SERVER_LOGS[${first + i}]}"`,
      }),
    );
    for (const u of a.urls) lines.push(`export ${u.name}="http://$AUX_IP_${i}:"${q(`${a.port}${u.path}`)}`);
  });
  lines.push('date');
  return lines;
}

function proxyLines(job: SlurmScriptJob, ctx: SlurmScriptContext): string[] {
  const s = ctx.settings;
  const p = s.proxy;
  const cfg = `${job.taskDir}/proxy.cfg`;
  const containerCfg = '/usr/local/etc/haproxy/haproxy.cfg';
  const logs = slurmPattern(`${job.taskDir}/logs`);
  const rt = s.containerRuntime;
  const srun = srunWords(ctx, {
    nodelist: '"$PRIMARY_NODE"',
    nodes: '1',
    ntasks: '1',
    output: q(`${logs}/proxy-%A.log`),
    image: p.image,
    mounts: [`${cfg}:${containerCfg}:ro`],
  });
  const cmd = rt === 'none' ? ['haproxy', '-f', q(cfg)] : ['haproxy', '-f', containerCfg];
  return [
    '# --- load balancer in front of the instances ---------------------------------------------------',
    '# proxy.cfg is made again from proxy.cfg.template at each start (its {IP_<n>} are node IPs).',
    `cp ${q(`${job.taskDir}/proxy.cfg.template`)} ${q(cfg)} || nel_finish 1`,
    'for nel_i in "${!NODES_IPS_ARRAY[@]}"; do',
    `  sed -i "s/{IP_$nel_i}/\${NODES_IPS_ARRAY[$nel_i]}/g" ${q(cfg)}`,
    'done',
    ...cont([...srun, ...cmd], '', ' &'),
    'PROXY_PID=$!',
    'echo "Proxy started with PID $PROXY_PID"',
    ...healthWait({
      what: 'proxy',
      ips: '127.0.0.1',
      port: p.port,
      path: p.healthCheckPath,
      timeoutSec: s.readinessTimeoutSec,
      checkServers: true,
      log: '"$(nel_proxy_log)"',
    }),
  ];
}

/** The evaluation step's command words (after srun's own options). */
function evaluationCommand(job: SlurmScriptJob, ctx: SlurmScriptContext): string[] {
  if (ctx.settings.containerRuntime !== 'none') return ['bash', '-c', q(evaluationContainerCommand(job))];
  // On the node itself: the engine of this installation reads config_ef.yaml from the task directory.
  const inner = [
    'cd "$1" || exit 1',
    ...(job.preCmd ? ['source "$1/pre_cmd.sh"'] : []),
    ...(job.configVars && job.configVars.length > 0
      ? [
          // the auxiliary deployments' URLs are known once they run: filled into a copy
          `sed ${configVarSed(job.configVars)} "$1/config_ef.yaml" > "$1/logs/config_ef.resolved.yaml" || exit 1`,
          `node ${q(ctx.engineJs)} run_eval --run_config "$1/logs/config_ef.resolved.yaml"`,
        ]
      : [`node ${q(ctx.engineJs)} run_eval --run_config "$1/config_ef.yaml"`]),
    'nel_code=$?',
    ...(job.postCmd ? ['(source "$1/post_cmd.sh")'] : []),
    'exit "$nel_code"',
  ].join('; ');
  return ['bash', '-c', q(inner), 'nel-eval', '"$task_dir"'];
}

function evaluationLines(job: SlurmScriptJob, ctx: SlurmScriptContext, env: EnvGroups): string[] {
  const s = ctx.settings;
  const rt = s.containerRuntime;
  const logs = slurmPattern(`${job.taskDir}/logs`);
  const names = [...new Set(['NEL_INVOCATION_ID', 'NEL_JOB_ID', ...job.env.map((e) => e.target)])];
  const mounts = [`${job.taskDir}/artifacts:${CONTAINER_RESULTS_DIR}`];
  const lines = [
    '# --- evaluation ------------------------------------------------------------------------------',
  ];
  if (job.dataset) {
    const inContainer = rt === 'none' ? job.dataset.host : job.dataset.mountPath;
    if (rt !== 'none') mounts.push(`${job.dataset.host}:${job.dataset.mountPath}`);
    lines.push(`export NEMO_EVALUATOR_DATASET_DIR=${q(inContainer)}`);
    names.push('NEMO_EVALUATOR_DATASET_DIR');
  }
  if (rt !== 'none') for (const [h, c] of s.mounts.evaluation) mounts.push(`${h}:${c}`);
  if (s.evaluationGpuVisible !== null) {
    lines.push(`export NVIDIA_VISIBLE_DEVICES=${q(s.evaluationGpuVisible)}`);
    names.push('NVIDIA_VISIBLE_DEVICES');
  }
  lines.push(...env.exportEval);
  for (const a of ctx.auxiliary ?? []) names.push(...a.urls.map((u) => u.name));
  const srun = srunWords(ctx, {
    nodelist: '"$PRIMARY_NODE"',
    nodes: '1',
    ntasks: '1',
    output: q(`${logs}/client-%A.log`),
    image: job.evalImage,
    mounts,
    envNames: names,
    gpus: s.evaluationGpuVisible !== null,
  });
  lines.push(
    'nel_utc > "$logs_dir/stage.running"',
    ...cont([...srun, ...evaluationCommand(job, ctx)], '', ' &'),
    'nel_eval_pid=$!',
    'nel_eval_stopped=0',
    'while kill -0 "$nel_eval_pid" 2>/dev/null; do',
    '  if [ "$nel_terminated" = 1 ] && [ "$nel_eval_stopped" = 0 ]; then',
    '    echo "Terminated: stopping the evaluation (it writes what it has)"',
    '    kill -TERM "$nel_eval_pid" 2>/dev/null',
    '    nel_eval_stopped=1',
    '  fi',
  );
  if (hasServers(ctx)) {
    lines.push(
      '  if [ "$nel_eval_stopped" = 0 ] && ! nel_check_servers "while the evaluation ran"; then',
      '    kill -TERM "$nel_eval_pid" 2>/dev/null',
      '    wait "$nel_eval_pid" 2>/dev/null',
      '    nel_finish 1',
      '  fi',
    );
  }
  lines.push(
    '  sleep 2',
    'done',
    'wait "$nel_eval_pid"',
    'exit_code=$?',
    `if [ "$exit_code" = 0 ] && { [ -f "$artifacts_dir/.nemo_evaluator_interrupted" ] || [ "$nel_terminated" = 1 ]; }; then`,
    '  echo "The evaluation was interrupted (SIGTERM); exiting with code 143."',
    '  exit_code=143',
    'fi',
    'if [ "$exit_code" != 0 ]; then',
    `  nel_say "error: the evaluation of job "${q(job.jobId)}" exited with code $exit_code; its log: "${q(`${job.taskDir}/logs/client-`)}"\${SLURM_JOB_ID:-}.log"`,
    'fi',
  );
  return lines;
}

/** Walltime of the CPU-only export job. */
export const EXPORT_WALLTIME = '00:30:00';

/**
 * Auto-export after a successful evaluation: a CPU-only job of its own (`<task>/export.sub`, as
 * upstream: `cpu_partition`, else `partition`; no GPUs, not exclusive), so the exporters never hold
 * the GPU nodes. It gets the export group's variables through sbatch's environment.
 */
function autoExportLines(job: SlurmScriptJob, ctx: SlurmScriptContext, env: EnvGroups): string[] {
  const dests = ctx.settings.autoExportDestinations;
  if (dests.length === 0) return [];
  return [
    '# --- auto-export: a CPU-only job of its own (export.sub) --------------------------------------',
    'if [ "$exit_code" = 0 ] && [ -n "${SLURM_JOB_ID:-}" ]; then',
    ...env.exportExport.map((l) => `  ${l}`),
    '  rm -f "$logs_dir/export.exit"',
    '  if nel_out=$(sbatch --parsable "$task_dir/export.sub" 2>&1); then',
    '    printf \'%s\\n\' "${nel_out%%;*}" > "$task_dir/.slurm_export_job_id"',
    `    echo "Submitted the export job \${nel_out%%;*} (${dests.join(', ')}); its log: $logs_dir/export-\${nel_out%%;*}.log"`,
    '  else',
    `    nel_say "warning: the export job could not be submitted: $nel_out; run \\\`nel export ${job.jobId} --dest ${dests.join(',')}\\\` where the results are visible"`,
    '  fi',
    'fi',
  ];
}

/** `<task>/export.sub`: the CPU-only job that runs the exporters of one task after its success. */
export function renderExportSub(job: SlurmScriptJob, ctx: SlurmScriptContext, jobName: string): string {
  const s = ctx.settings;
  const dests = s.autoExportDestinations;
  const line = (name: string, value?: string): string =>
    value === undefined ? `#SBATCH --${name}` : `#SBATCH --${name}=${q(value)}`;
  const log = `${slurmPattern(job.taskDir)}/logs/export-%j.log`;
  const exportConfig = `${job.taskDir}/export_config.yml`;
  const lines = [
    '#!/bin/bash',
    line('job-name', `${jobName}.export`),
    line('time', EXPORT_WALLTIME),
    line('account', s.account),
    line('partition', s.cpuPartition ?? s.partition),
    line('nodes', '1'),
    line('ntasks', '1'),
    ...(s.sbatchComment !== null ? [line('comment', s.sbatchComment)] : []),
    line('no-requeue'),
    line('output', log),
    line('error', log),
    `# The exporters of job ${job.jobId} (${dests.join(', ')}), submitted by its run.sub after the`,
    "# evaluation succeeded: a CPU-only job (no GPUs, not exclusive). The export group's variables come",
    '# from the environment sbatch passes on (names only here).',
    '',
    `task_dir=${q(job.taskDir)}`,
    'nel_code=0',
    `if ! command -v node >/dev/null 2>&1 || [ ! -f ${q(ctx.nelJs)} ]; then`,
    `  echo ${q(`error: node or ${ctx.nelJs} is not on this node; run \`nel export ${job.jobId} --dest ${dests.join(',')}\` where the results are visible`)} >&2`,
    '  nel_code=1',
    'else',
  ];
  for (const dest of dests) {
    lines.push(
      `  if node ${q(ctx.nelJs)} export ${q(job.jobId)} --dest ${q(dest)} --config ${q(exportConfig)} --job-dirs ${q(ctx.outputDir)}; then`,
      `    echo ${q(`Export of job ${job.jobId} to ${dest} completed`)}`,
      '  else',
      `    echo ${q(`error: export of job ${job.jobId} to ${dest} failed`)} >&2`,
      '    nel_code=1',
      '  fi',
    );
  }
  lines.push(
    'fi',
    'printf \'%s %s\\n\' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$nel_code" > "$task_dir/logs/export.exit"',
    'exit "$nel_code"',
  );
  return lines.join('\n') + '\n';
}

/** `<task>/run.sub`: one Slurm job, submitted with `sbatch run.sub`. */
export function renderRunSub(job: SlurmScriptJob, ctx: SlurmScriptContext, jobName: string): string {
  const env = envGroups(job, ctx);
  const needs = sourceNames([
    ...job.env,
    ...(ctx.deployment?.env ?? []),
    ...(ctx.auxiliary ?? []).flatMap((a) => a.env),
    ...(ctx.settings.autoExportDestinations.length > 0 ? ctx.exportEnv : []),
  ]);
  const rt = ctx.settings.containerRuntime;
  const lines = [
    '#!/bin/bash',
    ...sbatchHeader(job, ctx, jobName),
    `# Job ${job.jobId} of invocation ${ctx.invocationId}: task ${JSON.stringify(job.taskName)}. Submit with: sbatch run.sub`,
    `# Generated by nemo-evaluator-launcher-ts ${ctx.version}. Runs with container_runtime ${rt}.`,
    '# Secret values are never written here: variables are read by NAME from the environment sbatch',
    '# passes to the job (the submitting environment), and containers get the names only.',
  ];
  if (needs.length > 0) lines.push(`# Needs these environment variables: ${needs.join(' ')}`);
  if (rt !== 'none')
    lines.push(
      ...commentLines('config_ef.yaml (sent to the container base64-encoded below):', job.engineConfigYaml),
    );
  lines.push(
    '',
    `task_dir=${q(job.taskDir)}`,
    'logs_dir="$task_dir/logs"',
    'artifacts_dir="$task_dir/artifacts"',
    `export NEL_INVOCATION_ID=${q(ctx.invocationId)}`,
    `export NEL_JOB_ID=${q(job.jobId)}`,
    ...helpers(),
    ...stopContainers(ctx),
    'mkdir -p "$logs_dir" "$artifacts_dir" || exit 1',
    '',
    ...autoresume(ctx),
    'rm -f "$logs_dir/stage.exit" "$logs_dir/stage.running" "$artifacts_dir/.nemo_evaluator_interrupted"',
    "# The ids of this task's Slurm jobs, one per (re)start.",
    'echo "${SLURM_JOB_ID:-}" >> "$task_dir/.slurm_job_id.list"',
    '',
    '# --- variables (checked and read by name) ---------------------------------------------------',
    'nel_missing=0',
    ...env.check,
    'if [ "$nel_missing" != 0 ]; then',
    '  nel_say "hint: export them where sbatch runs (sbatch passes its environment to the job)"',
    '  nel_finish 1',
    'fi',
    ...env.capture,
    '',
    ...nodeLines(),
    '',
  );
  if (hasServers(ctx)) {
    lines.push(...serverSetupLines(job, ctx));
    if (ctx.deployment) lines.push(...deploymentLines(job, ctx, env));
    lines.push(...auxiliaryLines(job, ctx, env), ...healthLines(job, ctx), '');
  }
  lines.push(...evaluationLines(job, ctx, env), '');
  if (hasServers(ctx)) lines.push('nel_stop_servers', '');
  lines.push(...autoExportLines(job, ctx, env), 'nel_finish "$exit_code"');
  return (
    lines
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd() + '\n'
  );
}

/**
 * HAProxy config for several instances: one backend per instance head, written with `{IP_<n>}`
 * placeholders (n = the head's node index) that the job replaces with node IPs.
 */
export function renderHaproxyConfig(settings: SlurmSettings, deploymentPort: number): string {
  const npi = settings.numNodes / settings.numInstances;
  const servers = Array.from(
    { length: settings.numInstances },
    (_, i) => `    server node${i + 1} {IP_${i * npi}}:${deploymentPort} check`,
  );
  return [
    'global',
    '    log stdout format raw local0',
    '    maxconn 4096',
    '',
    'defaults',
    '    log     global',
    '    mode    http',
    '    option  httplog',
    '    timeout connect 10s',
    '    timeout client  100000s',
    '    timeout server  100000s',
    '',
    'frontend service_frontend',
    `    bind *:${settings.proxy.port}`,
    '    default_backend service_backend',
    '',
    'backend service_backend',
    '    mode http',
    `    option httpchk GET ${settings.proxy.healthCheckPath}`,
    `    http-check expect status ${settings.proxy.healthCheckStatus}`,
    '    option http-server-close',
    '    balance leastconn',
    ...servers,
    '',
  ].join('\n');
}
