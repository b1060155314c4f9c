/**
 * `nel compare --html FILE`: the comparison's tables and, side by side, every sample the runs scored
 * differently (per task, on the task's first compared metric), with both responses and extractions.
 */
import { isPlainObject, type Obj } from '../../common/objects.js';
import { openExecDb } from '../../launcher/exec-db.js';
import {
  compareRunJobs,
  type CompareRunsOptions,
  type LoadedJob,
  type PairComparison,
  loadRun,
} from '../compare.js';
import { NelError } from '../../common/errors.js';
import { renderReportPage } from './html.js';
import { promptText, readSampleLines, showValue } from './model.js';

export interface DisagreementSide {
  job: string;
  score: number;
  extracted: string;
  response: string;
}

export interface Disagreement {
  /** `A vs B` (the run ids as given). */
  pair: string;
  task: string;
  id: string;
  metric: string;
  prompt: string;
  target: string;
  a: DisagreementSide;
  b: DisagreementSide;
}

export interface CompareReportData {
  kind: 'compare';
  title: string;
  generatedAt: string;
  runs: string[];
  comparisons: PairComparison[];
  disagreements: Disagreement[];
  notes: string[];
}

function linesById(job: LoadedJob, notes: string[]): Map<string, Obj> {
  const m = new Map<string, Obj>();
  for (const l of readSampleLines(job.artifactsDir, notes)) m.set(String(l.sample_id), l);
  return m;
}

const side = (job: string, line: Obj, metric: string): DisagreementSide => ({
  job,
  score: isPlainObject(line.scores) && typeof line.scores[metric] === 'number' ? line.scores[metric] : NaN,
  extracted: Array.isArray(line.extracted)
    ? line.extracted.map((e) => (e === null ? '(none)' : showValue(e))).join(' | ')
    : '',
  response: Array.isArray(line.responses)
    ? line.responses
        .map((r, i, all) => (all.length > 1 ? `--- response ${i + 1} ---\n` : '') + showValue(r))
        .join('\n\n')
    : '',
});

/** The comparison report's data, from the compared pairs and the runs' loaded jobs. */
export function buildCompareReportData(
  runs: string[],
  comparisons: PairComparison[],
  jobs: LoadedJob[][],
  now: () => Date = () => new Date(),
): CompareReportData {
  const notes: string[] = [];
  const byId = new Map<string, LoadedJob>();
  for (const list of jobs) for (const j of list) byId.set(j.jobId, j);
  const cache = new Map<string, Map<string, Obj>>();
  const lines = (j: LoadedJob) => {
    if (!cache.has(j.jobId)) cache.set(j.jobId, linesById(j, notes));
    return cache.get(j.jobId)!;
  };
  const disagreements: Disagreement[] = [];
  for (const c of comparisons) {
    for (const t of c.tasks) {
      const metric = t.metrics.find((m) => m.group === null)?.metric;
      const ja = byId.get(t.jobA);
      const jb = byId.get(t.jobB);
      if (!metric || !ja || !jb) continue;
      const la = lines(ja);
      const lb = lines(jb);
      for (const [id, a] of la) {
        const b = lb.get(id);
        if (!b) continue;
        const sa = side(t.jobA, a, metric);
        const sb = side(t.jobB, b, metric);
        if (sa.score === sb.score || (Number.isNaN(sa.score) && Number.isNaN(sb.score))) continue;
        disagreements.push({
          pair: `${c.a} vs ${c.b}`,
          task: t.task,
          id,
          metric,
          prompt: promptText(a.prompt ?? a.request),
          target: a.target === undefined ? '' : showValue(a.target),
          a: sa,
          b: sb,
        });
      }
    }
  }
  return {
    kind: 'compare',
    title: `Comparison: ${runs[0]} vs ${runs.slice(1).join(', ')}`,
    generatedAt: now().toISOString(),
    runs,
    comparisons,
    disagreements,
    notes: [...new Set(notes)],
  };
}

export function renderCompareReport(data: CompareReportData): string {
  return renderReportPage(data);
}

/** `nel compare A B [C ...] --html`: the comparisons (as compareRuns gives them) and the report's HTML. */
export function compareRunsWithReport(
  ids: string[],
  opts: CompareRunsOptions & { now?: () => Date } = {},
): { comparisons: PairComparison[]; html: string; data: CompareReportData } {
  if (ids.length < 2)
    throw new NelError('USAGE', 'compare needs at least two runs', {
      hint: 'nel compare <A> <B> [C ...] with invocation or job ids (unique prefixes work)',
      exitCode: 2,
    });
  const db = openExecDb(opts);
  const runs = ids.map((id) => loadRun(db, id));
  const comparisons = ids
    .slice(1)
    .map((id, i) => compareRunJobs({ a: ids[0]!, b: id }, runs[0]!, runs[i + 1]!, opts));
  const data = buildCompareReportData(ids, comparisons, runs, opts.now);
  return { comparisons, html: renderCompareReport(data), data };
}
