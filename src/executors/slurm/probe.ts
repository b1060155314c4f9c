/**
 * One look at a set of Slurm jobs: a bash script, run on the cluster (locally or as one ssh call),
 * reads each job's files (the chain of Slurm ids, stage.exit, progress, the last error lines of its
 * logs) and asks Slurm for the state of every id that matters in ONE `squeue` call (`--states=all`:
 * finished jobs too, while the controller remembers them); ids squeue no longer knows are asked of
 * `sacct` once, when the cluster keeps accounting. What Slurm forgot entirely is decided from the
 * job's files.
 *
 * Kept small: the status reader loads this module with `nel status`.
 */
import { shQuote } from '../../common/shell.js';
import type { JobCause, JobProgress, JobState } from '../types.js';

/** A job to look at: its task directory on the cluster and the Slurm ids recorded for it. */
export interface ProbeTarget {
  taskDir: string;
  /** Recorded Slurm job ids, oldest first (the first submission, then resubmissions). */
  ids: string[];
  /** Send the content of artifacts/results.yml when it is there (for a copy on this machine). */
  wantResults?: boolean;
}

/** What the files of one job say. */
export interface JobFiles {
  dirExists: boolean;
  /** `.slurm_job_id.list`: the ids of the jobs that started the task, oldest first. */
  started: string[];
  /** `.slurm_next_job_id`: the successor waiting for the current job to fail. */
  next: string | null;
  /** `logs/stage.exit` (`<UTC time> <code>`), or null. */
  exitText: string | null;
  running: boolean;
  interrupted: boolean;
  hasResults: boolean;
  /** The content of artifacts/results.yml, when asked for (wantResults) and at most 1 MiB. */
  resultsYml: string | null;
  progress: number | null;
  total: number | null;
  /** The last `error: ...` line of each id's job log (`slurm-<id>.log`) and engine log (`client-<id>.log`). */
  jobErrors: Map<string, string>;
  clientErrors: Map<string, string>;
}

export interface SlurmJobInfo {
  state: string;
  reason: string;
  nodes: string;
  /** squeue's dependency column, e.g. `afternotok:66(unfulfilled)`. */
  dependency: string;
}

export interface ProbeResult {
  jobs: JobFiles[];
  /** Slurm's state of each id it still knows. */
  slurm: Map<string, SlurmJobInfo>;
  /** Why squeue could not answer (controller down, command missing), or null. */
  slurmError: string | null;
}

const ID = /^\d+(?:[_+]\d+)?$/;

/** The Slurm ids worth asking about for a job: the current one (last started, else last recorded) and the successor. */
function idsOfInterest(t: ProbeTarget): string {
  return t.ids.filter((i) => ID.test(i)).join(' ');
}

/**
 * The probe script. Output: tab-separated lines `J <i> <key> <value>` per job, then `S <id> <state>
 * <reason> <nodes>` per id squeue knows, `A <id> <state>` per id only sacct knows, and `E <message>`
 * when squeue failed. Values never contain a newline or a tab.
 */
export function probeScript(targets: ProbeTarget[]): string {
  const dirs = targets.map((t) => shQuote(t.taskDir)).join(' ');
  const recs = targets.map((t) => shQuote(idsOfInterest(t))).join(' ');
  const want = targets.map((t) => (t.wantResults ? '1' : '0')).join(' ');
  return `export LC_ALL=C
nel_dirs=(${dirs})
nel_recs=(${recs})
nel_want=(${want})
nel_ids=()
nel_ef=()
nel_et=()
nel_one() { tr -d '\\r' | tr '\\t' ' ' | head -c 600; }
nel_out() { printf 'J\\t%s\\t%s\\t%s\\n' "$1" "$2" "$3"; }
# the first line of a file (at most $2 characters, no CR or tab) into nel_v; builtins only, no process
nel_read() { nel_v=; [ -f "$1" ] && { IFS= read -r -n "$2" nel_v < "$1" || true; }; nel_v=\${nel_v//$'\\r'/}; nel_v=\${nel_v//$'\\t'/ }; }
for nel_i in "\${!nel_dirs[@]}"; do
  d=\${nel_dirs[$nel_i]}
  if [ ! -d "$d" ]; then nel_out "$nel_i" nodir 1; fi
  started=
  if [ -f "$d/.slurm_job_id.list" ]; then
    while IFS= read -r l || [ -n "$l" ]; do [[ $l =~ ^[0-9]+([_+][0-9]+)?$ ]] && started+="$l "; done < "$d/.slurm_job_id.list"
  fi
  nel_out "$nel_i" started "$started"
  nel_read "$d/.slurm_next_job_id" 64; next=\${nel_v//[!0-9_+]/}
  nel_out "$nel_i" next "$next"
  if [ -f "$d/logs/stage.exit" ]; then nel_read "$d/logs/stage.exit" 200; nel_out "$nel_i" exit "$nel_v"; fi
  [ -f "$d/logs/stage.running" ] && nel_out "$nel_i" running 1
  [ -f "$d/artifacts/.nemo_evaluator_interrupted" ] && nel_out "$nel_i" interrupted 1
  if [ -f "$d/artifacts/results.yml" ]; then
    nel_out "$nel_i" results 1
    if [ "\${nel_want[$nel_i]}" = 1 ] && [ "$(wc -c < "$d/artifacts/results.yml")" -le 1048576 ]; then
      printf 'J\\t%s\\tresultsb64\\t%s\\n' "$nel_i" "$(base64 -w 0 < "$d/artifacts/results.yml")"
    fi
  fi
  if [ -f "$d/artifacts/progress" ]; then nel_read "$d/artifacts/progress" 32; nel_out "$nel_i" progress "$nel_v"; fi
  if [ -f "$d/artifacts/progress_total" ]; then nel_read "$d/artifacts/progress_total" 32; nel_out "$nel_i" total "$nel_v"; fi
  cur=\${started% }; cur=\${cur##* }
  if [ -z "$cur" ]; then cur=\${nel_recs[$nel_i]}; cur=\${cur##* }; fi
  for j in $cur $next; do
    # the logs whose last error line is wanted; read below by one awk for all jobs
    if [ -f "$d/logs/slurm-$j.log" ]; then nel_ef+=("$d/logs/slurm-$j.log"); nel_et+=("$nel_i"$'\\t'"joberr:$j"); fi
    if [ -f "$d/logs/client-$j.log" ]; then nel_ef+=("$d/logs/client-$j.log"); nel_et+=("$nel_i"$'\\t'"clienterr:$j"); fi
  done
  nel_ids+=($cur $next)
done
if [ "\${#nel_ef[@]}" -gt 0 ]; then
  awk 'BEGIN { for (i = 1; i < ARGC; i++) idx[ARGV[i]] = i }
    /^(error: |\\[E )/ { last[idx[FILENAME]] = $0 }
    END { for (k in last) { v = last[k]; gsub(/\\r/, "", v); gsub(/\\t/, " ", v); printf "%s\\t%s\\n", k, substr(v, 1, 600) } }' "\${nel_ef[@]}" 2>/dev/null |
    while IFS=$'\\t' read -r k v; do printf 'J\\t%s\\t%s\\n' "\${nel_et[k-1]}" "$v"; done
fi
ids=$(printf '%s\\n' "\${nel_ids[@]}" | grep -E '^[0-9]' | sort -u | paste -sd, -)
if [ -n "$ids" ]; then
  sq=$(timeout 30 squeue -h --states=all --jobs="$ids" -o '%i|%T|%r|%N|%E' 2>&1); rc=$?
  if [ $rc -ne 0 ] && ! printf '%s' "$sq" | grep -q 'Invalid job id'; then
    printf 'E\\t%s\\n' "$(printf '%s' "$sq" | tail -n 1 | nel_one)"
  else
    [ $rc -ne 0 ] && sq=
    printf '%s\\n' "$sq" | awk -F'|' 'NF >= 2 { printf "S\\t%s\\t%s\\t%s\\t%s\\t%s\\n", $1, $2, $3, $4, $5 }'
    missing=$(printf '%s\\n' "$sq" | awk -F'|' -v ids="$ids" 'BEGIN { n = split(ids, a, ",") } { k[$1] = 1 } END { for (i = 1; i <= n; i++) if (!(a[i] in k)) printf "%s%s", (c++ ? "," : ""), a[i] }')
    if [ -n "$missing" ]; then
      timeout 30 sacct -n -P -X --jobs="$missing" -o JobID,State 2>/dev/null |
        awk -F'|' 'NF >= 2 { split($2, s, " "); printf "A\\t%s\\t%s\\n", $1, s[1] }'
    fi
  fi
fi
`;
}

const emptyFiles = (): JobFiles => ({
  dirExists: true,
  started: [],
  next: null,
  exitText: null,
  running: false,
  interrupted: false,
  hasResults: false,
  resultsYml: null,
  progress: null,
  total: null,
  jobErrors: new Map(),
  clientErrors: new Map(),
});

const count = (v: string): number | null => {
  const t = v.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
};

/** Parse the probe's output for `n` targets. */
export function parseProbe(text: string, n: number): ProbeResult {
  const jobs = Array.from({ length: n }, emptyFiles);
  const slurm = new Map<string, SlurmJobInfo>();
  let slurmError: string | null = null;
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'J' && f.length >= 4) {
      const j = jobs[Number(f[1])];
      if (!j) continue;
      const key = f[2]!;
      const v = f.slice(3).join('\t');
      if (key === 'nodir') j.dirExists = false;
      else if (key === 'started') j.started = v.split(' ').filter((x) => ID.test(x));
      else if (key === 'next') j.next = ID.test(v.trim()) ? v.trim() : null;
      else if (key === 'exit') j.exitText = v;
      else if (key === 'running') j.running = true;
      else if (key === 'interrupted') j.interrupted = true;
      else if (key === 'results') j.hasResults = true;
      else if (key === 'resultsb64') j.resultsYml = Buffer.from(v.trim(), 'base64').toString('utf8');
      else if (key === 'progress') j.progress = count(v);
      else if (key === 'total') j.total = count(v);
      else if (key.startsWith('joberr:')) j.jobErrors.set(key.slice(7), v.trim());
      else if (key.startsWith('clienterr:')) j.clientErrors.set(key.slice(10), v.trim());
    } else if (f[0] === 'S' && f.length >= 3) {
      slurm.set(f[1]!, {
        state: (f[2] ?? '').split(' ')[0]!,
        reason: f[3] ?? '',
        nodes: f[4] ?? '',
        dependency: f[5] ?? '',
      });
    } else if (f[0] === 'A' && f.length >= 3) {
      if (!slurm.has(f[1]!)) slurm.set(f[1]!, { state: f[2]!, reason: '', nodes: '', dependency: '' });
    } else if (f[0] === 'E') {
      slurmError = f.slice(1).join(' ').trim() || 'squeue failed';
    }
  }
  return { jobs, slurm, slurmError };
}

/** What a Slurm job state means (upstream's mapping); `resumable` ends a job that its successor continues. */
export type SlurmMeaning = JobState | 'resumable';

export function meaningOf(slurmState: string): SlurmMeaning {
  const s = slurmState.toUpperCase();
  if (s === 'COMPLETED') return 'success';
  if (['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'REVOKED'].includes(s))
    return 'pending';
  if (['RUNNING', 'CONFIGURING', 'SUSPENDED', 'COMPLETING'].includes(s)) return 'running';
  if (['PREEMPTED', 'TIMEOUT', 'NODE_FAIL'].includes(s)) return 'resumable';
  if (s === 'CANCELLED') return 'killed';
  return 'failed';
}

/** Parse `<UTC ts> <code>` (the last word is the code). */
export function parseStageExit(text: string | null): number | null {
  if (text === null) return null;
  const m = /(?:^|\s)(-?\d+)\s*$/.exec(text.trim());
  return m ? Number(m[1]) : null;
}

export function progressOf(files: JobFiles): JobProgress {
  const { progress, total } = files;
  const percent =
    progress !== null && total !== null && total > 0
      ? Math.round((Math.min(progress, total) / total) * 1000) / 10
      : null;
  return { progress, total, percent };
}

/** `error: MSG (hint: HINT)` split in two. */
function splitError(line: string): { cause: string; hint?: string } {
  const text = line.replace(/^error: /, '').replace(/^\[E [^\]]*\] /, '');
  const m = /^(.*?)\s*\(hint: (.*)\)\s*$/.exec(text);
  return m ? { cause: m[1]!, hint: m[2]! } : { cause: text };
}

/** The decision about one job. */
export interface JobVerdict {
  state: JobState | 'unknown';
  /** The Slurm job the state was read from, and its Slurm state (when Slurm still knows it). */
  slurmJobId: string | null;
  slurmState: string | null;
  nodes: string | null;
  exitCode: number | null;
  progress: JobProgress;
  cause?: JobCause;
}

const logsOf = (taskDir: string, id: string) => ({
  job: `${taskDir}/logs/slurm-${id}.log`,
  client: `${taskDir}/logs/client-${id}.log`,
});

/** The cause of a failure: the engine's error, else the job script's, else the state and exit code. */
function failureCause(
  taskDir: string,
  files: JobFiles,
  ids: string[],
  fallback: string,
  exitCode: number | null,
): JobCause {
  for (const id of ids) {
    const e = files.clientErrors.get(id);
    if (e) {
      const s = splitError(e);
      return {
        cause: s.cause,
        hint: s.hint ?? `see ${logsOf(taskDir, id).client}`,
        log: logsOf(taskDir, id).client,
      };
    }
  }
  for (const id of ids) {
    const e = files.jobErrors.get(id);
    if (e) {
      const s = splitError(e);
      return {
        cause: s.cause,
        hint: s.hint ?? `see ${logsOf(taskDir, id).job}`,
        log: logsOf(taskDir, id).job,
      };
    }
  }
  const id = ids[0] ?? '';
  const code = exitCode === null ? '' : ` (exit code ${exitCode})`;
  return {
    cause: `${fallback}${code}`,
    hint: id ? `see ${logsOf(taskDir, id).job} and ${logsOf(taskDir, id).client}` : `see ${taskDir}/logs`,
    log: id ? logsOf(taskDir, id).job : undefined,
  };
}

/**
 * The state of a job from its files and Slurm's answer: the current job (the last one that started,
 * else the last submitted) decides; a job that ended by TIMEOUT, PREEMPTED or NODE_FAIL is pending
 * while its successor waits or runs, and failed when there is none. Ids Slurm no longer knows are
 * decided from stage.exit.
 */
export function decide(target: ProbeTarget, files: JobFiles, probe: ProbeResult): JobVerdict {
  const progress = progressOf(files);
  const exitCode = parseStageExit(files.exitText);
  const recorded = target.ids.filter((i) => ID.test(i));
  const cur = files.started[files.started.length - 1] ?? recorded[recorded.length - 1] ?? null;
  const next = files.next !== null && files.next !== cur ? files.next : null;
  const base = { exitCode, progress, slurmJobId: cur, slurmState: null, nodes: null };
  if (cur === null) {
    return {
      ...base,
      state: 'failed',
      cause: { cause: 'no Slurm job id was recorded for this job', hint: 'submit it again with nel resume' },
    };
  }
  if (probe.slurmError !== null) {
    return {
      ...base,
      state: 'unknown',
      cause: {
        cause: `Slurm did not answer: ${probe.slurmError}`,
        hint: 'check the cluster (sinfo, squeue) and ask again',
      },
    };
  }
  const curInfo = probe.slurm.get(cur);
  const nextInfo = next ? probe.slurm.get(next) : undefined;
  const withInfo = (id: string, info: SlurmJobInfo | undefined) => ({
    ...base,
    slurmJobId: id,
    slurmState: info?.state ?? null,
    nodes: info?.nodes || null,
  });
  // A successor that Slurm started but that has not reached its own start line yet.
  if (next && nextInfo && meaningOf(nextInfo.state) === 'running')
    return { ...withInfo(next, nextInfo), state: 'running' };

  const fromFiles = (): JobVerdict => {
    const v = withInfo(cur, undefined);
    if (exitCode === 0) return { ...v, state: 'success' };
    if (exitCode !== null)
      return {
        ...v,
        state: 'failed',
        cause: failureCause(target.taskDir, files, [cur], `Slurm job ${cur} ended`, exitCode),
      };
    if (!files.dirExists)
      return {
        ...v,
        state: 'failed',
        cause: {
          cause: `the job directory ${target.taskDir} is not on the cluster and Slurm no longer knows job ${cur}`,
          hint: 'the directory was moved or deleted; run the task again with nel run',
        },
      };
    return {
      ...v,
      state: 'failed',
      cause: {
        cause: `Slurm no longer knows job ${cur} and it left no exit code (its node or the job script died)`,
        hint: `see ${logsOf(target.taskDir, cur).job}; run it again with nel resume`,
        log: logsOf(target.taskDir, cur).job,
      },
    };
  };

  if (!curInfo) {
    if (next && nextInfo && meaningOf(nextInfo.state) === 'pending')
      return { ...withInfo(next, nextInfo), state: 'pending' };
    return fromFiles();
  }
  const meaning = meaningOf(curInfo.state);
  const v = withInfo(cur, curInfo);
  switch (meaning) {
    case 'success':
    case 'pending':
    case 'running':
    case 'killed':
      return { ...v, state: meaning };
    case 'failed':
      return {
        ...v,
        state: 'failed',
        cause: failureCause(
          target.taskDir,
          files,
          [cur],
          `Slurm job ${cur} ended with ${curInfo.state}`,
          exitCode,
        ),
      };
    case 'resumable': {
      if (next && nextInfo) {
        const m = meaningOf(nextInfo.state);
        // A successor already started and submitted its own successor, but has not written its id
        // into .slurm_job_id.list yet: the job the waiting one depends on is the running one.
        const waitsOn = /afternotok:(\d+)/.exec(nextInfo.dependency)?.[1];
        if (m === 'pending' && waitsOn && waitsOn !== cur)
          return { ...withInfo(waitsOn, undefined), slurmState: 'RUNNING', state: 'running' };
        const nv = withInfo(next, nextInfo);
        if (m === 'pending' || m === 'running') return { ...nv, state: m };
        if (m === 'killed') return { ...nv, state: 'killed' };
        if (m === 'failed')
          return {
            ...nv,
            state: 'failed',
            cause: failureCause(
              target.taskDir,
              files,
              [next, cur],
              `the successor job ${next} of job ${cur} (${curInfo.state}) ended with ${nextInfo.state}`,
              exitCode,
            ),
          };
        // the successor completed without running the task (nothing to resume): the files decide
        return fromFiles();
      }
      return {
        ...v,
        state: 'failed',
        cause: {
          cause: `Slurm job ${cur} ended with ${curInfo.state} and no successor job continues it`,
          hint: `resume it with nel resume (the engine's cache keeps what was answered); see ${logsOf(target.taskDir, cur).job}`,
          log: logsOf(target.taskDir, cur).job,
        },
      };
    }
  }
}
