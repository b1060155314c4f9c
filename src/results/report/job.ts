/**
 * A job's report: artifacts/report.html, built from the job's artifacts (model.ts) and rendered by the
 * one report page (html.ts). The engine writes it at the end of a run; `nel report` rebuilds it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { renderReportPage } from './html.js';
import { buildJobReportData, type JobReportData, type JobReportOptions } from './model.js';

/** The file name of a job's report, in its artifacts dir (as upstream's report.html). */
export const JOB_REPORT_FILE = 'report.html';

export const jobReportPathOf = (artifactsDir: string): string => join(artifactsDir, JOB_REPORT_FILE);

export function renderJobReport(data: JobReportData): string {
  // the lines as gathered (the engine's: as it wrote them), not serialised again
  return renderReportPage(data, { lines: data.lines.json() });
}

/** Build and write a job's report (default: <artifactsDir>/report.html); returns the data and the path. */
export function writeJobReport(
  artifactsDir: string,
  opts: JobReportOptions & { output?: string } = {},
): { path: string; data: JobReportData } {
  const data = buildJobReportData(artifactsDir, opts);
  const path = opts.output ?? jobReportPathOf(artifactsDir);
  writeFileAtomic(path, renderJobReport(data));
  return { path, data };
}

/** Whether a dir looks like a job's artifacts (anything a report can be built from). */
export function hasReportableArtifacts(artifactsDir: string): boolean {
  return ['results.yml', 'samples.jsonl', 'run_config.yml'].some((f) => existsSync(join(artifactsDir, f)));
}
