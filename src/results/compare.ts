/**
 * `nel compare`: paired comparison of runs of the same tasks, sample by sample, from each job's
 * artifacts/samples.jsonl (per-sample scores), results.yml (reported scores) and run_config.yml (params).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NelError, errorMessage } from '../common/errors.js';
import { isPlainObject } from '../common/objects.js';
import { parseYaml } from '../common/yaml.js';
import { openExecDb, taskNameOf, type ExecDb } from '../launcher/exec-db.js';
import { resolveId } from '../launcher/id-resolve.js';
import { comparePaired, type PairedComparison } from './stats.js';

/** One sample's line of samples.jsonl, as far as comparing needs it. */
export interface ComparedSample {
  scores: Record<string, number>;
  /** sha256 of the sample's prompt/request (JSON), or null when the line has none. */
  promptHash: string | null;
  /** Sub-groups of the sample (`category` / `groups` on the line or in its details), e.g. {subject: 'x'}. */
  groups: Record<string, string>;
  /**
   * IFEval-style details: per instruction type, the share of the sample's instructions of that type
   * followed (strict / loose), over all its responses.
   */
  instructions?: Record<string, { strict: number; loose: number }>;
}

/** The parameters whose difference makes two runs not comparable. */
export const COMPARED_PARAMS = ['limit_samples', 'temperature', 'max_new_tokens', 'n_samples'] as const;
export type ComparedParam = (typeof COMPARED_PARAMS)[number];

export interface LoadedJob {
  jobId: string;
  invocationId: string;
  task: string;
  artifactsDir: string;
  samples: Map<string, ComparedSample>;
  /** Parameters from run_config.yml (a value undefined: not set); null when there is no run_config.yml. */
  params: Partial<Record<ComparedParam, unknown>> | null;
  /** `metric/score` -> value from results.yml (tasks.<task>), for the full run. */
  reported: Record<string, number>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function stringGroups(line: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const details = isPlainObject(line.details) ? line.details : {};
  for (const src of [details, line]) {
    if (typeof src.category === 'string') out.category = src.category;
    if (isPlainObject(src.groups))
      for (const [k, v] of Object.entries(src.groups)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Per instruction type, the share followed, from details {instruction_id_list, strict, loose}. */
function instructionShares(line: Record<string, unknown>): ComparedSample['instructions'] {
  const d = isPlainObject(line.details) ? line.details : undefined;
  const ids = d?.instruction_id_list;
  if (!d || !Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) return undefined;
  // one list of flags per instruction, or (several responses) one such list per response
  const perResponse = (v: unknown): boolean[][] | undefined => {
    if (!Array.isArray(v)) return undefined;
    const lists = v.length > 0 && v.every(Array.isArray) ? (v as unknown[][]) : [v];
    return lists.every((l) => l.length === ids.length && l.every((x) => typeof x === 'boolean'))
      ? (lists as boolean[][])
      : undefined;
  };
  const strict = perResponse(d.strict);
  const loose = perResponse(d.loose);
  if (!strict || !loose) return undefined;
  const out: Record<string, { strict: number; loose: number }> = {};
  for (const type of new Set(ids as string[])) {
    const at = (ids as string[]).flatMap((t, i) => (t === type ? [i] : []));
    const share = (lists: boolean[][]) =>
      lists.reduce((s, l) => s + at.filter((i) => l[i]).length, 0) / (at.length * lists.length);
    out[type] = { strict: share(strict), loose: share(loose) };
  }
  return out;
}

/** Parse samples.jsonl text; a later line for the same sample id replaces an earlier one. */
export function parseSamplesJsonl(text: string, source: string): Map<string, ComparedSample> {
  const out = new Map<string, ComparedSample>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      // a torn last line of an interrupted run is skipped; a bad line elsewhere is an error
      if (i >= lines.length - 2) continue;
      throw new NelError('USAGE', `${source}:${i + 1} is not a JSON line`, {
        hint: 'samples.jsonl must hold one JSON object per line, as the engine writes it',
      });
    }
    if (!isPlainObject(line) || (typeof line.sample_id !== 'string' && typeof line.sample_id !== 'number'))
      throw new NelError('USAGE', `${source}:${i + 1} has no sample_id`, {
        hint: 'samples.jsonl lines need sample_id and scores, as the engine writes them',
      });
    const scores: Record<string, number> = {};
    if (isPlainObject(line.scores))
      for (const [k, v] of Object.entries(line.scores)) if (typeof v === 'number') scores[k] = v;
    const prompt = line.prompt ?? line.request;
    out.set(String(line.sample_id), {
      scores,
      promptHash: prompt === undefined || prompt === null ? null : sha256(JSON.stringify(prompt)),
      groups: stringGroups(line),
      instructions: instructionShares(line),
    });
  }
  return out;
}

function readYaml(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const doc = parseYaml(readFileSync(path, 'utf8'), path);
  return isPlainObject(doc) ? doc : undefined;
}

/** `metric/score` -> value of the task's metrics in a results.yml document. */
export function reportedScores(doc: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const results = doc && isPlainObject(doc.results) ? doc.results : {};
  const tasks = isPlainObject(results.tasks) ? results.tasks : {};
  for (const task of Object.values(tasks)) {
    if (!isPlainObject(task) || !isPlainObject(task.metrics)) continue;
    for (const [metric, m] of Object.entries(task.metrics)) {
      if (!isPlainObject(m) || !isPlainObject(m.scores)) continue;
      for (const [score, s] of Object.entries(m.scores))
        if (isPlainObject(s) && typeof s.value === 'number') out[`${metric}/${score}`] = s.value;
    }
  }
  return out;
}

function paramsOf(runConfig: Record<string, unknown> | undefined): LoadedJob['params'] {
  if (!runConfig) return null;
  const config = isPlainObject(runConfig.config) ? runConfig.config : {};
  const p = isPlainObject(config.params) ? config.params : {};
  const extra = isPlainObject(p.extra) ? p.extra : {};
  return {
    limit_samples: p.limit_samples ?? undefined,
    temperature: p.temperature ?? undefined,
    max_new_tokens: p.max_new_tokens ?? undefined,
    n_samples: extra.n_samples ?? 1,
  };
}

/** Load one job's artifacts from its artifacts dir. */
export function loadArtifacts(
  artifactsDir: string,
  ids: { jobId: string; invocationId: string; task: string },
): LoadedJob {
  const samplesPath = join(artifactsDir, 'samples.jsonl');
  if (!existsSync(samplesPath))
    throw new NelError('USAGE', `job ${ids.jobId} has no ${samplesPath}`, {
      hint: 'compare needs finished (or partly finished) local runs; see nel status and nel info',
    });
  let text: string;
  try {
    text = readFileSync(samplesPath, 'utf8');
  } catch (e) {
    throw new NelError('USAGE', `cannot read ${samplesPath}: ${errorMessage(e)}`);
  }
  return {
    ...ids,
    artifactsDir,
    samples: parseSamplesJsonl(text, samplesPath),
    params: paramsOf(readYaml(join(artifactsDir, 'run_config.yml'))),
    reported: reportedScores(readYaml(join(artifactsDir, 'results.yml'))),
  };
}

/** The jobs of an invocation or job id (unique prefixes work), loaded. */
export function loadRun(db: ExecDb, id: string): LoadedJob[] {
  const resolved = resolveId(db, id);
  const jobs: LoadedJob[] = [];
  for (const jobId of resolved.jobIds) {
    const rec = db.getJob(jobId);
    if (!rec) continue;
    const dir = rec.data.output_dir;
    if (typeof dir !== 'string')
      throw new NelError('USAGE', `job ${jobId} has no local output dir in the execution database`, {
        hint: 'compare reads local artifacts; copy remote results first (nel info --copy-artifacts)',
      });
    const task = taskNameOf(rec) ?? jobId;
    jobs.push(loadArtifacts(join(dir, 'artifacts'), { jobId, invocationId: rec.invocation_id, task }));
  }
  return jobs;
}

// ---- comparing -------------------------------------------------------------------------------

export interface CompareOptions {
  /** Bootstrap resamples (default 10,000). */
  resamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Significance level for flagging (default 0.05). */
  alpha?: number;
}

export interface MetricComparison extends PairedComparison {
  /** Per-sample score key in samples.jsonl (e.g. exact_match, pass@1). */
  metric: string;
  /** Sub-group (`dimension:value`, or the category), or null for the whole task. */
  group: string | null;
  /** The full-run values results.yml reports for this metric, when one matches by name. */
  reportedA?: number;
  reportedB?: number;
  significant: boolean;
}

export interface TaskComparison {
  task: string;
  jobA: string;
  jobB: string;
  samples: { a: number; b: number; both: number; onlyA: number; onlyB: number };
  /** Overlapping samples whose prompt differs; null when the prompts could not be checked. */
  promptMismatches: number | null;
  params: { name: ComparedParam; a: unknown; b: unknown }[];
  metrics: MetricComparison[];
  warnings: string[];
}

export interface PairComparison {
  a: string;
  b: string;
  tasks: TaskComparison[];
  /** Tasks present in only one of the two runs. */
  onlyA: string[];
  onlyB: string[];
  warnings: string[];
}

/** The reported value for a per-sample key: `<key>/<key>`, else the one metric named `<key>`. */
function reportedFor(reported: Record<string, number>, key: string): number | undefined {
  if (reported[`${key}/${key}`] !== undefined) return reported[`${key}/${key}`];
  const named = Object.keys(reported).filter((k) => k.startsWith(`${key}/`));
  return named.length === 1 ? reported[named[0]!] : undefined;
}

const fmtParam = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));

/** Compare two loaded jobs of the same task over the samples both scored. */
export function compareJobs(a: LoadedJob, b: LoadedJob, opts: CompareOptions = {}): TaskComparison {
  const alpha = opts.alpha ?? 0.05;
  const both = [...a.samples.keys()].filter((id) => b.samples.has(id)).sort();
  const warnings: string[] = [];
  const samples = {
    a: a.samples.size,
    b: b.samples.size,
    both: both.length,
    onlyA: a.samples.size - both.length,
    onlyB: b.samples.size - both.length,
  };
  if (samples.onlyA > 0 || samples.onlyB > 0)
    warnings.push(
      `different sample sets: ${samples.a} vs ${samples.b} samples, ${samples.both} in both ` +
        `(${samples.onlyA} only in A, ${samples.onlyB} only in B); compared over the ${samples.both} in both`,
    );
  let promptMismatches: number | null = 0;
  for (const id of both) {
    const ha = a.samples.get(id)!.promptHash;
    const hb = b.samples.get(id)!.promptHash;
    if (ha === null || hb === null) {
      promptMismatches = null;
      break;
    }
    if (ha !== hb) promptMismatches++;
  }
  if (promptMismatches === null) warnings.push('prompts could not be checked: samples.jsonl has no prompt');
  else if (promptMismatches > 0)
    warnings.push(`different prompts: ${promptMismatches} of the ${both.length} shared samples`);
  const pa = a.params;
  const pb = b.params;
  const params =
    pa && pb
      ? COMPARED_PARAMS.map((name) => ({ name, a: pa[name], b: pb[name] })).filter(
          (p) => JSON.stringify(p.a) !== JSON.stringify(p.b),
        )
      : [];
  if (!pa || !pb)
    warnings.push(`parameters could not be checked: no run_config.yml for ${!pa ? a.jobId : b.jobId}`);
  for (const p of params) warnings.push(`different ${p.name}: ${fmtParam(p.a)} vs ${fmtParam(p.b)}`);

  // metrics scored on every shared sample by both runs, in first-seen order
  const keys: string[] = [];
  for (const id of both)
    for (const k of Object.keys(a.samples.get(id)!.scores)) if (!keys.includes(k)) keys.push(k);
  const common = keys.filter((k) =>
    both.every((id) => k in a.samples.get(id)!.scores && k in b.samples.get(id)!.scores),
  );
  const metrics: MetricComparison[] = [];
  const add = (ids: string[], key: string, group: string | null) => {
    const va = ids.map((id) => a.samples.get(id)!.scores[key]!);
    const vb = ids.map((id) => b.samples.get(id)!.scores[key]!);
    const r = comparePaired(va, vb, { resamples: opts.resamples, seed: opts.seed });
    const m: MetricComparison = { metric: key, group, ...r, significant: r.p < alpha };
    if (group === null) {
      const ra = reportedFor(a.reported, key);
      const rb = reportedFor(b.reported, key);
      if (ra !== undefined) m.reportedA = ra;
      if (rb !== undefined) m.reportedB = rb;
    }
    metrics.push(m);
  };
  for (const key of common) if (both.length > 0) add(both, key, null);
  // per sub-group, where both runs put the sample in the same group
  const groups = new Map<string, string[]>();
  for (const id of both) {
    const ga = a.samples.get(id)!.groups;
    const gb = b.samples.get(id)!.groups;
    for (const [dim, v] of Object.entries(ga)) {
      if (gb[dim] !== v) continue;
      const name = dim === 'category' ? v : `${dim}:${v}`;
      groups.set(name, [...(groups.get(name) ?? []), id]);
    }
  }
  for (const name of [...groups.keys()].sort()) for (const key of common) add(groups.get(name)!, key, name);
  // per instruction type (IFEval): the share of that type's instructions followed, over the prompts with it
  const types = new Map<string, string[]>();
  for (const id of both) {
    const ia = a.samples.get(id)!.instructions;
    const ib = b.samples.get(id)!.instructions;
    if (!ia || !ib) continue;
    for (const t of Object.keys(ia)) if (t in ib) types.set(t, [...(types.get(t) ?? []), id]);
  }
  for (const t of [...types.keys()].sort()) {
    const ids = types.get(t)!;
    for (const kind of ['strict', 'loose'] as const) {
      const va = ids.map((id) => a.samples.get(id)!.instructions![t]![kind]);
      const vb = ids.map((id) => b.samples.get(id)!.instructions![t]![kind]);
      const r = comparePaired(va, vb, { resamples: opts.resamples, seed: opts.seed });
      metrics.push({ metric: `inst_${kind}`, group: `instruction:${t}`, ...r, significant: r.p < alpha });
    }
  }
  return {
    task: a.task,
    jobA: a.jobId,
    jobB: b.jobId,
    samples,
    promptMismatches,
    params,
    metrics,
    warnings,
  };
}

/** Compare two runs (lists of jobs): tasks present in both, matched by task name. */
export function compareRunJobs(
  ids: { a: string; b: string },
  jobsA: LoadedJob[],
  jobsB: LoadedJob[],
  opts: CompareOptions = {},
): PairComparison {
  const warnings: string[] = [];
  const byTask = (jobs: LoadedJob[], id: string) => {
    const m = new Map<string, LoadedJob>();
    for (const j of jobs) {
      if (m.has(j.task))
        warnings.push(`${id}: task ${j.task} appears more than once; using ${m.get(j.task)!.jobId}`);
      else m.set(j.task, j);
    }
    return m;
  };
  const ta = byTask(jobsA, ids.a);
  const tb = byTask(jobsB, ids.b);
  const tasks = [...ta.keys()].filter((t) => tb.has(t)).map((t) => compareJobs(ta.get(t)!, tb.get(t)!, opts));
  const onlyA = [...ta.keys()].filter((t) => !tb.has(t));
  const onlyB = [...tb.keys()].filter((t) => !ta.has(t));
  if (tasks.length === 0)
    throw new NelError('USAGE', `${ids.a} and ${ids.b} have no task in common`, {
      hint: 'compare runs of the same task(s); see nel status for the tasks of each',
    });
  if (onlyA.length > 0) warnings.push(`only in ${ids.a}: ${onlyA.join(', ')} (not compared)`);
  if (onlyB.length > 0) warnings.push(`only in ${ids.b}: ${onlyB.join(', ')} (not compared)`);
  return { a: ids.a, b: ids.b, tasks, onlyA, onlyB, warnings };
}

export interface CompareRunsOptions extends CompareOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
}

/** `nel compare A B [C ...]`: each run after the first compared with the first. */
export function compareRuns(ids: string[], opts: CompareRunsOptions = {}): PairComparison[] {
  if (ids.length < 2)
    throw new NelError('USAGE', 'compare needs at least two runs', {
      hint: 'nel compare <A> <B> [C ...] with invocation or job ids (unique prefixes work)',
      exitCode: 2,
    });
  const db = openExecDb(opts);
  const runs = ids.map((id) => loadRun(db, id));
  return ids.slice(1).map((id, i) => compareRunJobs({ a: ids[0]!, b: id }, runs[0]!, runs[i + 1]!, opts));
}

// ---- text output -----------------------------------------------------------------------------

const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(4));
const signed = (v: number) => (v > 0 ? '+' : v < 0 ? '' : ' ') + v.toFixed(4);
export const formatP = (p: number) => (Number.isNaN(p) ? '-' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

/** The text report: per task, one line per metric (and group), then the warnings. */
export function formatComparison(c: PairComparison): string {
  const out: string[] = [`A: ${c.a}   B: ${c.b}`];
  for (const t of c.tasks) {
    out.push('', `${t.task}  (${t.jobA} vs ${t.jobB}, ${t.samples.both} paired samples)`);
    const rows = t.metrics.map((m) => [
      m.group === null ? m.metric : `  ${m.group} ${m.metric}`,
      String(m.n),
      pct(m.meanA),
      pct(m.meanB),
      signed(m.diff),
      `[${signed(m.ci[0])}, ${signed(m.ci[1])}]`,
      formatP(m.p) + (m.significant ? ' *' : ''),
      m.discordant ? `mcnemar b=${m.discordant.b} c=${m.discordant.c}` : 'bootstrap',
    ]);
    const headers = ['metric', 'n', 'A', 'B', 'B-A', '95% CI', 'p', 'test'];
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((x, i) => (i === 0 || i === cells.length - 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
        .join('  ')
        .trimEnd();
    out.push(line(headers), ...rows.map(line));
    const reported = t.metrics.filter(
      (m) => m.group === null && m.n < Math.max(t.samples.a, t.samples.b) && m.reportedA !== undefined,
    );
    for (const m of reported)
      out.push(
        `  ${m.metric} over each full run (results.yml): A ${pct(m.reportedA)}, B ${pct(m.reportedB)}`,
      );
    for (const w of t.warnings) out.push(`  warning: ${w}`);
  }
  for (const w of c.warnings) out.push(`warning: ${w}`);
  out.push(
    '',
    '* p < 0.05. p: McNemar exact test for 0/1 scores, paired bootstrap otherwise; CI: paired bootstrap percentile.',
  );
  return out.join('\n');
}
