/**
 * The whole-process floor: a bare Node process that sends the given prompts with undici's Pool (loaded
 * the way the engine loads it) at the given concurrency, parses each reply, prints the count and exits.
 * argv: <chat URL> <contents JSON file> <parallelism> [undici|node-http]
 * With `node-http` it uses Node's built-in http client instead (bench/lib/node-http-client).
 */
import { readFileSync } from 'node:fs';
import { Pool, requestVia } from '../src/engine/client/undici-core.js';
import { chatBody } from './lib/data.js';

const [url, contentsFile, par, client] = process.argv.slice(2);
const contents = JSON.parse(readFileSync(contentsFile!, 'utf8')) as string[];
if (client === 'node-http') {
  const { httpLoop } = await import('./lib/node-http-client.js');
  process.stdout.write(`${await httpLoop(url!, contents, Number(par))}\n`);
  process.exit(0);
}
const target = new URL(url!);
const pool = new Pool(target.origin, { connections: Number(par), pipelining: 1 });
let next = 0;
let ok = 0;
const worker = async (): Promise<void> => {
  while (next < contents.length) {
    const i = next++;
    const res = await requestVia(pool, {
      path: target.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('reference-model', contents[i]!)),
    });
    const body = (await res.body.json()) as { choices?: { message?: { content?: string } }[] };
    if (res.statusCode === 200 && typeof body.choices?.[0]?.message?.content === 'string') ok++;
  }
};
await Promise.all(Array.from({ length: Math.min(Number(par), contents.length) }, worker));
await pool.close();
process.stdout.write(`${ok}\n`);
