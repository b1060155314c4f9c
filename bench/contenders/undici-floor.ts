/**
 * The floor: a raw undici loop with `parallelism` workers over a keep-alive pool of as many sockets,
 * sending the same bodies the engine sends and parsing each reply. The fastest client on this endpoint.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { failureOf, runChild } from '../lib/child.js';
import { benchScriptArgs } from '../lib/paths.js';
import { httpLoop } from '../lib/node-http-client.js';
import { chatBody } from '../lib/data.js';
import { MODEL_ID, type ThroughputCase, type ThroughputContender, type ThroughputRun } from './types.js';

export async function runUndiciLoop(c: ThroughputCase): Promise<ThroughputRun> {
  const url = new URL(c.endpoint.chatUrl);
  const pool = new Pool(url.origin, {
    connections: c.parallelism,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const deadline = Date.now() + c.timeoutMs;
  let next = 0;
  let completed = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < c.samples) {
      if (Date.now() > deadline) throw new Error(`floor loop exceeded ${c.timeoutMs / 1000} s`);
      const i = next++;
      const res = await pool.request({
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chatBody(MODEL_ID, c.contents[i]!)),
      });
      const body = (await res.body.json()) as { choices?: { message?: { content?: string } }[] };
      if (res.statusCode === 200 && typeof body.choices?.[0]?.message?.content === 'string') completed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(c.parallelism, c.samples) }, worker));
  } finally {
    await pool.close();
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, completed };
}

export const undiciFloor: ThroughputContender = {
  name: 'raw undici loop (floor)',
  scope: 'work only',
  unavailable: async () => null,
  run: runUndiciLoop,
};

/** A bare Node process that only sends the same requests (bench/floor-process) and exits. */
function floorProcess(name: string, client: 'undici' | 'node-http'): ThroughputContender {
  return {
    name,
    scope: 'whole process',
    unavailable: async () => null,
    async run(c) {
      mkdirSync(c.outputDir, { recursive: true });
      const contentsFile = join(c.outputDir, 'contents.json');
      writeFileSync(contentsFile, JSON.stringify(c.contents.slice(0, c.samples)));
      const r = await runChild(
        process.execPath,
        [
          ...benchScriptArgs('floor-process'),
          c.endpoint.chatUrl,
          contentsFile,
          String(c.parallelism),
          client,
        ],
        { timeoutMs: c.timeoutMs },
      );
      const failure = failureOf(r);
      if (failure) throw new Error(`floor process: ${failure}`);
      return { seconds: r.wallMs / 1000, completed: Number(r.stdout.trim()) || 0 };
    },
  };
}

/** The whole-process floor: what any Node client with undici pays for start-up, loading and a cold JIT. */
export const undiciFloorProcess = floorProcess('raw undici loop, whole process (floor)', 'undici');

/** The same with Node's built-in http client: faster to start, slower once warm (see httpLoopInProcess). */
export const nodeHttpProcess = floorProcess('node:http loop, whole process', 'node-http');

/** Node's built-in http client in a warm process (work only), beside the undici floor. */
export const httpLoopInProcess: ThroughputContender = {
  name: 'node:http loop (work only)',
  scope: 'work only',
  unavailable: async () => null,
  async run(c) {
    const started = process.hrtime.bigint();
    const completed = await httpLoop(c.endpoint.chatUrl, c.contents.slice(0, c.samples), c.parallelism);
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, completed };
  },
};
