/**
 * Why a job failed, in one line with a hint, read from the job's own logs: Docker's error (image not
 * present and not pullable, container name conflict, bad mount), the engine's last `error: ...
 * (hint: ...)` line, the task script's own `error:` lines (an unset variable, a server that never got
 * healthy), or the note `nel status` left when the job's processes were gone.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '../../launcher/exec-db.js';
import type { JobCause } from '../types.js';

/**
 * The hint's second half: the built-in engine's own version of the task, as `nel run` worked it out for
 * the job record (data.builtin_alternative; reading it here keeps the benchmark registry out of `nel
 * status`), or a general pointer for records written without it.
 */
function builtinAlternative(rec: JobRecord): string {
  const known = rec.data.builtin_alternative;
  if (typeof known === 'string' && known !== '') return known;
  return 'or run it on the built-in engine: nel run ... --builtin-engine (nel ls tasks --builtin-engine lists the upstream tasks it runs; no registry needed)';
}

export type { JobCause } from '../types.js';

/** The note written when a job is found without any of its processes (read back by jobCause). */
export const LOST_FILE = 'stage.lost';

const TAIL_BYTES = 64 * 1024;

/** The last 64 KiB of a file as lines (empty when missing). */
export function tailLines(path: string): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - from);
    const n = buf.length > 0 ? readSync(fd, buf, 0, buf.length, from) : 0;
    const lines = buf
      .subarray(0, n)
      .toString('utf8')
      .split('\n')
      .map((l) => l.replace(/\r$/, ''));
    if (from > 0) lines.shift();
    return lines;
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** `error: MSG (hint: HINT)` split in two (the hint is optional). */
export function splitErrorLine(text: string): { cause: string; hint?: string } {
  const m = /^(.*?)\s*\(hint: (.*)\)\s*$/.exec(text);
  return m ? { cause: m[1]!, hint: m[2]! } : { cause: text };
}

const lastMatch = (lines: string[], re: RegExp): RegExpExecArray | null => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(stripAnsi(lines[i]!));
    if (m) return m;
  }
  return null;
};

const registryOf = (image: string): string => {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
};

/** Docker's own error in a `docker run` output, classified. */
export function dockerCause(lines: string[], rec: JobRecord, log: string): JobCause | null {
  const m = lastMatch(lines, /^docker: (?:Error response from daemon: )?(.*)$/);
  if (!m) return null;
  const reason = m[1]!.replace(/\.?\s*$/, '').replace(/\s*See 'docker run --help'$/, '');
  const image = typeof rec.data.eval_image === 'string' ? rec.data.eval_image : '';
  if (
    /pull access denied|repository does not exist|manifest unknown|manifest for .* not found|not found: manifest|unauthorized|authentication required|requested access to the resource is denied|no such host|i\/o timeout|dial tcp|TLS handshake|failed to resolve reference|No such image/i.test(
      reason,
    ) ||
    lines.some((l) => /^Unable to find image '.*' locally$/.test(l))
  ) {
    const img = image || /image '([^']+)'/.exec(lines.join('\n'))?.[1] || 'the image';
    return {
      cause: `image ${img} is not present on this machine and could not be pulled: ${reason}`,
      hint:
        `log in to the registry (docker login ${registryOf(img)}) and pull it (docker pull ${img}); ` +
        builtinAlternative(rec),
      log,
    };
  }
  if (/Conflict\. The container name/i.test(reason)) {
    const name = /container name "\/?([^"]+)"/.exec(reason)?.[1];
    return {
      cause: `the container name is already in use: ${reason}`,
      hint: name
        ? `remove the old container (docker rm -f ${name}) and run again`
        : 'remove the old container',
      log,
    };
  }
  if (/mount|bind source path|volume|invalid spec/i.test(reason)) {
    return {
      cause: `docker could not mount a volume: ${reason}`,
      hint: 'check that every host path in execution.mounts, dataset_dir and output_dir exists and has no ":"',
      log,
    };
  }
  return { cause: `docker run failed: ${reason}`, hint: `see ${log}`, log };
}

/**
 * The cause of a job that ended FAILED (or whose processes are gone). Always returns a cause; the
 * last resort names the exit code and the logs to read.
 */
export function jobCause(rec: JobRecord, exitCode: number | null): JobCause {
  const taskDir = typeof rec.data.output_dir === 'string' ? rec.data.output_dir : '';
  const logs = join(taskDir, 'logs');
  const clientLog = join(logs, 'client_stdout.log');
  const scriptLog = join(logs, 'stdout.log');
  const lost = tailLines(join(logs, LOST_FILE)).filter((l) => l.trim() !== '');
  if (lost.length > 0)
    return { ...splitErrorLine(lost[lost.length - 1]!.replace(/^error: /, '')), log: scriptLog };
  const client = tailLines(clientLog);
  const docker = rec.data.use_docker === false ? null : dockerCause(client, rec, clientLog);
  if (docker) return docker;
  const engine = lastMatch(client, /^error: (.*)$/);
  if (engine) return { ...splitErrorLine(engine[1]!), log: clientLog };
  const logged = lastMatch(client, /^\[E [^\]]*\] (.*)$/);
  if (logged) return { cause: logged[1]!, hint: `see ${clientLog}`, log: clientLog };
  const script = tailLines(scriptLog);
  const own = lastMatch(script, /^error: (.*)$/);
  if (own) return { ...splitErrorLine(own[1]!), log: scriptLog };
  const server = lastMatch(script, /^(Health check timeout after \d+s|Server process \d+ died)$/);
  if (server) {
    // the server's own last words: its last `error:` line (with its hint), else its last line
    const serverLog = join(logs, 'server_stdout.log');
    const said = tailLines(serverLog).filter((l) => l.trim() !== '');
    const err = lastMatch(said, /^error: (.*)$/);
    const last = err ? splitErrorLine(err[1]!).cause : said.at(-1)?.trim();
    const hintLine = err ? lastMatch(said, /^hint: (.*)$/)?.[1] : undefined;
    const what = server[1]!.startsWith('Health')
      ? `the model server never became healthy (${server[1]})`
      : server[1]!;
    return {
      cause: last ? `${what}; its log ends: ${last.slice(0, 300)}` : what,
      hint: hintLine ? `${hintLine} (see ${serverLog})` : `see ${serverLog}`,
      log: scriptLog,
    };
  }
  const code = exitCode === null ? 'an unreadable exit code' : `exit code ${exitCode}`;
  return { cause: `the job ended with ${code}`, hint: `see ${clientLog} and ${scriptLog}`, log: clientLog };
}
