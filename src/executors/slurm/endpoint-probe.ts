/**
 * The preflight of jobs submitted over ssh, from the login node: the endpoints must answer where the
 * jobs run, not necessarily from the machine running nel. All the preflight's requests go in ONE ssh
 * call, a bash script on its standard input that runs one `curl` per request (in parallel) and prints
 * each answer (HTTP status, the start of the body in base64, or curl's exit code and error line). An
 * API key's value travels inside that script only (exported there, then handed to curl as a config on
 * its standard input): never in a command line or a file. Jobs submitted on this machine are probed
 * from here (no prober).
 */
import { NelError } from '../../common/errors.js';
import { shQuote } from '../../common/shell.js';
import type { JobRecord } from '../../launcher/exec-db.js';
import type { InvocationPlan } from '../../launcher/types.js';
import type { EndpointProber, ProbeOutcome, ProbeRequest } from '../types.js';
import { ClusterShell, describeAddress, isThisMachine, type ClusterAddress } from './host.js';
import { isSlurmPlan } from './plan.js';
import { addressOf } from './status.js';

/** At most this much of each body comes back (the preflight reads small JSON answers). */
const MAX_BODY = 1024 * 1024;

/** The script: one curl per request, run together; `R <i> <curl rc> <http code> <connect time> <body b64> <error b64>`. */
export function curlScript(requests: ProbeRequest[], timeoutMs: number): string {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const lines = [
    'export LC_ALL=C',
    "command -v curl >/dev/null 2>&1 || { printf 'NOCURL\\n'; exit 4; }",
    'nel_tmp=$(mktemp -d 2>/dev/null || { mkdir -p "/tmp/nel-preflight-$$" && echo "/tmp/nel-preflight-$$"; })',
    'trap \'rm -rf "$nel_tmp"\' EXIT',
    // the key's value, quoted for curl's config syntax, reaches curl on its standard input
    'nel_cfg() { local v=$1; v=${v//\\\\/\\\\\\\\}; v=${v//\\"/\\\\\\"}; printf \'header = "Authorization: Bearer %s"\\n\' "$v"; }',
  ];
  requests.forEach((r, i) => {
    const key = r.keyValue !== undefined && r.keyValue !== '' ? r.keyValue : null;
    if (key !== null) lines.push(`nel_key_${i}=${shQuote(key)}`);
    const args = [
      '-sS',
      '-o',
      `"$nel_tmp/b${i}"`,
      '-w',
      shQuote('%{http_code} %{time_connect}'),
      '--connect-timeout',
      String(secs),
      '--max-time',
      String(secs),
      '-X',
      r.method,
      '-H',
      shQuote('accept: application/json'),
      ...(r.body !== undefined
        ? ['-H', shQuote('content-type: application/json'), '--data-binary', shQuote(r.body)]
        : []),
      ...(key !== null ? ['-K', '-'] : []),
      '--',
      shQuote(r.url),
    ].join(' ');
    const stdin = key !== null ? ` < <(nel_cfg "$nel_key_${i}")` : ' < /dev/null';
    lines.push(
      `( w=$(curl ${args} 2>"$nel_tmp/e${i}"${stdin}); rc=$?; printf '%s %s\\n' "$rc" "$w" > "$nel_tmp/r${i}" ) &`,
    );
  });
  lines.push('wait');
  requests.forEach((_r, i) => {
    lines.push(
      `read -r rc code conn < "$nel_tmp/r${i}"; printf 'R\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' ${i} "$rc" "$code" "$conn" "$(head -c ${MAX_BODY} "$nel_tmp/b${i}" 2>/dev/null | base64 -w 0)" "$(head -n 1 "$nel_tmp/e${i}" | base64 -w 0)"`,
    );
  });
  return lines.join('\n') + '\n';
}

/** curl's exit code as the preflight's outcome (the codes of Node's errors it decides on). */
export function outcomeOf(
  rc: number,
  httpCode: number,
  connectS: number,
  body: string,
  err: string,
): ProbeOutcome {
  if (rc === 0) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    return { ok: true, status: httpCode, body, json };
  }
  const message = err.replace(/^curl: \(\d+\) /, '').trim() || `curl exited with code ${rc}`;
  const connected = connectS > 0;
  if (rc === 6) return { ok: false, code: 'ENOTFOUND', connected: false, message };
  if (rc === 7) {
    const code = /no route/i.test(message)
      ? 'EHOSTUNREACH'
      : /network is unreachable/i.test(message)
        ? 'ENETUNREACH'
        : 'ECONNREFUSED';
    return { ok: false, code, connected: false, message };
  }
  if (rc === 28) return { ok: false, code: connected ? 'TIMEOUT' : 'CONNECT_TIMEOUT', connected, message };
  if ([35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91].includes(rc))
    return { ok: false, code: 'ERR_TLS_CURL', connected: true, message };
  if (rc === 52 || rc === 56) return { ok: false, code: 'ECONNRESET', connected: true, message };
  return { ok: false, code: `CURL_${rc}`, connected, message };
}

/** A prober sending the requests from the login node of `address`. */
export function loginNodeProber(address: ClusterAddress, env: NodeJS.ProcessEnv): EndpointProber {
  const where = `the login node ${describeAddress(address)}`;
  return {
    where,
    async send(requests, timeoutMs) {
      const shell = new ClusterShell(address, env);
      const r = await shell.run(curlScript(requests, timeoutMs), { timeoutMs: timeoutMs + 60_000 });
      shell.checkConnected(r);
      if (r.code === 4)
        throw new NelError('ENGINE_ENDPOINT', `preflight: curl is not installed on ${where}`, {
          hint: 'install curl there, or skip this check with --skip-preflight (or NEMO_EVALUATOR_SKIP_PREFLIGHT=1)',
        });
      const out: ProbeOutcome[] = requests.map(() => ({
        ok: false,
        code: 'ERROR',
        connected: false,
        message: `no answer from the probe on ${where}`,
      }));
      for (const line of r.stdout.split('\n')) {
        const f = line.split('\t');
        if (f[0] !== 'R' || f.length < 7) continue;
        const i = Number(f[1]);
        if (!Number.isInteger(i) || i < 0 || i >= out.length) continue;
        const dec = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
        out[i] = outcomeOf(Number(f[2]), Number(f[3]), Number(f[4]) || 0, dec(f[5] ?? ''), dec(f[6] ?? ''));
      }
      return out;
    },
  };
}

/** Executor.endpointProber of Slurm plans: the login node when the jobs are submitted over ssh. */
export function slurmEndpointProber(
  plan: InvocationPlan,
  env: NodeJS.ProcessEnv,
): EndpointProber | undefined {
  if (!isSlurmPlan(plan) || isThisMachine(plan.slurm.hostname)) return undefined;
  return loginNodeProber({ hostname: plan.slurm.hostname, username: plan.slurm.username, local: false }, env);
}

/** The prober for resuming recorded jobs: the login node of the first of them submitted over ssh. */
export function recordsProber(recs: JobRecord[], env: NodeJS.ProcessEnv): EndpointProber | undefined {
  const a = recs.map(addressOf).find((x): x is ClusterAddress => x !== null && !x.local);
  return a ? loginNodeProber(a, env) : undefined;
}
