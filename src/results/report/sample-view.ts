/**
 * How a job report shows its samples: samples.jsonl lines -> the rows the page lists, filters and opens
 * (prompt as text, verdict, groups, IFEval instruction types, flags, the sample's cached requests).
 *
 * One function, self-contained (it refers to nothing outside itself but JavaScript's built-ins), so that
 * the same code runs in two places: here, for the readers of a report's data (the invocation report's
 * counts, the tests), and in the page, which embeds its source (page.ts) and shapes the lines it carries.
 * The engine then only embeds the lines it has already written, instead of shaping every sample during
 * the run. Long texts are cut before the lines are embedded (model.ts, reportLine), not here.
 */

/** One sample, as the page shows and filters it. */
export interface ReportSample {
  /** right: the verdict metric is 1 (or more); wrong: 0; partial: in between; failed: the request failed. */
  verdict: 'right' | 'wrong' | 'partial' | 'failed' | 'unscored';
  id: string;
  index: number | null;
  /** The prompt as text (chat messages as `role: content` blocks, log-likelihood pairs numbered). */
  prompt: string;
  responses: string[];
  extracted: (string | null)[];
  target: string;
  scores: Record<string, number>;
  /** Sub-groups of the sample, `dimension:value` or the category alone. */
  groups: string[];
  /** IFEval: the instruction types of the prompt, and those not followed (strict). */
  instructions?: string[];
  instructionsFailed?: string[];
  flags: string[];
  error?: string;
  /** Benchmark-specific details (compact JSON, which the page shows indented), when the line has any. */
  details?: string;
  /** Indices into the report's requests of this sample's cached request/response pairs. */
  requests?: number[];
}

/** What the view needs of a score (ReportScore): the headline's metric picks the verdict metric. */
export interface ViewScore {
  metric: string;
  score: string;
  headline: boolean;
}

/** What the view needs of a cached request: the JSON of its messages or prompt (null when it has none). */
export interface ViewRequest {
  prompt: string | null;
}

/**
 * The rows of a job report's samples, from its samples.jsonl lines (a later line for the same id replaces
 * an earlier one, in its place; a line without a sample_id is skipped), and the per-sample metric that decides a
 * sample's verdict: the headline's metric when samples carry it, else the first score of the first line
 * that has any. A sample's requests: those whose messages or prompt have the sample's prompt's JSON, or
 * the indices the line carries as `requests` (reportLine sets them on a line whose prompt was cut).
 */
export function viewSamples(
  lines: readonly unknown[],
  scores: readonly ViewScore[],
  requests: readonly ViewRequest[],
): { verdictMetric: string | null; samples: ReportSample[] } {
  type Obj = Record<string, unknown>;
  const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  const show = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  };
  type Pair = { context: string; continuation: string };
  const isPair = (m: unknown): m is Pair =>
    isObj(m) && typeof m.context === 'string' && typeof m.continuation === 'string';
  const numbered = (xs: string[]): string => xs.map((x, i) => `(${i}) ${x}`).join('\n');
  // log-likelihood pairs: a shared context once with the numbered continuations (ARC, PIQA, HellaSwag,
  // TruthfulQA), numbered contexts with a shared continuation (WinoGrande), else each pair with `‖`
  const pairsText = (pairs: Pair[]): string => {
    const first = pairs[0]!;
    if (pairs.every((p) => p.context === first.context))
      return `${first.context}\n\n${numbered(pairs.map((p) => p.continuation))}`;
    if (pairs.every((p) => p.continuation === first.continuation))
      return `${numbered(pairs.map((p) => p.context))}\n\n… ${first.continuation}`;
    return numbered(pairs.map((p) => `${p.context}‖${p.continuation}`));
  };
  const promptText = (prompt: unknown): string => {
    if (typeof prompt === 'string') return prompt;
    if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isPair)) return pairsText(prompt);
    if (Array.isArray(prompt))
      return prompt
        .map((m) => {
          if (!isObj(m)) return show(m);
          const content = typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null);
          return `${typeof m.role === 'string' ? m.role : '?'}: ${content}`;
        })
        .join('\n\n');
    return prompt === undefined || prompt === null ? '' : JSON.stringify(prompt, null, 2);
  };
  // a prompt a request can carry: a string, or a list of strings, token ids or chat messages
  const requestShaped = (p: unknown): boolean =>
    typeof p === 'string' ||
    (Array.isArray(p) &&
      p.every((m) => typeof m === 'string' || typeof m === 'number' || (isObj(m) && 'role' in m)));
  const groupsOf = (line: Obj): string[] => {
    const out: string[] = [];
    const details = isObj(line.details) ? line.details : {};
    for (const src of [line, details]) {
      if (typeof src.category === 'string' && !out.includes(src.category)) out.push(src.category);
      if (isObj(src.groups))
        for (const [k, v] of Object.entries(src.groups)) {
          const name = `${k}:${show(v)}`;
          if (!out.includes(name)) out.push(name);
        }
    }
    return out;
  };

  const byPrompt = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (typeof r.prompt === 'string') byPrompt.set(r.prompt, [...(byPrompt.get(r.prompt) ?? []), i]);
  });
  const byId = new Map<string, ReportSample>();
  let scoreKeys: string[] | null = null;
  for (const l of lines) {
    if (!isObj(l) || (typeof l.sample_id !== 'string' && typeof l.sample_id !== 'number')) continue;
    const scoresOf: Record<string, number> = {};
    if (isObj(l.scores)) {
      if (scoreKeys === null && Object.keys(l.scores).length > 0) scoreKeys = Object.keys(l.scores);
      for (const [k, v] of Object.entries(l.scores)) if (typeof v === 'number') scoresOf[k] = v;
    }
    const prompt = l.prompt ?? l.request;
    const s: ReportSample = {
      verdict: 'unscored',
      id: String(l.sample_id),
      index: typeof l.index === 'number' ? l.index : null,
      prompt: promptText(prompt),
      responses: Array.isArray(l.responses) ? l.responses.map(show) : [],
      extracted: Array.isArray(l.extracted) ? l.extracted.map((e) => (e === null ? null : show(e))) : [],
      target: l.target === undefined ? '' : show(l.target),
      scores: scoresOf,
      groups: groupsOf(l),
      flags: Array.isArray(l.flags) ? l.flags.map(String) : [],
    };
    // IFEval details: the instruction types, and those some response did not follow (strict)
    const d = isObj(l.details) ? l.details : undefined;
    const ids = d?.instruction_id_list;
    if (d && Array.isArray(ids) && ids.every((x) => typeof x === 'string')) {
      const strict = Array.isArray(d.strict) ? (d.strict as unknown[]) : [];
      const lists = strict.length > 0 && strict.every(Array.isArray) ? (strict as unknown[][]) : [strict];
      const failed = new Set<string>();
      for (const list of lists) (ids as string[]).forEach((t, i) => list[i] === false && failed.add(t));
      s.instructions = [...new Set(ids as string[])];
      s.instructionsFailed = [...failed];
    }
    if (typeof l.error === 'string') s.error = l.error;
    if (typeof l.details === 'string') s.details = l.details;
    else if (d && Object.keys(d).length > 0) s.details = JSON.stringify(d);
    const given = l.requests;
    const hit =
      Array.isArray(given) && given.every((k) => typeof k === 'number')
        ? (given as number[])
        : byPrompt.size > 0 && requestShaped(prompt)
          ? byPrompt.get(JSON.stringify(prompt))
          : undefined;
    if (hit && hit.length > 0) s.requests = hit;
    byId.set(s.id, s);
  }

  let verdictMetric: string | null = null;
  if (scoreKeys !== null) {
    const keys: string[] = scoreKeys;
    const head = scores.find((s) => s.headline);
    const named = head ? [head.metric, head.score, `${head.metric}.${head.score}`] : [];
    verdictMetric = named.find((k) => keys.includes(k)) ?? keys[0]!;
  }
  const samples = [...byId.values()];
  for (const s of samples) {
    const v = verdictMetric !== null ? s.scores[verdictMetric] : undefined;
    s.verdict =
      s.error !== undefined
        ? 'failed'
        : v === undefined
          ? 'unscored'
          : v >= 1
            ? 'right'
            : v <= 0
              ? 'wrong'
              : 'partial';
  }
  return { verdictMetric, samples };
}
