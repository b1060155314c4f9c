/**
 * Submitting an invocation to Slurm (upstream's order): check on the cluster that every mounted path
 * exists (`test -d`), copy the staged invocation directory to `<output_dir>/<stamp>-<invocation>`
 * (a copy on this machine, rsync over ssh otherwise), `sbatch --parsable` each task's run.sub, record
 * the jobs in the exec DB.
 *
 * All or nothing: the jobs are submitted held (`--hold`), recorded, then released in one
 * `scontrol release`; when sbatch refuses one (a bad account or partition), the ones already held are
 * cancelled before any of them could start, the copied directory is removed and nothing is recorded.
 *
 * Secrets: sbatch passes its environment to the job, and the job reads its variables by name. Locally
 * sbatch runs in this process's environment; over ssh the values are exported at the top of the
 * script that runs sbatch, which ssh carries on its standard input: never in a command line or a file.
 */
import { cpSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { NelError, errorMessage } from '../../common/errors.js';
import { shQuote } from '../../common/shell.js';
import { appendJobRecords, execDbPath as defaultDbPath, type JobRecord } from '../../launcher/exec-db.js';
import type { InvocationPlan } from '../../launcher/types.js';
import type { LaunchOptions, LaunchResult } from '../types.js';
import { ClusterShell, describeAddress, isThisMachine, type ClusterAddress } from './host.js';
import { isSlurmPlan, type SlurmInvocationPlan, type SlurmPathCheck } from './plan.js';
import { SLURM, SUBMISSION_KEY } from './status.js';

/** The cluster of a plan: this machine, or the login node over ssh. */
export function planAddress(plan: SlurmInvocationPlan): ClusterAddress {
  return {
    hostname: plan.slurm.hostname,
    username: plan.slurm.username,
    local: isThisMachine(plan.slurm.hostname),
  };
}

/** `export NAME='value'` lines for the variables sbatch must pass on (only what is set). */
export function exportLines(names: string[], env: NodeJS.ProcessEnv): string {
  return names
    .filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n) && env[n] !== undefined)
    .map((n) => `export ${n}=${shQuote(env[n]!)}`)
    .join('\n');
}

/** One line from a command's error output: its `error:` lines, without the program prefix. */
export function errorLines(text: string, program: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errs = lines
    .filter((l) => /\berror:/i.test(l))
    .map((l) => l.replace(new RegExp(`^${program}: (error: )?`), '').replace(/^error: /, ''));
  return (errs.length > 0 ? errs : lines.slice(-1)).join('; ') || 'no output';
}

/** The check script: every path exists, sbatch is there, the invocation directory is new, then mkdir. */
function prepareScript(checks: SlurmPathCheck[], invocationDir: string, create: boolean): string {
  const lines = ['export LC_ALL=C', 'nel_bad=0'];
  for (const c of checks) {
    const test = c.kind === 'dir' ? '-d' : '-f';
    lines.push(
      `if [ ! ${test} ${shQuote(c.path)} ]; then printf 'MISSING\\t%s\\t%s\\t%s\\n' ${shQuote(c.kind)} ${shQuote(c.path)} ${shQuote(c.what)}; nel_bad=1; fi`,
    );
  }
  lines.push(
    '[ "$nel_bad" = 0 ] || exit 3',
    "command -v sbatch >/dev/null 2>&1 || { printf 'NOSBATCH\\n'; exit 4; }",
  );
  if (create) {
    const d = shQuote(invocationDir);
    lines.push(
      `if [ -e ${d} ]; then printf 'EXISTS\\n'; exit 5; fi`,
      `nel_err=$(mkdir -p ${d} 2>&1) || { printf 'MKDIR\\t%s\\n' "$nel_err" | head -n 1; exit 6; }`,
    );
  }
  return lines.join('\n') + '\n';
}

function missingPathsError(out: string, where: string): NelError {
  const missing = out
    .split('\n')
    .filter((l) => l.startsWith('MISSING\t'))
    .map((l) => l.split('\t'))
    .map(([, kind, path, what]) => ({ kind, path, what }));
  const first = missing[0]!;
  const more =
    missing.length > 1
      ? ` (and ${missing.length - 1} more: ${missing
          .slice(1)
          .map((m) => m.path)
          .join(', ')})`
      : '';
  return new NelError(
    'LAUNCH_FAILED',
    `${first.what}: ${first.kind === 'dir' ? 'directory' : 'file'} ${first.path} does not exist on ${where}${more}`,
    { hint: 'create it there or correct the path; nothing was copied or submitted' },
  );
}

/** Check the paths and create the invocation directory on the cluster (one command). */
export async function prepareCluster(
  shell: ClusterShell,
  checks: SlurmPathCheck[],
  invocationDir: string,
  create: boolean,
): Promise<void> {
  const r = await shell.run(prepareScript(checks, invocationDir, create), { timeoutMs: 60_000 });
  shell.checkConnected(r);
  const where = describeAddress(shell.address);
  if (r.code === 0) return;
  if (r.code === 3) throw missingPathsError(r.stdout, where);
  if (r.code === 4)
    throw new NelError('LAUNCH_FAILED', `sbatch is not found on ${where}`, {
      hint: shell.local
        ? 'run nel where the Slurm client commands are installed, or set execution.hostname to the login node'
        : 'check that the login node has the Slurm client commands on the PATH of non-interactive ssh sessions',
    });
  if (r.code === 5)
    throw new NelError(
      'LAUNCH_FAILED',
      `the invocation directory ${invocationDir} already exists on the cluster`,
      {
        hint: 'run again (a new invocation gets a new directory)',
      },
    );
  if (r.code === 6) {
    const why = r.stdout.replace(/^MKDIR\t/, '').trim();
    throw new NelError('OUTPUT_DIR', `cannot create ${invocationDir} on ${where}: ${why}`, {
      hint: 'choose an execution.output_dir the cluster user can write',
    });
  }
  throw new NelError(
    'LAUNCH_FAILED',
    `checking the paths on ${where} failed: ${errorLines(r.stderr, 'bash')}`,
  );
}

export interface SubmitTarget {
  jobId: string;
  taskName: string;
  /** Task directory on the cluster (sbatch runs there). */
  taskDir: string;
}

/**
 * sbatch each run.sub (held when `hold`): one command for all. On a refusal, the jobs already
 * submitted are cancelled in the same command, and the error is one line naming the job.
 */
export async function submitJobs(
  shell: ClusterShell,
  targets: SubmitTarget[],
  env: NodeJS.ProcessEnv,
  hostVars: string[],
  opts: { hold: boolean; runSubArgs?: string[]; afterAll?: string },
): Promise<string[]> {
  const hold = opts.hold ? ' --hold' : '';
  const lines = [
    'export LC_ALL=C',
    // over ssh the values travel here, on ssh's standard input; locally they are in the environment
    ...(shell.local ? [] : [exportLines(hostVars, env)]),
    'nel_ids=()',
    'nel_err=$(mktemp 2>/dev/null || echo "/tmp/nel-sbatch-$$.err")',
    'trap \'rm -f "$nel_err"\' EXIT',
  ];
  targets.forEach((t, i) => {
    lines.push(
      `nel_out=$(cd ${shQuote(t.taskDir)} && timeout 60 sbatch --parsable${hold} run.sub${(opts.runSubArgs ?? []).map((a) => ' ' + shQuote(a)).join('')} 2>"$nel_err"); nel_rc=$?`,
      "nel_id=$(printf '%s\\n' \"$nel_out\" | grep -E '^[0-9]+(;|$)' | tail -n 1); nel_id=${nel_id%%;*}",
      'if [ "$nel_rc" -ne 0 ] || [ -z "$nel_id" ]; then',
      `  printf 'FAIL\\t%s\\t%s\\n' ${i} "$(tr '\\n\\t' '\\r ' < "$nel_err" | head -c 2000)"`,
      '  if [ "${#nel_ids[@]}" -gt 0 ]; then scancel "${nel_ids[@]}" >/dev/null 2>&1; fi',
      '  exit 3',
      'fi',
      'nel_ids+=("$nel_id")',
      `printf 'OK\\t%s\\t%s\\n' ${i} "$nel_id"`,
    );
  });
  // e.g. resume's clean-up of the previous chain's files: safe while the new jobs are held
  if (opts.afterAll) lines.push(opts.afterAll);
  const r = await shell.run(lines.join('\n') + '\n', { timeoutMs: 60_000 + targets.length * 60_000 });
  shell.checkConnected(r);
  const ids: string[] = [];
  for (const l of r.stdout.split('\n')) {
    const f = l.split('\t');
    if (f[0] === 'OK') ids[Number(f[1])] = f[2]!.trim();
    if (f[0] === 'FAIL') {
      const t = targets[Number(f[1])]!;
      const why = errorLines((f[2] ?? '').replace(/\r/g, '\n'), 'sbatch');
      throw new NelError('LAUNCH_FAILED', `sbatch refused job ${t.jobId} (${t.taskName}): ${why}`, {
        hint: 'check execution.account, execution.partition and the other #SBATCH values (nel run --dry-run prints each run.sub); nothing was submitted or recorded',
      });
    }
  }
  if (r.code !== 0 || ids.length !== targets.length || ids.some((x) => !x)) {
    if (ids.length > 0) await cancelJobs(shell, ids.filter(Boolean));
    throw new NelError(
      'LAUNCH_FAILED',
      `submitting the jobs on ${describeAddress(shell.address)} failed: ${errorLines(r.stderr, 'bash')}`,
      { hint: 'nothing was recorded; check that sbatch works there' },
    );
  }
  return ids;
}

/** scancel the ids (errors ignored: ids Slurm forgot are already gone). */
export async function cancelJobs(shell: ClusterShell, ids: string[]): Promise<void> {
  const valid = ids.filter((i) => /^\d+(?:[_+]\d+)?$/.test(i));
  if (valid.length === 0) return;
  await shell.run(`scancel ${valid.join(' ')} >/dev/null 2>&1; true\n`, { timeoutMs: 60_000 });
}

/** Remove a directory on the cluster (best effort). */
export async function removeRemoteDir(shell: ClusterShell, dir: string): Promise<void> {
  if (shell.local) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  await shell.run(`rm -rf -- ${shQuote(dir)}\n`, { timeoutMs: 120_000 });
}

/** The exec DB record of a submitted job (upstream's data keys, plus the chain and how it was submitted). */
export function slurmJobRecord(
  plan: SlurmInvocationPlan,
  index: number,
  slurmJobId: string,
  address: ClusterAddress,
  now: Date,
): JobRecord {
  const job = plan.jobs[index]!;
  const sj = plan.slurm.jobs[index]!;
  return {
    invocation_id: plan.invocationId,
    job_id: job.jobId,
    timestamp: now.getTime() / 1000,
    executor: SLURM,
    data: {
      slurm_job_id: slurmJobId,
      remote_rundir_path: sj.remoteTaskDir,
      hostname: plan.slurm.hostname,
      username: plan.slurm.username,
      eval_image: job.evalImage,
      slurm_job_ids: [slurmJobId],
      [SUBMISSION_KEY]: address.local ? 'local' : 'ssh',
      // where the files are, for the commands that read them here (export, info)
      ...(address.local ? { output_dir: sj.remoteTaskDir } : {}),
      staged_dir: job.taskDir,
      env_var_names: plan.slurm.hostVars,
    },
    config: plan.resolvedConfig,
  };
}

/** Copy the staged invocation directory to the cluster. */
async function upload(shell: ClusterShell, plan: SlurmInvocationPlan): Promise<void> {
  const remote = plan.slurm.remoteInvocationDir;
  if (shell.local) {
    try {
      cpSync(plan.invocationDir, remote, { recursive: true, force: false, errorOnExist: true });
    } catch (e) {
      throw new NelError('OUTPUT_DIR', `cannot copy the invocation to ${remote}: ${errorMessage(e)}`, {
        hint: 'choose an execution.output_dir this user can write',
      });
    }
    return;
  }
  const r = await shell.upload(plan.invocationDir, remote);
  shell.checkConnected(r);
  if (r.code !== 0)
    throw new NelError(
      'LAUNCH_FAILED',
      `copying the invocation to ${describeAddress(shell.address)}:${remote} failed: ${errorLines(r.stderr, 'rsync')}`,
      { hint: 'check that rsync is installed on both machines and that execution.output_dir is writable' },
    );
}

/** Launch a Slurm plan: checks, copy, held submission, records, release. */
export async function launchSlurm(plan: InvocationPlan, opts: LaunchOptions): Promise<LaunchResult> {
  if (!isSlurmPlan(plan)) throw new NelError('INTERNAL', 'not a Slurm plan');
  const s = plan.slurm;
  const address = planAddress(plan);
  const shell = new ClusterShell(address, opts.env);
  const dbPath = opts.execDbPath ?? defaultDbPath(opts.env);
  const now = opts.now ?? new Date();
  const sameDir = address.local && resolve(plan.invocationDir) === resolve(s.remoteInvocationDir);
  let copied = false;
  let held: string[] = [];
  let recorded = false;
  try {
    await shell.open();
    await prepareCluster(shell, s.pathChecks, s.remoteInvocationDir, !sameDir);
    copied = !sameDir;
    if (!sameDir) await upload(shell, plan);
    held = await submitJobs(
      shell,
      s.jobs.map((j, i) => ({ jobId: j.jobId, taskName: plan.jobs[i]!.taskName, taskDir: j.remoteTaskDir })),
      opts.env,
      s.hostVars,
      { hold: true },
    );
    // every job's record in one append: all of them are recorded, or none
    appendJobRecords(
      dbPath,
      held.map((id, i) => slurmJobRecord(plan, i, id, address, now)),
    );
    recorded = true;
    const r = await shell.run(`scontrol release ${held.join(' ')}\n`, { timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new NelError(
        'LAUNCH_FAILED',
        `the jobs were submitted held but could not be released: ${errorLines(r.stderr, 'scontrol')}`,
        { hint: `release them on the cluster with: scontrol release ${held.join(' ')}` },
      );
  } catch (e) {
    if (!recorded) {
      if (held.length > 0) await cancelJobs(shell, held).catch(() => {});
      if (copied) await removeRemoteDir(shell, s.remoteInvocationDir).catch(() => {});
      rmSync(plan.invocationDir, { recursive: true, force: true });
    }
    throw e;
  } finally {
    await shell.close();
  }
  return {
    invocationId: plan.invocationId,
    invocationDir: s.remoteInvocationDir,
    jobIds: plan.jobs.map((j) => j.jobId),
    scripts: [],
    where: `on Slurm (${describeAddress(address)}; Slurm job${held.length > 1 ? 's' : ''} ${held.join(' ')})`,
  };
}
