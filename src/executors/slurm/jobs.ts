/**
 * The job commands on Slurm records: `nel kill` (scancel of every job of each task's chain: the
 * current job and the successor waiting to resume it), `nel resume` (submit run.sub again for what did
 * not succeed; the engine's request cache in artifacts/ answers what was already asked), `nel logs`
 * (`tail -F` of the engine logs, here or over ssh) and `nel info`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NelError, errorMessage } from '../../common/errors.js';
import { shQuote } from '../../common/shell.js';
import { packageVersion } from '../../common/version.js';
import { dumpYaml } from '../../common/yaml.js';
import { loadEnvFile } from '../../config/env-file.js';
import { openExecDb, taskNameOf, type ExecDb, type JobRecord } from '../../launcher/exec-db.js';
import { resolveId, resolveInvocationPrefix, type ResolvedId } from '../../launcher/id-resolve.js';
import { getJobStatuses } from '../../launcher/job-status.js';
import { preflightJobRecords } from '../../launcher/preflight.js';
import {
  isTerminal,
  type InfoOptions,
  type KillOptions,
  type KillOutcome,
  type ResumeOptions,
  type ResumeResult,
  type StatusEntry,
  type StreamLogsOptions,
} from '../types.js';
import { ClusterShell, describeAddress, type ClusterAddress } from './host.js';
import { recordsProber } from './endpoint-probe.js';
import { errorLines, submitJobs } from './launch.js';
import { parseProbe, probeScript } from './probe.js';
import { addressOf, localCopyDirOf, SLURM, slurmIdsOf, taskDirOf } from './status.js';

const ID = /^\d+(?:[_+]\d+)?$/;

/** Records grouped by the cluster they run on (one connection each). */
export function byCluster(recs: JobRecord[]): { address: ClusterAddress; recs: JobRecord[] }[] {
  const groups = new Map<string, { address: ClusterAddress; recs: JobRecord[] }>();
  for (const r of recs) {
    const a = addressOf(r);
    if (!a) continue;
    const k = `${a.local}\u0000${a.username ?? ''}\u0000${a.hostname}`;
    const g = groups.get(k) ?? { address: a, recs: [] };
    g.recs.push(r);
    groups.set(k, g);
  }
  return [...groups.values()];
}

/** Run fn with an open connection to the cluster, closed afterwards. */
export async function withCluster<T>(
  address: ClusterAddress,
  env: NodeJS.ProcessEnv,
  fn: (shell: ClusterShell) => Promise<T>,
): Promise<T> {
  const shell = new ClusterShell(address, env);
  try {
    await shell.open();
    return await fn(shell);
  } finally {
    await shell.close();
  }
}

function notFoundOutcome(id: string, message: string): KillOutcome {
  const isJob = id.includes('.');
  return {
    invocation: isJob ? null : id,
    job_id: isJob ? id : null,
    status: 'not_found',
    data: { error: message },
  };
}

// ---- kill ------------------------------------------------------------------------------------

/** How long kill waits for the jobs to leave squeue. */
const KILL_WAIT_S = 15;

/**
 * The kill script: scancel every known id of each task (recorded, started, successor, and the export
 * job a task that was just finishing submitted), then, until
 * none of them is active any more (at most KILL_WAIT_S), read the successor files again (a job that
 * was starting may have submitted one meanwhile) and cancel what appeared. Prints `ACTIVE <ids>` for
 * what is still in the queue at the end.
 */
function killScript(targets: { taskDir: string; ids: string[] }[]): string {
  const dirs = targets.map((t) => shQuote(t.taskDir)).join(' ');
  const recs = targets.map((t) => shQuote(t.ids.filter((i) => ID.test(i)).join(' '))).join(' ');
  return `export LC_ALL=C
nel_dirs=(${dirs})
nel_recs=(${recs})
nel_all() {
  local i d
  for i in "\${!nel_dirs[@]}"; do
    d=\${nel_dirs[$i]}
    printf '%s\\n' \${nel_recs[$i]}
    grep -a -E '^[0-9]+([_+][0-9]+)?$' "$d/.slurm_job_id.list" 2>/dev/null
    head -n 1 "$d/.slurm_next_job_id" 2>/dev/null | grep -E '^[0-9]+([_+][0-9]+)?$'
    head -n 1 "$d/.slurm_export_job_id" 2>/dev/null | grep -E '^[0-9]+([_+][0-9]+)?$'
  done | sort -u | paste -sd' ' -
}
nel_end=$((SECONDS + ${KILL_WAIT_S}))
while :; do
  ids=$(nel_all)
  [ -n "$ids" ] || break
  scancel $ids >/dev/null 2>&1
  active=$(timeout 20 squeue -h --jobs="\${ids// /,}" -o '%i' 2>/dev/null | paste -sd' ' -)
  if [ -z "$active" ]; then printf 'DONE\\n'; exit 0; fi
  if [ "$SECONDS" -ge "$nel_end" ]; then printf 'ACTIVE\\t%s\\n' "$active"; exit 0; fi
  sleep 1
done
printf 'DONE\\n'
`;
}

/** Mark a job killed in the exec DB (its next record). */
function markKilled(db: ExecDb, rec: JobRecord, now: number): void {
  db.append({ ...rec, data: { ...rec.data, killed: true, killed_at: now / 1000 } });
}

function finishedMessage(rec: JobRecord, state: string): string {
  const suffix =
    state === 'success'
      ? 'job already completed successfully'
      : state === 'failed'
        ? 'job already failed'
        : 'job was already killed';
  return `Could not kill job ${rec.job_id} (slurm_job_id: ${String(rec.data.slurm_job_id ?? '-')}) - ${suffix}`;
}

export async function killSlurmJobs(id: string, opts: KillOptions = {}): Promise<KillOutcome[]> {
  const env = opts.env ?? process.env;
  const db = openExecDb({ dbPath: opts.dbPath, env });
  let resolved: ResolvedId;
  try {
    resolved = resolveId(db, id);
  } catch (e) {
    if (e instanceof NelError && e.code === 'JOB_NOT_FOUND') return [notFoundOutcome(id, e.message)];
    throw e;
  }
  const results: KillOutcome[] = [];
  const statuses = new Map(getJobStatuses(db, resolved.jobIds).map((s) => [s.job_id, s]));
  const targets: JobRecord[] = [];
  for (const jobId of resolved.jobIds) {
    const rec = db.getJob(jobId);
    if (!rec) continue;
    if (rec.executor !== SLURM) {
      results.push({
        invocation: rec.invocation_id,
        job_id: jobId,
        status: 'error',
        data: { error: `Job ${jobId} is not a slurm job (executor: ${rec.executor})` },
      });
      continue;
    }
    const st = statuses.get(jobId)?.status ?? 'unknown';
    if (st === 'success' || st === 'failed' || st === 'killed') {
      results.push({
        invocation: rec.invocation_id,
        job_id: jobId,
        status: 'error',
        data: { error: finishedMessage(rec, st) },
        alreadyFinished: true,
      });
    } else targets.push(rec);
  }
  for (const g of byCluster(targets)) {
    const scripted = g.recs.filter((r) => taskDirOf(r) !== null);
    let outcome: { ok: boolean; text: string };
    try {
      outcome = await withCluster(g.address, env, async (shell) => {
        const r = await shell.run(
          killScript(scripted.map((x) => ({ taskDir: taskDirOf(x)!, ids: slurmIdsOf(x) }))),
          { timeoutMs: (KILL_WAIT_S + 45) * 1000 },
        );
        shell.checkConnected(r);
        if (r.code !== 0) return { ok: false, text: `scancel failed: ${errorLines(r.stderr, 'scancel')}` };
        const active = /^ACTIVE\t(.*)$/m.exec(r.stdout)?.[1];
        return active
          ? { ok: true, text: `Cancelled; Slurm still lists job(s) ${active} as ending` }
          : { ok: true, text: 'Successfully killed job' };
      });
    } catch (e) {
      outcome = { ok: false, text: errorMessage(e) };
    }
    const now = Date.now();
    for (const rec of g.recs) {
      if (outcome.ok) markKilled(db, rec, now);
      results.push({
        invocation: rec.invocation_id,
        job_id: rec.job_id,
        status: outcome.ok ? 'killed' : 'error',
        data: outcome.ok ? { result: outcome.text } : { error: outcome.text },
      });
    }
  }
  const order = new Map(resolved.jobIds.map((j, i) => [j, i]));
  return results.sort((a, b) => (order.get(a.job_id ?? '') ?? 0) - (order.get(b.job_id ?? '') ?? 0));
}

// ---- resume ----------------------------------------------------------------------------------

const RESUME_CLEANUP = [
  '.slurm_job_id.list',
  '.slurm_next_job_id',
  '.slurm_export_job_id',
  '.accumulated_walltime',
  'logs/export.exit',
  'logs/stage.exit',
  'logs/stage.running',
  'artifacts/.nemo_evaluator_interrupted',
];

function checkVariables(recs: JobRecord[], env: NodeJS.ProcessEnv): string[] {
  const names = new Set<string>();
  for (const r of recs)
    if (Array.isArray(r.data.env_var_names)) for (const n of r.data.env_var_names) names.add(String(n));
  const missing = [...names].filter((n) => env[n] === undefined);
  if (missing.length > 0) {
    const more =
      missing.length > 1 ? ` (and ${missing.length - 1} more: ${missing.slice(1).join(', ')})` : '';
    throw new NelError(
      'ENV_UNSET',
      `environment variable ${missing[0]} is not set (the jobs read it)${more}`,
      {
        hint: 'export it (or add it to ./.env) and resume again; nothing was submitted',
      },
    );
  }
  return [...names];
}

export async function resumeSlurmInvocation(id: string, opts: ResumeOptions = {}): Promise<ResumeResult> {
  const env = opts.env ?? process.env;
  const db = openExecDb({ dbPath: opts.dbPath, env });
  let inv: string;
  try {
    inv = resolveInvocationPrefix(db, id);
  } catch (e) {
    if (e instanceof NelError && e.code === 'JOB_NOT_FOUND')
      throw new NelError('JOB_NOT_FOUND', `Invocation '${id}' not found in execution database`, {
        hint: "use 'nel ls runs' to see available invocations",
      });
    throw e;
  }
  const recs = db.jobsOf(inv).filter((r) => r.executor === SLURM && taskDirOf(r) !== null && addressOf(r));
  if (recs.length === 0)
    throw new NelError('JOB_NOT_FOUND', `Invocation '${inv}' has no Slurm jobs to resume`);
  const statuses = new Map<string, StatusEntry>(getJobStatuses(db, [inv]).map((s) => [s.job_id ?? '', s]));
  const live = recs.filter((r) => {
    const st = statuses.get(r.job_id)?.status;
    return st === 'running' || st === 'pending';
  });
  if (live.length > 0) {
    const s = statuses.get(live[0]!.job_id)!;
    throw new NelError(
      'LAUNCH_FAILED',
      `Invocation ${inv} is still running (job ${live[0]!.job_id} is ${s.status.toUpperCase()} on Slurm${s.data.current_slurm_job_id ? ` as job ${String(s.data.current_slurm_job_id)}` : ''})`,
      { hint: `wait for it to finish, or stop it first with: nel kill ${inv}` },
    );
  }
  const unknown = recs.find((r) => statuses.get(r.job_id)?.status === 'unknown');
  if (unknown) {
    const s = statuses.get(unknown.job_id)!;
    throw new NelError(
      'LAUNCH_FAILED',
      `the state of job ${unknown.job_id} cannot be read: ${s.cause ?? 'unknown'}`,
      {
        hint: s.hint ?? 'check the cluster and resume again',
      },
    );
  }
  const rerun: JobRecord[] = [];
  const skipped: JobRecord[] = [];
  for (const r of recs) {
    if (opts.all || statuses.get(r.job_id)?.status !== 'success') rerun.push(r);
    else skipped.push(r);
  }
  const named = (r: JobRecord) => ({ jobId: r.job_id, taskName: taskNameOf(r) ?? r.job_id });
  const result: ResumeResult = {
    invocationId: inv,
    invocationDir: taskDirOf(recs[0]!)!.replace(/\/[^/]+$/, ''),
    rerun: [],
    skipped: skipped.map(named),
    supervisor: null,
    failedAtOnce: [],
    warnings: [],
  };
  if (rerun.length === 0) return result;
  loadEnvFile(undefined, { cwd: opts.cwd ?? process.cwd(), env });
  const names = checkVariables(rerun, env);
  // the endpoints are probed where the jobs were submitted (the login node over ssh, else here),
  // never from inside a container
  const preflight = await preflightJobRecords(
    rerun.map((r) => ({ ...r, data: { ...r.data, use_docker: false } })),
    { env, skip: opts.skipPreflight, prober: recordsProber(rerun, env) },
  );
  result.warnings.push(...preflight.warnings);
  const now = (opts.now ?? new Date()).getTime() / 1000;
  for (const g of byCluster(rerun)) {
    await withCluster(g.address, env, async (shell) => {
      const cleanup = g.recs
        .map((r) => `cd ${shQuote(taskDirOf(r)!)} && rm -f ${RESUME_CLEANUP.join(' ')}`)
        .join('\n');
      const ids = await submitJobs(
        shell,
        g.recs.map((r) => ({ jobId: r.job_id, taskName: taskNameOf(r) ?? r.job_id, taskDir: taskDirOf(r)! })),
        env,
        names,
        { hold: true, afterAll: cleanup },
      );
      try {
        for (const [i, r] of g.recs.entries()) {
          const { killed: _k, killed_at: _ka, ...data } = r.data;
          db.append({
            ...r,
            data: {
              ...data,
              slurm_job_id: ids[i]!,
              slurm_job_ids: [...slurmIdsOf(r), ids[i]!],
              resumed_at: now,
            },
          });
        }
      } catch (e) {
        await shell.run(`scancel ${ids.join(' ')}\n`).catch(() => {});
        throw e;
      }
      const rel = await shell.run(`scontrol release ${ids.join(' ')}\n`, { timeoutMs: 60_000 });
      if (rel.code !== 0)
        throw new NelError(
          'LAUNCH_FAILED',
          `the resubmitted jobs could not be released: ${errorLines(rel.stderr, 'scontrol')}`,
          {
            hint: `release them on the cluster with: scontrol release ${ids.join(' ')}`,
          },
        );
    });
  }
  // the copy here of a rerun job's results (for the scores) is stale now
  for (const r of rerun) {
    const copy = localCopyDirOf(r, env);
    if (copy) rmSync(join(copy, 'artifacts', 'results.yml'), { force: true });
  }
  result.rerun = rerun.map(named);
  return result;
}

// ---- logs ------------------------------------------------------------------------------------

/** Display prefix of a job: the first 6 characters of the invocation id, a dot, the index. */
export function logPrefix(jobId: string): string {
  const dot = jobId.lastIndexOf('.');
  return `${jobId.slice(0, Math.min(6, dot))}.${jobId.slice(dot + 1)}`;
}

interface FollowedJob {
  rec: JobRecord;
  taskDir: string;
  /** Slurm ids whose engine log is followed already. */
  ids: Set<string>;
}

/** Every Slurm id of a job's chain (recorded, started, successor), read from the cluster in one probe. */
function chainIds(shell: ClusterShell, jobs: FollowedJob[]): string[][] {
  const targets = jobs.map((j) => ({ taskDir: j.taskDir, ids: slurmIdsOf(j.rec) }));
  const r = shell.runSync(probeScript(targets), { timeoutMs: 60_000 });
  shell.checkConnected(r);
  const p = parseProbe(r.stdout, targets.length);
  return jobs.map((j, i) => {
    const f = p.jobs[i]!;
    const last = slurmIdsOf(j.rec).slice(-1);
    return [...new Set([...last, ...f.started, ...(f.next ? [f.next] : [])])];
  });
}

/**
 * Follow the engine logs (`<task>/logs/client-<slurm id>.log`) of the given jobs: the last lines of
 * each, then new lines as they come, with `tail -F` here or on the login node. Logs of jobs that
 * appear later (a successor continuing after a time limit) are followed from their first line. Stops
 * once every job is terminal (unless noExit).
 */
export async function streamSlurmLogs(ids: string[], opts: StreamLogsOptions): Promise<void> {
  const env = opts.env ?? process.env;
  const db = openExecDb({ dbPath: opts.dbPath, env });
  const recs: JobRecord[] = [];
  const seen = new Set<string>();
  for (const id of ids)
    for (const jobId of resolveId(db, id).jobIds) {
      const rec = db.getJob(jobId);
      if (!rec || seen.has(jobId) || rec.executor !== SLURM || !taskDirOf(rec)) continue;
      seen.add(jobId);
      recs.push(rec);
    }
  await Promise.all(byCluster(recs).map((g) => followCluster(g.address, g.recs, env, opts)));
}

async function followCluster(
  address: ClusterAddress,
  recs: JobRecord[],
  env: NodeJS.ProcessEnv,
  opts: StreamLogsOptions,
): Promise<void> {
  const jobs: FollowedJob[] = recs.map((rec) => ({ rec, taskDir: taskDirOf(rec)!, ids: new Set() }));
  const byFile = new Map<string, FollowedJob>();
  /** Followed files, by number (the prefix of each line the followers print). */
  const followed: string[] = [];
  const tails: ChildProcess[] = [];
  const emit = (job: FollowedJob, line: string) =>
    opts.onLine({
      jobId: job.rec.job_id,
      prefix: logPrefix(job.rec.job_id),
      taskName: taskNameOf(job.rec) ?? job.rec.job_id,
      line: line.replace(/\r$/, ''),
    });
  await withCluster(address, env, async (shell) => {
    const follow = (files: string[], fromStart: boolean) => {
      if (files.length === 0) return;
      const lines = fromStart ? '+1' : String(opts.tailLines ?? 15);
      // one `tail -F` per file (it waits for files that do not exist yet), each line prefixed with
      // the file's number; the script ends its tails when its standard input closes
      const base = followed.length;
      followed.push(...files);
      const script = [
        ...files.map(
          (f, k) => `tail -n ${lines} -F -- ${shQuote(f)} 2>/dev/null | sed -u 's/^/${base + k}\t/' &`,
        ),
        'cat >/dev/null',
        'trap "" TERM',
        'kill -TERM 0 2>/dev/null',
      ].join('\n');
      const child = shell.spawnFollow(script);
      child.stdin!.on('error', () => {});
      tails.push(child);
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const tab = line.indexOf('\t');
          const job = tab > 0 ? byFile.get(followed[Number(line.slice(0, tab))] ?? '') : undefined;
          if (job) emit(job, line.slice(tab + 1));
        }
      });
    };
    const refresh = (first: boolean) => {
      const chains = chainIds(shell, jobs);
      const fresh: string[] = [];
      jobs.forEach((j, i) => {
        for (const sid of chains[i]!) {
          if (j.ids.has(sid)) continue;
          j.ids.add(sid);
          const file = `${j.taskDir}/logs/client-${sid}.log`;
          byFile.set(file, j);
          fresh.push(file);
        }
      });
      follow(fresh, !first);
    };
    refresh(true);
    const interval = Math.max(opts.intervalMs ?? 2000, 500);
    for (;;) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, interval);
        opts.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (opts.signal?.aborted) break;
      if (!opts.noExit) {
        const states = getJobStatuses(
          openExecDb({ dbPath: opts.dbPath, env }),
          jobs.map((j) => j.rec.job_id),
        );
        if (states.length > 0 && states.every((s) => isTerminal(s.status) || s.status === 'not_found')) {
          await new Promise((r) => setTimeout(r, 1000)); // what tail has read still arrives
          break;
        }
      }
      refresh(false);
    }
    // closing their input ends the followers (here and on the login node); the kill is a fallback
    for (const t of tails) t.stdin!.end();
    await new Promise((r) => setTimeout(r, 300));
    for (const t of tails) if (t.exitCode === null && t.signalCode === null) t.kill('SIGTERM');
  });
}

// ---- info ------------------------------------------------------------------------------------

const KEY_ARTIFACTS: [string, string][] = [
  ['results.yml', 'benchmark scores'],
  ['eval_factory_metrics.json', 'response, latency and token statistics'],
  ['metadata.yaml', 'launcher config and versions'],
  ['report.html', 'request/response report'],
];

export async function describeSlurmJobs(ids: string[], opts: InfoOptions = {}): Promise<string> {
  if (ids.length === 0)
    throw new NelError('USAGE', 'at least one id is required', { hint: 'nel info <invocation or job id>' });
  const env = opts.env ?? process.env;
  const db = openExecDb({ dbPath: opts.dbPath, env });
  const recs: JobRecord[] = [];
  for (const id of ids)
    for (const j of resolveId(db, id).jobIds) {
      const r = db.getJob(j);
      if (r && r.executor === SLURM) recs.push(r);
    }
  const statuses = new Map(
    getJobStatuses(
      db,
      recs.map((r) => r.job_id),
    ).map((s) => [s.job_id, s]),
  );
  const out: string[] = [`nemo_evaluator_launcher: ${packageVersion()}`, ''];
  const showAll = !opts.config && !opts.artifacts && !opts.logs;
  for (const rec of recs) {
    const dir = taskDirOf(rec) ?? '-';
    const addr = addressOf(rec);
    const st = statuses.get(rec.job_id);
    const where = addr ? describeAddress(addr) : '-';
    if (showAll || opts.artifacts || opts.logs) {
      out.push(`Job ${rec.job_id}`);
      if (showAll) {
        out.push(`├── Executor: ${rec.executor}`);
        out.push(`├── Created: ${new Date(rec.timestamp * 1000).toISOString()}`);
        out.push(`├── Task: ${taskNameOf(rec) ?? '-'}`);
        out.push(
          `├── Status: ${st?.status ?? 'unknown'}${st?.data.slurm_state ? ` (Slurm: ${String(st.data.slurm_state)})` : ''}`,
        );
        out.push(`├── Cluster: ${where}`);
        const current = st?.data.current_slurm_job_id;
        out.push(
          `├── Slurm job ids: ${slurmIdsOf(rec).join(' ')}${current ? ` (current: ${String(current)})` : ''}`,
        );
        if (st?.data.slurm_nodes) out.push(`├── Nodes: ${String(st.data.slurm_nodes)}`);
      }
      if (showAll || opts.artifacts) {
        out.push(`├── Artifacts: ${dir}/artifacts (on ${where})`);
        for (const [f, d] of KEY_ARTIFACTS) out.push(`│   ├── ${f} - ${d}`);
      }
      if (showAll || opts.logs) {
        out.push(`└── Logs: ${dir}/logs (on ${where})`);
        out.push(`    ├── slurm-<slurm job id>.log - the job script (stages, errors, resumption)`);
        out.push(`    ├── client-<slurm job id>.log - the evaluation engine (what nel logs follows)`);
        out.push(`    └── server-<instance>-<slurm job id>-<task>.log - the model server (deployments only)`);
      }
      out.push('');
    }
    if (opts.config) {
      out.push(`# Job ${rec.job_id} config`, dumpYaml(rec.config).trimEnd(), '');
    }
  }
  if ((opts.copyLogs || opts.copyArtifacts) && recs.length > 0) {
    for (const g of byCluster(recs)) {
      await withCluster(g.address, env, async (shell) => {
        for (const rec of g.recs) {
          const dir = taskDirOf(rec);
          if (!dir) continue;
          for (const [want, sub] of [
            [opts.copyLogs, 'logs'],
            [opts.copyArtifacts, 'artifacts'],
          ] as const) {
            if (!want) continue;
            const dest = join(want, rec.job_id, sub);
            mkdirSync(dest, { recursive: true });
            const r = await shell.download(`${dir}/${sub}`, dest);
            shell.checkConnected(r);
            out.push(
              r.code === 0
                ? `Copied ${sub} of ${rec.job_id} to ${dest}`
                : `Could not copy ${sub} of ${rec.job_id}: ${errorLines(r.stderr, shell.local ? 'cp' : 'rsync')}`,
            );
          }
        }
      });
    }
  }
  out.push(`Exec DB: ${db.path}`);
  if (recs.length > 0) {
    const inv = recs[0]!.invocation_id;
    out.push(`Next: nel status ${inv} | nel logs ${inv} | nel export ${inv} --dest local`);
  }
  return out.join('\n') + '\n';
}
