/**
 * A keep-alive loop over Node's built-in http client (`node:http` with an Agent), for comparison rows:
 * it starts faster than undici (nothing to load, no WASM parser to compile) but is slower once warm.
 */
import http from 'node:http';
import { chatBody } from './data.js';

/** Send every prompt at `parallelism` over one keep-alive agent; returns how many got a 200 with a reply. */
export async function httpLoop(
  chatUrl: string,
  contents: readonly string[],
  parallelism: number,
): Promise<number> {
  const url = new URL(chatUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallelism });
  const one = (body: string): Promise<boolean> =>
    new Promise((resolveOne, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            try {
              const b = JSON.parse(text) as { choices?: { message?: { content?: string } }[] };
              resolveOne(res.statusCode === 200 && typeof b.choices?.[0]?.message?.content === 'string');
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  let ok = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(parallelism, contents.length) }, async () => {
        while (next < contents.length) {
          const i = next++;
          if (await one(JSON.stringify(chatBody('reference-model', contents[i]!)))) ok++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return ok;
}
