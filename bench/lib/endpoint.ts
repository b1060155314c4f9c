/** The reference endpoint in a child process (its own event loop), with its request counters. */
import { spawn } from 'node:child_process';
import { request } from 'undici';
import { benchScriptArgs } from './paths.js';

export interface EndpointHandle {
  url: string;
  /** Chat completions URL. */
  chatUrl: string;
  stats(): Promise<{ answered_ok: number; unknown_prompts: number; total: number }>;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 120_000;

export async function startEndpointChild(opts: {
  datasetFile: string;
  latencyMs: number;
  benchmark?: string;
}): Promise<EndpointHandle> {
  const args = [
    ...benchScriptArgs('reference-server'),
    opts.benchmark ?? 'gsm8k',
    opts.datasetFile,
    String(opts.latencyMs),
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`reference endpoint did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolveUrl((JSON.parse(out.slice(0, nl)) as { url: string }).url);
        } catch {
          reject(new Error(`reference endpoint printed ${out.slice(0, 200)}`));
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`reference endpoint exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
  let closed: Promise<void> | null = null;
  return {
    url,
    chatUrl: `${url}/v1/chat/completions`,
    async stats() {
      const res = await request(`${url}/stats`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      return (await res.body.json()) as { answered_ok: number; unknown_prompts: number; total: number };
    },
    close() {
      closed ??= new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          done();
        });
        child.stdin!.end();
        child.kill('SIGTERM');
      });
      return closed;
    },
  };
}
