/**
 * The preflight check of `nel run` / `nel resume`: before anything is written or launched, one cheap request
 * to each distinct endpoint (GET `<base>/models`, or the smallest request of the task's endpoint type where
 * that is not served or the URL's path needs confirming), bounded by a short timeout. A mistake the server
 * makes certain (nothing listening, unknown host, base URL or wrong path, key refused, unknown model, chat
 * endpoint for a completions task or the reverse) is a NelError; an inconclusive answer is a warning.
 * In Docker mode the endpoints are also probed from inside one container per distinct set of
 * `execution.extra_docker_args`, so "answers from the host, not from a container" is named as such.
 * The API key is read from the environment by its name and only ever sent in the Authorization header.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NelError, errorMessage } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { dockerArgWords } from './shell-words.js';
import { runDocker } from '../runtime/docker.js';
import { engineImageRef } from '../runtime/engine-image-ref.js';
import type { JobRecord } from './exec-db.js';
import type { EndpointProber, ProbeRequest } from '../executors/types.js';
import { planInvocation } from './plan.js';
import type { InvocationPlan, PlannedJob } from './types.js';
import { launcherConfig } from '../config/index.js';
import type { LauncherConfig } from '../config/schema.js';

/** What the endpoint list needs of a plan: its config, where its jobs run, and its jobs. */
type PlanFacts = Pick<InvocationPlan, 'resolvedConfig' | 'useDocker'> & { jobs: PlannedJob[] };

export const SKIP_PREFLIGHT_ENV = 'NEMO_EVALUATOR_SKIP_PREFLIGHT';
export const PREFLIGHT_TIMEOUT_ENV = 'NEMO_EVALUATOR_PREFLIGHT_TIMEOUT';
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_BODY = 1024 * 1024;
const TRUTHY = new Set(['1', 'true', 'yes']);
const SKIP_HINT = 'nel run --skip-preflight skips this check';

export interface PreflightOptions {
  env?: NodeJS.ProcessEnv;
  /** Skip the check (`--skip-preflight`); NEMO_EVALUATOR_SKIP_PREFLIGHT=1 does the same. */
  skip?: boolean;
  /** Per-request bound (default 5 s, or NEMO_EVALUATOR_PREFLIGHT_TIMEOUT seconds). */
  timeoutMs?: number;
  /** The image the in-container probe runs (default: the engine image of this version). */
  probeImage?: string;
  /** The command that suggests skipping, for hints (default `nel run --skip-preflight`). */
  command?: string;
  /**
   * Send the requests from elsewhere (Executor.endpointProber: e.g. the login node of a cluster, for
   * jobs submitted there), all in one go, instead of from this machine; messages name where.
   */
  prober?: EndpointProber;
}

export interface PreflightReport {
  /** Why nothing was probed (skipped by flag/env, deployment started by nel, no endpoints). */
  skipped?: string;
  /** Inconclusive answers and notes (never a reason to refuse). */
  warnings: string[];
  /** Endpoints that were probed (URLs). */
  checked: string[];
}

/** One distinct endpoint, as the engine of a job will use it. */
export interface PreflightEndpoint {
  url: string;
  /** The task's endpoint type: chat, completions, completions_logprob, embedding, vlm, ... */
  type: string;
  modelId?: string;
  /** NAME of the variable with the API key (never its value in any message). */
  keyName: string | null;
  /** The key's value (sent as `Authorization: Bearer`, nothing else). */
  keyValue?: string;
  /** Task names that use it, for messages. */
  tasks: string[];
  /** extra_docker_args words of the job's container; undefined on the host. */
  dockerArgs?: string[];
}

type Kind = 'chat' | 'completions' | 'embedding' | 'other';

const kindOf = (type: string): Kind =>
  type === 'chat' || type === 'vlm'
    ? 'chat'
    : type === 'completions' || type === 'completions_logprob'
      ? 'completions'
      : type === 'embedding'
        ? 'embedding'
        : 'other';

const SUFFIX: Record<Exclude<Kind, 'other'>, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embedding: '/embeddings',
};

/** The kind of path the URL names, from its last segments. */
export function pathKind(pathname: string): Kind | 'base' | 'unknown' {
  const p = pathname.replace(/\/+$/, '');
  if (p.endsWith('/chat/completions')) return 'chat';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/embeddings')) return 'embedding';
  if (p === '' || /\/v\d+$/.test(p)) return 'base';
  return 'unknown';
}

/** The API base of a URL: the path without its completion suffix (`.../v1`). */
function apiBase(u: URL): string {
  const p = u.pathname.replace(/\/+$/, '');
  const m = /^(.*?)(\/chat\/completions|\/completions|\/embeddings)$/.exec(p);
  const base = m ? m[1]! : p;
  return `${u.origin}${base}`;
}

export const modelsUrlOf = (u: URL): string => `${apiBase(u)}/models`;

/** What the URL should probably be for this endpoint type. */
export function suggestedUrl(u: URL, kind: Kind): string {
  const k = kind === 'other' ? 'chat' : kind;
  const base = apiBase(u);
  // Keep the path up to its version segment (`/v1/no-such-path` -> `/v1`), else add `/v1`.
  const m = /^(.*?\/v\d+)(\/|$)/.exec(new URL(base).pathname);
  return `${u.origin}${m ? m[1]! : new URL(base).pathname.replace(/\/+$/, '') + '/v1'}${SUFFIX[k]}`;
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[::1\]|::1|0\.0\.0\.0)$/i;

// --- HTTP ---------------------------------------------------------------------------------------

type Outcome =
  | { ok: true; status: number; body: string; json: unknown }
  | { ok: false; code: string; connected: boolean; message: string };

type Send = (
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
) => Promise<Outcome>;

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
]);

function send(
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      return finish({ ok: false, code: 'EINVAL', connected: false, message: errorMessage(e) });
    }
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method,
      agent: false,
      headers: {
        accept: 'application/json',
        connection: 'close',
        ...(body !== undefined
          ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
          : {}),
        ...headers,
      },
    });
    timer = setTimeout(() => {
      const code = connected ? 'TIMEOUT' : 'CONNECT_TIMEOUT';
      finish({ ok: false, code, connected, message: `no answer within ${timeoutMs / 1000} s` });
      req.destroy();
    }, timeoutMs);
    req.on('socket', (s) => {
      if (!s.connecting) connected = true;
      s.once('connect', () => (connected = true));
      s.once('secureConnect', () => (connected = true));
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, code: e.code ?? 'ERROR', connected, message: errorMessage(e) }),
    );
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      res.on('error', (e: NodeJS.ErrnoException) =>
        finish({ ok: false, code: e.code ?? 'ERROR', connected: true, message: errorMessage(e) }),
      );
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish({ ok: true, status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.end(body);
  });
}

/** The server's own error text from a JSON error body (`{error: {message}}`, `{detail}`, ...), one line. */
function serverMessage(o: Outcome): string {
  if (!o.ok) return o.message;
  const j = o.json;
  let msg: unknown;
  if (isPlainObject(j)) {
    const e = j.error;
    msg = isPlainObject(e) ? e.message : (e ?? j.detail ?? j.message);
    if (Array.isArray(msg)) msg = JSON.stringify(msg);
  }
  const s = typeof msg === 'string' ? msg : o.body;
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

const withMessage = (o: Outcome): string => {
  const m = serverMessage(o);
  return m ? `: ${m}` : '';
};

// --- the checks ---------------------------------------------------------------------------------

function smallestBody(kind: Kind, modelId: string | undefined): string {
  const model = modelId !== undefined ? { model: modelId } : {};
  if (kind === 'completions') return JSON.stringify({ ...model, prompt: 'Hi', max_tokens: 1 });
  if (kind === 'embedding') return JSON.stringify({ ...model, input: 'Hi' });
  return JSON.stringify({ ...model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
}

function looksAnswered(kind: Kind, json: unknown): boolean {
  if (!isPlainObject(json)) return false;
  if (kind === 'embedding') return Array.isArray(json.data);
  const c = Array.isArray(json.choices) ? json.choices[0] : undefined;
  if (!isPlainObject(c)) return false;
  if (kind === 'chat') return isPlainObject(c.message);
  if (kind === 'completions') return typeof c.text === 'string';
  return true;
}

interface Ctx {
  timeoutMs: number;
  skipHint: string;
  warnings: string[];
  /** How requests are sent (default: from this machine). */
  send: Send;
  /** Where they are sent from, when not this machine (named in refusals). */
  where?: string;
}

const taskPart = (ep: PreflightEndpoint): string =>
  ep.tasks.length === 1 ? `task ${ep.tasks[0]}` : `tasks ${ep.tasks.join(', ')}`;

function refuse(message: string, hint: string, ctx: Ctx): NelError {
  const from = ctx.where ? ` (probed from ${ctx.where})` : '';
  return new NelError('ENGINE_ENDPOINT', `preflight: ${message}${from}`, {
    hint: `${hint}; ${ctx.skipHint}`,
  });
}

/** Refusals because this host cannot connect: in Docker mode the container's view decides. */
const connectionRefusals = new WeakSet<NelError>();

function connectionError(url: string, o: Extract<Outcome, { ok: false }>, ctx: Ctx): NelError {
  const e = connectionErrorOf(url, o, ctx);
  connectionRefusals.add(e);
  return e;
}

function connectionErrorOf(url: string, o: Extract<Outcome, { ok: false }>, ctx: Ctx): NelError {
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  if (o.code === 'ENOTFOUND' || o.code === 'EAI_AGAIN')
    return refuse(
      `cannot resolve the host of ${url} (${o.code})`,
      'check the host name in target.api_endpoint.url',
      ctx,
    );
  if (o.code === 'ECONNREFUSED')
    return refuse(
      `cannot connect to ${url}: connection refused`,
      `nothing listens on ${host}; start the server or fix target.api_endpoint.url`,
      ctx,
    );
  if (o.code === 'CONNECT_TIMEOUT')
    return refuse(
      `cannot connect to ${url}: no connection within ${ctx.timeoutMs / 1000} s`,
      `check that ${host} is reachable from ${ctx.where ?? 'this machine'}`,
      ctx,
    );
  return refuse(`cannot connect to ${url} (${o.code}: ${o.message})`, 'check target.api_endpoint.url', ctx);
}

function keyRefused(ep: PreflightEndpoint, where: string, status: number, o: Outcome, ctx: Ctx): NelError {
  if (!ep.keyName)
    return refuse(
      `${where} answered HTTP ${status} (no API key is configured)${withMessage(o)}`,
      'set target.api_endpoint.api_key_name to the NAME of the variable that holds the key',
      ctx,
    );
  return refuse(
    `${where} answered HTTP ${status}: the key in ${ep.keyName} was refused${withMessage(o)}`,
    `check the value of ${ep.keyName} (target.api_endpoint.api_key_name), or point it at the right variable`,
    ctx,
  );
}

type ModelsResult =
  | { served: true; ids: string[] }
  | { served: false; status?: number; outcome: Outcome }
  | { refused: NelError };

async function probeModels(ep: PreflightEndpoint, u: URL, ctx: Ctx): Promise<ModelsResult> {
  const modelsUrl = modelsUrlOf(u);
  const headers: Record<string, string> = ep.keyValue ? { authorization: `Bearer ${ep.keyValue}` } : {};
  const o = await ctx.send(modelsUrl, 'GET', headers, undefined, ctx.timeoutMs);
  if (!o.ok) {
    if (CONNECT_ERRORS.has(o.code) || /^ERR_TLS|CERT|SSL|EPROTO/.test(o.code))
      return { refused: connectionError(ep.url, o, ctx) };
    return { served: false, outcome: o };
  }
  if (o.status === 401 || o.status === 403)
    return { refused: keyRefused(ep, `GET ${modelsUrl}`, o.status, o, ctx) };
  if (o.status >= 200 && o.status < 300 && isPlainObject(o.json) && Array.isArray(o.json.data)) {
    const ids = o.json.data
      .map((m) => (isPlainObject(m) && typeof m.id === 'string' ? m.id : undefined))
      .filter((x): x is string => x !== undefined);
    return { served: true, ids };
  }
  return { served: false, status: o.status, outcome: o };
}

/**
 * Probe one endpoint from the host; throws the refusal, records warnings. Resolves true when the server
 * gave an HTTP answer (false: connected but no answer in time, which makes a container comparison moot).
 */
async function checkFromHost(ep: PreflightEndpoint, ctx: Ctx): Promise<boolean> {
  let u: URL;
  try {
    u = new URL(ep.url);
  } catch {
    u = undefined as unknown as URL;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
    throw refuse(
      `target.api_endpoint.url is not an http(s) URL: ${ep.url}`,
      'for example http://127.0.0.1:8000/v1/chat/completions',
      ctx,
    );
  const kind = kindOf(ep.type);
  const pk = pathKind(u.pathname);
  const models = await probeModels(ep, u, ctx);
  if ('refused' in models) throw models.refused;
  const suggest = suggestedUrl(u, kind);
  const baseUrl = () =>
    refuse(
      `target.api_endpoint.url ${ep.url} is a base URL, not the ${ep.type} endpoint of ${taskPart(ep)}`,
      `requests go to the URL as given: use ${suggest}`,
      ctx,
    );
  if (models.served) {
    if (ep.modelId !== undefined && models.ids.length > 0 && !models.ids.includes(ep.modelId)) {
      const shown = models.ids.slice(0, 10).join(', ') + (models.ids.length > 10 ? ', ...' : '');
      throw refuse(
        `model ${ep.modelId} is not served by ${modelsUrlOf(u)}; it lists: ${shown}`,
        'set target.api_endpoint.model_id to one of the listed ids',
        ctx,
      );
    }
    if (kind !== 'other' && pk === 'base') throw baseUrl();
    // The URL names this task's kind of endpoint: the listing is enough.
    if (kind === 'other' || pk === kind) return true;
  }
  if (!models.served && !models.outcome.ok) {
    // Connected, but no answer in time: a slow server is not a mistake; the run's own timeouts apply.
    ctx.warnings.push(
      `preflight: GET ${modelsUrlOf(u)} gave no answer (${models.outcome.message}); the run goes ahead`,
    );
    return false;
  }
  // Not listed, or the path needs confirming: the smallest request of the task's type, to the URL itself.
  const headers: Record<string, string> = ep.keyValue ? { authorization: `Bearer ${ep.keyValue}` } : {};
  const o = await ctx.send(ep.url, 'POST', headers, smallestBody(kind, ep.modelId), ctx.timeoutMs);
  const modelsNote = models.served
    ? ''
    : models.outcome.ok
      ? ` (GET ${modelsUrlOf(u)} answered HTTP ${models.outcome.status})`
      : ` (GET ${modelsUrlOf(u)}: ${models.outcome.message})`;
  if (!o.ok) {
    if (CONNECT_ERRORS.has(o.code)) throw connectionError(ep.url, o, ctx);
    ctx.warnings.push(
      `preflight: POST ${ep.url} gave no answer (${o.message})${modelsNote}; the run goes ahead`,
    );
    return models.served || models.outcome.ok;
  }
  const s = o.status;
  if (s >= 200 && s < 300) {
    if (kind === 'other' || looksAnswered(kind, o.json)) {
      if (!models.served && models.outcome.ok && models.outcome.status >= 500)
        ctx.warnings.push(
          `preflight: GET ${modelsUrlOf(u)} answered HTTP ${models.outcome.status}, but the ${ep.type} request to ${ep.url} works`,
        );
      return true;
    }
    if (pk !== kind && pk !== 'unknown' && pk !== 'base') throw mismatch(ep, pk, kind, suggest, o, ctx);
    ctx.warnings.push(
      `preflight: POST ${ep.url} answered HTTP ${s} without a ${ep.type} completion in the body; the run goes ahead`,
    );
    return true;
  }
  if (s === 401 || s === 403) throw keyRefused(ep, `POST ${ep.url}`, s, o, ctx);
  const text = serverMessage(o);
  if (s === 404 && ep.modelId !== undefined && /model/i.test(text) && text.includes(ep.modelId))
    throw refuse(
      `model ${ep.modelId} is not served by ${ep.url} (HTTP 404${withMessage(o)})`,
      'set target.api_endpoint.model_id to a model the server serves',
      ctx,
    );
  if (s >= 400 && s < 500 && s !== 408 && s !== 429) {
    if (pk === 'base') throw baseUrl();
    if (pk !== kind && pk !== 'unknown' && kind !== 'other') throw mismatch(ep, pk, kind, suggest, o, ctx);
    if (s === 404 || s === 405)
      throw refuse(
        `POST ${ep.url} answered HTTP ${s}: the URL path is wrong${modelsNote}`,
        `for a ${ep.type} task the URL usually ends in ${kind === 'other' ? '/v1/chat/completions' : '/v1' + SUFFIX[kind]}, e.g. ${suggest}`,
        ctx,
      );
  }
  ctx.warnings.push(
    `preflight: POST ${ep.url} answered HTTP ${s}${withMessage(o)}${modelsNote}; the run goes ahead`,
  );
  return true;
}

function mismatch(
  ep: PreflightEndpoint,
  pk: Kind,
  kind: Kind,
  suggest: string,
  o: Extract<Outcome, { ok: true }>,
  ctx: Ctx,
): NelError {
  const other = kind === 'chat' ? 'completions' : 'chat';
  return refuse(
    `${taskPart(ep)} needs a ${ep.type} endpoint, but ${ep.url} is a ${pk} endpoint (HTTP ${o.status}${withMessage(o)})`,
    `use ${suggest}, or set endpoint_type: ${pk === 'chat' || pk === 'completions' ? pk : other} on the task if the task supports it`,
    ctx,
  );
}

// --- the in-container probe ---------------------------------------------------------------------

/** Runs inside the container: one GET per URL (argv), a JSON line per URL; a connection is "reached". */
const CONTAINER_SCRIPT = `
const urls = process.argv.slice(1);
const T = Number(process.env.NEL_PREFLIGHT_TIMEOUT_MS) || 3000;
const one = (url) => new Promise((resolve) => {
  let done = false;
  let t;
  const fin = (o) => { if (!done) { done = true; clearTimeout(t); resolve(Object.assign({ url }, o)); } };
  let req;
  try {
    const mod = url.startsWith('https:') ? require('node:https') : require('node:http');
    req = mod.request(url, { method: 'GET', agent: false, rejectUnauthorized: false, headers: { connection: 'close' } });
  } catch (e) { return fin({ ok: false, code: 'EINVAL' }); }
  let connected = false;
  req.on('socket', (s) => { if (!s.connecting) connected = true; s.once('connect', () => (connected = true)); });
  t = setTimeout(() => { fin(connected ? { ok: true, status: 0 } : { ok: false, code: 'CONNECT_TIMEOUT' }); req.destroy(); }, T);
  req.on('error', (e) => fin({ ok: false, code: e.code || 'ERROR' }));
  req.on('response', (res) => { fin({ ok: true, status: res.statusCode }); res.resume(); req.destroy(); });
  req.end();
});
Promise.all(urls.map(one)).then((rs) => { for (const r of rs) console.log(JSON.stringify(r)); });
`;

interface ContainerProbe {
  url: string;
  ok: boolean;
  code?: string;
  status?: number;
}

async function probeFromContainer(
  image: string,
  args: string[],
  urls: string[],
  ctx: Ctx,
): Promise<ContainerProbe[] | { note: string }> {
  const r = await runDocker(
    [
      'run',
      '--rm',
      '--label',
      'nel.role=preflight',
      ...args,
      '-e',
      `NEL_PREFLIGHT_TIMEOUT_MS=${ctx.timeoutMs}`,
      '--entrypoint',
      'node',
      image,
      '-e',
      CONTAINER_SCRIPT,
      ...urls,
    ],
    { timeoutMs: ctx.timeoutMs + 30_000 },
  );
  if (r.error || r.code !== 0) {
    const why = r.error ?? (r.stderr.trim().split('\n').pop() || `docker run exited with code ${r.code}`);
    return { note: `the in-container check could not run (${why})` };
  }
  const out: ContainerProbe[] = [];
  for (const line of r.stdout.split('\n')) {
    try {
      const j = JSON.parse(line) as ContainerProbe;
      if (typeof j.url === 'string') out.push(j);
    } catch {
      /* not a result line */
    }
  }
  return out;
}

async function imagePresent(ref: string): Promise<boolean> {
  const r = await runDocker(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 20_000 });
  return r.code === 0;
}

// --- entry points -------------------------------------------------------------------------------

/** Check a list of endpoints; throws the first refusal (NelError), returns the warnings. */
export async function preflightEndpoints(
  endpoints: PreflightEndpoint[],
  opts: PreflightOptions = {},
): Promise<PreflightReport> {
  const env = opts.env ?? process.env;
  const command = opts.command ?? 'nel run';
  if (opts.skip) return { skipped: `--skip-preflight`, warnings: [], checked: [] };
  if (TRUTHY.has((env[SKIP_PREFLIGHT_ENV] ?? '').toLowerCase()))
    return { skipped: `${SKIP_PREFLIGHT_ENV} is set`, warnings: [], checked: [] };
  const fromEnv = Number(env[PREFLIGHT_TIMEOUT_ENV]);
  const timeoutMs =
    opts.timeoutMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv * 1000 : DEFAULT_TIMEOUT_MS);
  const ctx: Ctx = {
    timeoutMs,
    skipHint: `${command} --skip-preflight (or ${SKIP_PREFLIGHT_ENV}=1) skips this check`,
    warnings: [],
    send,
  };
  if (command === 'nel run') ctx.skipHint = `${SKIP_HINT} (or ${SKIP_PREFLIGHT_ENV}=1)`;
  if (endpoints.length === 0) return { skipped: 'no endpoints', warnings: [], checked: [] };
  if (opts.prober) return preflightElsewhere(endpoints, opts.prober, ctx);

  // In Docker mode: one container per distinct set of docker args, started while the host probes run.
  const groups = new Map<string, { args: string[]; urls: Set<string> }>();
  for (const ep of endpoints) {
    if (!ep.dockerArgs) continue;
    const k = JSON.stringify(ep.dockerArgs);
    const g = groups.get(k) ?? { args: ep.dockerArgs, urls: new Set<string>() };
    try {
      g.urls.add(modelsUrlOf(new URL(ep.url)));
    } catch {
      continue;
    }
    groups.set(k, g);
  }
  const image = opts.probeImage ?? engineImageRef();
  const containerResults: Promise<Map<string, ContainerProbe[] | { note: string }>> = (async () => {
    const m = new Map<string, ContainerProbe[] | { note: string }>();
    if (groups.size === 0) return m;
    if (!(await imagePresent(image))) {
      for (const k of groups.keys())
        m.set(k, { note: `the in-container check was skipped: the image ${image} is not on this machine` });
      return m;
    }
    await Promise.all(
      [...groups].map(async ([k, g]) => m.set(k, await probeFromContainer(image, g.args, [...g.urls], ctx))),
    );
    return m;
  })();
  // Never leave the container probe's promise unobserved when a host check throws first.
  containerResults.catch(() => undefined);

  const hostResults = await Promise.allSettled(endpoints.map((ep) => checkFromHost(ep, ctx)));
  // the probe container is --rm; let it finish rather than orphan the child
  const byGroup = await containerResults;
  const containerView = (ep: PreflightEndpoint): ContainerProbe | undefined => {
    const res = ep.dockerArgs ? byGroup.get(JSON.stringify(ep.dockerArgs)) : undefined;
    if (!Array.isArray(res)) return undefined;
    const modelsUrl = modelsUrlOf(new URL(ep.url));
    return res.find((p) => p.url === modelsUrl);
  };
  const notes = new Set<string>();
  for (const [i, r] of hostResults.entries()) {
    if (r.status === 'fulfilled') continue;
    const ep = endpoints[i]!;
    // Not reachable from this host, but from the job's container (e.g. a name only Docker resolves): fine.
    if (connectionRefusals.has(r.reason as NelError) && containerView(ep)?.ok) {
      notes.add(
        `preflight: ${ep.url} is not reachable from this host (${(r.reason as NelError).message.replace(/^preflight: /, '')}) but answers from inside the container; only reachability was checked`,
      );
      hostResults[i] = { status: 'fulfilled', value: false };
      continue;
    }
    throw r.reason;
  }
  endpoints.forEach((ep, i) => {
    if (!ep.dockerArgs) return;
    const answered = (hostResults[i] as PromiseFulfilledResult<boolean>).value;
    const res = byGroup.get(JSON.stringify(ep.dockerArgs));
    if (!res) return;
    if (!Array.isArray(res)) {
      notes.add(`preflight: ${res.note}`);
      return;
    }
    const modelsUrl = modelsUrlOf(new URL(ep.url));
    const probe = res.find((p) => p.url === modelsUrl);
    if (!probe || probe.ok || !answered) return;
    const host = new URL(ep.url).hostname;
    const argsText =
      ep.dockerArgs.length > 0 ? `extra_docker_args: ${ep.dockerArgs.join(' ')}` : 'no extra_docker_args';
    const hint = LOOPBACK.test(host)
      ? `${host} inside a container is the container itself; add \`--network host\` to execution.extra_docker_args, or use an address the container can reach`
      : `the container cannot reach ${host}; add \`--network host\` to execution.extra_docker_args, or use an address the container can reach`;
    throw refuse(
      `${ep.url} answers from this host but not from inside a container (${probe.code ?? 'no answer'}; ${argsText})`,
      hint,
      ctx,
    );
  });
  return {
    warnings: [...ctx.warnings, ...notes],
    checked: endpoints.map((e) => e.url),
  };
}

/**
 * The checks of checkFromHost with every request sent from elsewhere, in one batch: for each endpoint
 * the GET of its model list and the smallest request of its type (what checkFromHost may ask), then
 * the same decisions on those answers. No container probe (the jobs do not run in this machine's Docker).
 */
async function preflightElsewhere(
  endpoints: PreflightEndpoint[],
  prober: EndpointProber,
  ctx: Ctx,
): Promise<PreflightReport> {
  const requests: ProbeRequest[] = [];
  const keyOf = (method: string, url: string, body: string | undefined) =>
    JSON.stringify([method, url, body ?? null]);
  const index = new Map<string, number>();
  const add = (r: ProbeRequest) => {
    const k = keyOf(r.method, r.url, r.body);
    if (index.has(k)) return;
    index.set(k, requests.length);
    requests.push(r);
  };
  for (const ep of endpoints) {
    let u: URL;
    try {
      u = new URL(ep.url);
    } catch {
      continue;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
    const key = { keyName: ep.keyName, keyValue: ep.keyValue };
    add({ url: modelsUrlOf(u), method: 'GET', ...key });
    add({ url: ep.url, method: 'POST', body: smallestBody(kindOf(ep.type), ep.modelId), ...key });
  }
  const outcomes = requests.length > 0 ? await prober.send(requests, ctx.timeoutMs) : [];
  const remote: Ctx = {
    ...ctx,
    where: prober.where,
    send: async (url, method, _headers, body) => {
      const i = index.get(keyOf(method, url, body));
      const o = i === undefined ? undefined : outcomes[i];
      return o ?? { ok: false, code: 'ERROR', connected: false, message: 'not probed' };
    },
  };
  for (const ep of endpoints) await checkFromHost(ep, remote);
  return { warnings: ctx.warnings, checked: endpoints.map((e) => e.url) };
}

/** The key's value for a job: from the variable its env spec reads (host/runtime name, or a literal). */
function keyValueOf(job: PlannedJob, keyName: string, env: NodeJS.ProcessEnv): string | undefined {
  const spec = job.env.find((s) => s.target === keyName);
  if (!spec) return env[keyName];
  return spec.source.kind === 'lit' ? spec.source.value : env[spec.source.name];
}

/** A path into a job's engine config (config_ef.yaml's object, which the engine validates). */
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((cur, k) => (isPlainObject(cur) ? cur[k] : undefined), o);

/** A plan's config, typed (it was validated when the plan was made; this re-check is the fast path). */
const typedConfig = (plan: PlanFacts): LauncherConfig =>
  launcherConfig({ resolved: plan.resolvedConfig as LauncherConfig, sourcePath: null });

/** The deployment type nel starts itself, if any (then there is no endpoint to check before). */
function startedDeployment(plan: PlanFacts): string | undefined {
  const type = typedConfig(plan).deployment?.type;
  return type && type !== 'none' ? type : undefined;
}

/** The distinct endpoints of a plan's jobs (none when nel starts the deployment itself). */
export function planEndpoints(
  plan: PlanFacts,
  env: NodeJS.ProcessEnv = process.env,
  jobs: PlannedJob[] = plan.jobs,
): PreflightEndpoint[] {
  if (startedDeployment(plan)) return [];
  const dockerArgs = plan.useDocker
    ? dockerArgWords(typedConfig(plan).execution?.extra_docker_args)
    : undefined;
  const out = new Map<string, PreflightEndpoint>();
  for (const job of jobs) {
    const ep = get(job.engineConfig, 'target', 'api_endpoint') as Obj | undefined;
    const url = get(ep, 'url');
    if (typeof url !== 'string' || url === '') continue;
    const type = get(ep, 'type');
    const model = get(ep, 'model_id');
    const keyRaw = get(ep, 'api_key_name');
    const keyName = typeof keyRaw === 'string' && keyRaw !== '' ? keyRaw : null;
    const t = typeof type === 'string' ? type : job.task.endpointType;
    const modelId = typeof model === 'string' && model !== '' ? model : undefined;
    const k = JSON.stringify([url, kindOf(t), modelId, keyName]);
    const have = out.get(k);
    if (have) {
      if (!have.tasks.includes(job.taskName)) have.tasks.push(job.taskName);
      continue;
    }
    out.set(k, {
      url,
      type: t,
      modelId,
      keyName,
      keyValue: keyName ? keyValueOf(job, keyName, env) : undefined,
      tasks: [job.taskName],
      dockerArgs,
    });
  }
  return [...out.values()];
}

/** The preflight of `nel run`: every distinct endpoint of the plan. */
export async function preflightInvocation(
  plan: InvocationPlan,
  opts: PreflightOptions = {},
): Promise<PreflightReport> {
  const env = opts.env ?? process.env;
  const dtype = startedDeployment(plan);
  if (dtype && !opts.skip)
    return { skipped: `deployment type ${dtype} is started by nel`, warnings: [], checked: [] };
  return preflightEndpoints(planEndpoints(plan, env), { ...opts, env });
}

/**
 * The preflight of `nel resume`: the endpoints of the recorded jobs to rerun, planned again from their
 * recorded config (nothing is written).
 */
export async function preflightJobRecords(
  records: JobRecord[],
  opts: PreflightOptions = {},
): Promise<PreflightReport> {
  const env = opts.env ?? process.env;
  const first = records[0];
  if (!first || !isPlainObject(first.config))
    return { skipped: 'no recorded config', warnings: [], checked: [] };
  const cfg = first.config;
  let plan: PlanFacts;
  const useDocker = first.data.use_docker !== false;
  try {
    // the endpoints are the neutral plan's: no executor needed to find them again
    const neutral = planInvocation(
      {
        raw: cfg,
        resolved: launcherConfig({ resolved: cfg as LauncherConfig, sourcePath: null }),
        sourcePath: null,
        sourceText: null,
        warnings: [],
      },
      { dryRun: true, env, launcherCommand: 'nel resume', invocationId: first.invocation_id },
    );
    plan = { resolvedConfig: neutral.resolvedConfig, useDocker, jobs: neutral.jobs };
  } catch (e) {
    // The jobs' scripts are what runs; a recorded config this version cannot plan again only costs the check.
    const why = `preflight skipped: the recorded config cannot be planned again (${errorMessage(e)})`;
    return { skipped: why, warnings: [why], checked: [] };
  }
  const wanted = new Set(records.map((r) => r.job_id));
  const jobs = plan.jobs.filter((j) => wanted.has(j.jobId));
  const dtype = startedDeployment(plan);
  if (dtype && !opts.skip)
    return { skipped: `deployment type ${dtype} is started by nel`, warnings: [], checked: [] };
  return preflightEndpoints(planEndpoints(plan, env, jobs), { command: 'nel resume', ...opts, env });
}
