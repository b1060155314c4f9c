/**
 * The login-node preflight's curl script, run for real with bash on this machine against HTTP servers
 * on 127.0.0.1: answers, bodies and the API key (with quotes and backslashes) arrive as sent; a closed
 * port and an unknown host map to the preflight's connection codes; the key's value is in the script
 * (which travels on ssh's standard input) only as one variable assignment, never in curl's arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as netServer } from 'node:net';
import { curlScript, outcomeOf } from './endpoint-probe.js';

const haveCurl = spawnSync('curl', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function parse(stdout: string) {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('R\t'))
    .map((l) => {
      const f = l.split('\t');
      const dec = (b: string) => Buffer.from(b, 'base64').toString('utf8');
      return outcomeOf(Number(f[2]), Number(f[3]), Number(f[4]) || 0, dec(f[5] ?? ''), dec(f[6] ?? ''));
    });
}

test(
  'curl script: statuses, bodies, the key as sent; refused and unresolvable hosts',
  { skip: !haveCurl },
  async () => {
    const seen: { method: string; url: string; auth?: string; body: string }[] = [];
    const srv = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
        if (req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data: [{ id: 'm1' }] }));
        } else {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'bad key' } }));
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const closed = await freePort();
    const key = `k"ey\\with 'quotes' $HOME \`x\``;
    try {
      const body = JSON.stringify({
        model: 'm1',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 1,
      });
      const script = curlScript(
        [
          { url: `http://127.0.0.1:${port}/v1/models`, method: 'GET', keyName: 'K', keyValue: key },
          {
            url: `http://127.0.0.1:${port}/v1/chat/completions`,
            method: 'POST',
            body,
            keyName: 'K',
            keyValue: key,
          },
          { url: `http://127.0.0.1:${closed}/v1/models`, method: 'GET' },
          { url: 'http://no-such-host.invalid/v1/models', method: 'GET' },
        ],
        5000,
      );
      // the value appears only as shell variable assignments (one per request); curl reads it with -K -
      const withKey = script.split('\n').filter((l) => l.includes('with'));
      assert.deepEqual(
        withKey.map((l) => l.split('=')[0]),
        ['nel_key_0', 'nel_key_1'],
      );
      // asynchronously: the servers answer from this process meanwhile
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('bash', ['-s'], { stdio: 'pipe' });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
        child.stdin.end(script);
      });
      assert.equal(r.status, 0, r.stderr);
      const o = parse(r.stdout);
      assert.equal(o.length, 4, r.stdout);
      assert.ok(o[0]!.ok && o[0]!.status === 200);
      assert.deepEqual(o[0]!.ok && o[0]!.json, { data: [{ id: 'm1' }] });
      assert.ok(o[1]!.ok && o[1]!.status === 401 && /bad key/.test(o[1]!.body));
      assert.equal(!o[2]!.ok && o[2]!.code, 'ECONNREFUSED');
      assert.equal(!o[3]!.ok && o[3]!.code, 'ENOTFOUND');
      const get = seen.find((x) => x.method === 'GET')!;
      const post = seen.find((x) => x.method === 'POST')!;
      assert.equal(get.auth, `Bearer ${key}`);
      assert.equal(post.auth, `Bearer ${key}`);
      assert.equal(post.body, body);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  },
);
