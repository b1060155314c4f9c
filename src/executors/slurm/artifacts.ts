/**
 * `nel export` of jobs on a cluster reached over ssh: their `artifacts/` and `logs/` are copied to this
 * machine with rsync, over one master connection per cluster and one rsync per invocation directory
 * (whatever the number of tasks), into each job's local copy (status.ts localCopyDirOf: the staged task
 * directory beside its run.sub, else ~/.nemo-evaluator/slurm-artifacts/<invocation>/<task dir>). The
 * engine's request cache (`artifacts/cache`) stays on the cluster. rsync copies only what changed, so
 * exporting again is cheap. Jobs whose files are on this machine (`output_dir`) are read where they are.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobRecord } from '../../launcher/exec-db.js';
import type { FetchArtifactsOptions, FetchedArtifacts } from '../types.js';
import { describeAddress, type ClusterShell } from './host.js';
import { byCluster, withCluster } from './jobs.js';
import { errorLines } from './launch.js';
import { localCopyDirOf, taskDirOf } from './status.js';

/** Task directory names that are safe in rsync filter rules as they are (no wildcard or escape characters). */
const PLAIN_NAME = /^[A-Za-z0-9._@%+=,-]+$/;

/** rsync filter rules selecting artifacts/ (without the request cache) and logs/ of the named task directories. */
export function fetchFilters(taskNames: string[]): string[] {
  const rules: string[] = [];
  for (const t of taskNames)
    rules.push(`- /${t}/artifacts/cache/`, `+ /${t}/`, `+ /${t}/artifacts/***`, `+ /${t}/logs/***`);
  rules.push('- *');
  return rules;
}

interface Batch {
  remoteInv: string;
  localInv: string;
  recs: JobRecord[];
}

/** One rsync for the tasks of one invocation directory (the per-task fallback for unusual names). */
async function fetchBatch(
  shell: ClusterShell,
  b: Batch,
  out: FetchedArtifacts,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const names = b.recs.map((r) => basename(taskDirOf(r)!));
  const sameNames = b.recs.every((r, i) => basename(localCopyDirOf(r, env)!) === names[i]);
  mkdirSync(b.localInv, { recursive: true });
  const batches: { remote: string; local: string; filters: string[]; recs: JobRecord[] }[] =
    sameNames && names.every((n) => PLAIN_NAME.test(n))
      ? [{ remote: b.remoteInv, local: b.localInv, filters: fetchFilters(names), recs: b.recs }]
      : b.recs.map((r) => ({
          remote: taskDirOf(r)!,
          local: localCopyDirOf(r, env)!,
          filters: ['- /artifacts/cache/', '+ /artifacts/***', '+ /logs/***', '- *'],
          recs: [r],
        }));
  for (const x of batches) {
    mkdirSync(x.local, { recursive: true });
    const r = await shell.fetch(x.remote, x.local, x.filters);
    shell.checkConnected(r);
    // 24: files vanished while copying (a job still writing); what is there was copied
    const ok = r.code === 0 || r.code === 24;
    for (const rec of x.recs)
      out.set(
        rec.job_id,
        ok
          ? { dir: localCopyDirOf(rec, env)! }
          : {
              error: `copying the artifacts from ${describeAddress(shell.address)}:${taskDirOf(rec)} failed: ${errorLines(r.stderr, 'rsync')}`,
            },
      );
  }
}

/** The Slurm executor's fetchArtifacts (see the module comment). */
export async function fetchSlurmArtifacts(
  recs: JobRecord[],
  opts: FetchArtifactsOptions = {},
): Promise<FetchedArtifacts> {
  const env = opts.env ?? process.env;
  const out: FetchedArtifacts = new Map();
  const remote: JobRecord[] = [];
  for (const r of recs) {
    if (typeof r.data.output_dir === 'string') out.set(r.job_id, { dir: r.data.output_dir });
    else if (!taskDirOf(r) || localCopyDirOf(r, env) === null)
      out.set(r.job_id, { error: 'the exec DB record has no job directory on the cluster' });
    else remote.push(r);
  }
  for (const g of byCluster(remote)) {
    const batches = new Map<string, Batch>();
    for (const r of g.recs) {
      const remoteInv = dirname(taskDirOf(r)!);
      const localInv = dirname(localCopyDirOf(r, env)!);
      const k = `${remoteInv}\u0000${localInv}`;
      const b = batches.get(k) ?? { remoteInv, localInv, recs: [] };
      b.recs.push(r);
      batches.set(k, b);
    }
    try {
      await withCluster(g.address, env, async (shell) => {
        for (const b of batches.values()) await fetchBatch(shell, b, out, env);
      });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      for (const r of g.recs) if (!out.has(r.job_id)) out.set(r.job_id, { error: why });
    }
  }
  return out;
}
