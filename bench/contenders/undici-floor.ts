/**
 * The floor: a raw undici loop with `parallelism` workers over a keep-alive pool of as many sockets,
 * sending the same bodies the engine sends and parsing each reply. The fastest client on this endpoint.
 */
import { Pool } from 'undici';
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
