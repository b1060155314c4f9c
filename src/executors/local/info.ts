/** `nel info ID...`: where a job's artifacts and logs are, its stored config, and copies of both. */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { packageVersion } from '../../common/version.js';
import { dumpYaml } from '../../common/yaml.js';
import { openExecDb, taskNameOf, type JobRecord } from '../../launcher/exec-db.js';
import { resolveId } from '../../launcher/id-resolve.js';
import type { InfoOptions } from '../types.js';
import { readLocalJobStatus as readJobStatus } from './status.js';
import { mkdirp } from '../../common/fs.js';

export type { InfoOptions } from '../types.js';

const KEY_ARTIFACTS: [string, string][] = [
  ['results.yml', 'benchmark scores'],
  ['eval_factory_metrics.json', 'response, latency and token statistics'],
  ['metadata.yaml', 'launcher config and versions'],
  ['run_config.yml', 'the evaluation as the engine ran it'],
  ['report.html', 'request/response report'],
  ['report.json', 'request/response report (JSON)'],
];
const KEY_LOGS: [string, string][] = [
  ['stdout.log', 'the task script: stages, export'],
  ['client_stdout.log', 'the evaluation engine (what nel logs follows)'],
  ['server_stdout.log', 'the model server (deployments only)'],
];

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => {
      try {
        return statSync(join(dir, f)).isFile();
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/** Copy the top-level files of `src` into `dest` (created). Returns the number of files copied. */
function copyTopLevel(src: string, dest: string): number {
  const files = listFiles(src);
  mkdirp(dest);
  for (const f of files) cpSync(join(src, f), join(dest, f));
  return files.length;
}

function jobsFor(ids: string[], opts: InfoOptions): { recs: JobRecord[]; dbPath: string } {
  if (ids.length === 0)
    throw new NelError('USAGE', 'at least one id is required', { hint: 'nel info <invocation or job id>' });
  const db = openExecDb({ dbPath: opts.dbPath, env: opts.env });
  const recs: JobRecord[] = [];
  for (const id of ids)
    for (const j of resolveId(db, id).jobIds) {
      const r = db.getJob(j);
      if (r) recs.push(r);
    }
  return { recs, dbPath: db.path };
}

/** The text `nel info` prints (copies are made as a side effect when asked). */
export function describeJobs(ids: string[], opts: InfoOptions = {}): string {
  const { recs, dbPath } = jobsFor(ids, opts);
  const out: string[] = [`nemo_evaluator_launcher: ${packageVersion()}`, ''];
  for (const rec of recs) {
    const taskDir = typeof rec.data.output_dir === 'string' ? rec.data.output_dir : '';
    const artifacts = join(taskDir, 'artifacts');
    const logs = join(taskDir, 'logs');
    const showAll = !opts.config && !opts.artifacts && !opts.logs;
    if (showAll || opts.artifacts || opts.logs) {
      out.push(`Job ${rec.job_id}`);
      if (showAll) {
        out.push(`├── Executor: ${rec.executor}`);
        out.push(`├── Created: ${new Date(rec.timestamp * 1000).toISOString()}`);
        out.push(`├── Task: ${taskNameOf(rec) ?? '-'}`);
        out.push(`├── Status: ${readJobStatus(rec).state}`);
        if (rec.data.container) out.push(`├── Container: ${String(rec.data.container)}`);
      }
      if (showAll || opts.artifacts) {
        out.push(`├── Artifacts: ${artifacts} (${existsSync(artifacts) ? 'exists' : 'not found'}) (local)`);
        for (const [f, d] of KEY_ARTIFACTS) {
          const mark = existsSync(join(artifacts, f)) ? '' : ' (missing)';
          out.push(`│   ├── ${f} - ${d}${mark}`);
        }
      }
      if (showAll || opts.logs) {
        out.push(`└── Logs: ${logs} (${existsSync(logs) ? 'exists' : 'not found'}) (local)`);
        for (const [f, d] of KEY_LOGS) {
          const mark = existsSync(join(logs, f)) ? '' : ' (missing)';
          out.push(`    ├── ${f} - ${d}${mark}`);
        }
      }
      out.push('');
    }
    if (opts.config) {
      out.push(`# Job ${rec.job_id} config`);
      out.push(dumpYaml(rec.config).trimEnd());
      out.push('');
    }
    if (opts.copyLogs) {
      const n = copyTopLevel(logs, join(opts.copyLogs, rec.job_id, 'logs'));
      out.push(`Copied ${n} log file(s) of ${rec.job_id} to ${join(opts.copyLogs, rec.job_id, 'logs')}`);
    }
    if (opts.copyArtifacts) {
      const dest = join(opts.copyArtifacts, rec.job_id, 'artifacts');
      if (existsSync(artifacts)) {
        mkdirp(dest);
        cpSync(artifacts, dest, { recursive: true });
        out.push(`Copied artifacts of ${rec.job_id} to ${dest}`);
      } else out.push(`No artifacts for ${rec.job_id} (${artifacts} not found)`);
    }
  }
  out.push(`Exec DB: ${dbPath}`);
  if (recs.length > 0) {
    const inv = recs[0]!.invocation_id;
    out.push(`Next: nel status ${inv} | nel logs ${inv} | nel export ${inv} --dest local`);
  }
  return out.join('\n') + '\n';
}
