/**
 * A local server imitating the Hugging Face hub URL layout for data set tests:
 *   GET /api/datasets/<repo>/revision/<rev>   -> {siblings: [{rfilename}]}
 *   GET /datasets/<repo>/resolve/<rev>/<path> -> file bytes
 * Serves GSM8K test.jsonl as openai/gsm8k (main/test) and HumanEval.jsonl as openai/openai_humaneval,
 * plus files a test registers. Counts requests; can require a bearer token.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { sharedPath } from './paths.js';

export interface HubServer {
  url: string;
  /** Add a file to a repo (revision `main` unless given). */
  addFile(repo: string, path: string, content: string | Uint8Array, revision?: string): void;
  /** Requests served so far (all paths), and by path. */
  requestCount(): number;
  requests(): string[];
  /** 401 for requests without `Authorization: Bearer <token>` (403 for a wrong token); null = open. */
  requireToken(token: string | null): void;
  close(): Promise<void>;
}

export async function startHubServer(opts: { withDefaults?: boolean } = {}): Promise<HubServer> {
  const files = new Map<string, Map<string, Uint8Array>>(); // "<repo>@<rev>" -> path -> bytes
  const log: string[] = [];
  let token: string | null = null;
  const sockets = new Set<Socket>();

  const addFile = (repo: string, path: string, content: string | Uint8Array, revision = 'main') => {
    const key = `${repo}@${revision}`;
    if (!files.has(key)) files.set(key, new Map());
    files.get(key)!.set(path, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  };
  if (opts.withDefaults !== false) {
    addFile('openai/gsm8k', 'README.md', '# gsm8k\n');
    addFile('openai/gsm8k', 'main/test.jsonl', readFileSync(sharedPath('data', 'gsm8k', 'test.jsonl')));
    addFile(
      'openai/openai_humaneval',
      'openai_humaneval/test.jsonl',
      readFileSync(sharedPath('data', 'humaneval', 'HumanEval.jsonl')),
    );
  }

  const server: Server = createServer((req, res) => {
    const url = decodeURI((req.url ?? '/').split('?')[0]);
    log.push(url);
    const fail = (status: number, msg: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: msg }));
    };
    if (token !== null) {
      const auth = req.headers.authorization;
      if (!auth) return fail(401, 'unauthorized');
      if (auth !== `Bearer ${token}`) return fail(403, 'forbidden');
    }
    const api = /^\/api\/datasets\/(.+)\/revision\/([^/]+)$/.exec(url);
    if (api) {
      const repoFiles = files.get(`${api[1]}@${api[2]}`);
      if (!repoFiles) return fail(404, 'repository not found');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: api[1],
          sha: api[2],
          siblings: [...repoFiles.keys()].map((rfilename) => ({ rfilename })),
        }),
      );
      return;
    }
    const resolve = /^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (resolve) {
      const bytes = files.get(`${resolve[1]}@${resolve[2]}`)?.get(resolve[3]);
      if (!bytes) return fail(404, 'entry not found');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    fail(404, 'not found');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    addFile,
    requestCount: () => log.length,
    requests: () => [...log],
    requireToken: (t) => {
      token = t;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}
