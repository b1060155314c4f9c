/**
 * The preflight of jobs submitted over ssh runs on the login node (the project's test login node): the
 * endpoint sees curl's requests (User-Agent curl/...), with the API key, and a refusal is one line
 * naming where it was probed; nothing is recorded or staged. `--skip-preflight` still skips it, and
 * `nel resume` probes from the login node too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir } from './support/e2e.js';
import { requireLoginNode, requireSlurm, writeSlurmConfig } from './support/slurm.js';
import { serverPort } from './support/ports.js';

interface Seen {
  method: string;
  url: string;
  agent: string;
  authHash: string | null;
}

/** An OpenAI-like server listing only `other-model`, recording who asked. */
async function listingServer(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    const auth = req.headers.authorization?.replace(/^Bearer /, '');
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      agent: String(req.headers['user-agent'] ?? ''),
      authHash: auth ? createHash('sha256').update(auth).digest('hex') : null,
    });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(req.url === '/v1/models' ? { object: 'list', data: [{ id: 'other-model' }] } : {}),
      );
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

test('over ssh the endpoints are probed from the login node: one line naming it, nothing recorded; --skip-preflight; resume too', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const login = await requireLoginNode(t);
  if (!login) return;
  const s = scratch('nel-slurm-ssh-preflight-');
  const remote = mkdtempSync(join(tmpdir(), 'nel-slurm-remote-'));
  const secret = `pf-${randomBytes(12).toString('hex')}`;
  s.env = { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: login.sshConfigPath, NEL_SLURM_TEST_KEY: secret };
  const srv = await listingServer();
  const where = `the login node ${login.user}@${login.hostAlias}`;
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    const staging = join(s.dir, 'staging');
    const config = (url: string, name: string) =>
      writeSlurmConfig(join(s.dir, name), {
        hostname: login.hostAlias,
        username: login.user,
        outputDir: remote,
        stagingDir: staging,
        tasks: [{ url, limit: 2 }],
        apiKeyName: 'NEL_SLURM_TEST_KEY',
      });

    // the model is not listed: refused, from the login node (curl), with the key in the header
    const cfg = config(srv.url, 'run.json');
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 90_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(
      lines[0],
      `error: preflight: model reference-model is not served by ${srv.url}/v1/models; it lists: other-model (probed from ${where})`,
    );
    assert.match(lines[1]!, /^hint: set target\.api_endpoint\.model_id .*--skip-preflight/);
    const models = srv.seen.filter((x) => x.url === '/v1/models');
    assert.ok(models.length >= 1, JSON.stringify(srv.seen));
    for (const x of srv.seen) {
      assert.match(x.agent, /^curl\//, 'sent by curl on the login node, not by nel here');
      assert.equal(x.authHash, createHash('sha256').update(secret).digest('hex'));
    }
    assert.ok(!existsSync(s.dbPath), 'nothing recorded');
    assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], 'nothing staged');
    assert.deepEqual(readdirSync(remote), [], 'nothing copied to the cluster');

    // nothing listens: the connection error names the login node too
    const port = await serverPort();
    const r2 = await nelAsync(['run', '--config', config(`http://127.0.0.1:${port}`, 'run2.json')], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 90_000,
    });
    assert.equal(r2.code, 1, r2.stdout + r2.stderr);
    assert.match(
      r2.stderr.split('\n')[0]!,
      new RegExp(
        `^error: preflight: cannot connect to http://127\\.0\\.0\\.1:${port}/v1/chat/completions: connection refused \\(probed from ${esc(where)}\\)$`,
      ),
    );
    assert.ok(!existsSync(s.dbPath));

    // --skip-preflight: submitted without asking
    const before = srv.seen.length;
    const r3 = await nelAsync(['run', '--config', cfg, '--skip-preflight'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 90_000,
    });
    assert.equal(r3.code, 0, r3.stdout + r3.stderr);
    const dir = /^Launched 1 job\(s\) on Slurm .*: (\S+)$/m.exec(r3.stdout)?.[1];
    assert.ok(dir, r3.stdout);
    const inv = invocationIdOfDir(dir);
    assert.equal(
      srv.seen.slice(before).filter((x) => x.url === '/v1/models' && /^curl\//.test(x.agent)).length,
      0,
      'no preflight request',
    );
    const k = await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.ok(k.code === 0 || /already/.test(k.stdout + k.stderr), k.stdout + k.stderr);

    // nel resume probes from the login node as well
    const res = await nelAsync(['resume', inv], { cwd: s.dir, env: s.env, timeoutMs: 90_000 });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(
      res.stderr.split('\n')[0]!,
      new RegExp(
        `^error: preflight: model reference-model is not served by .*\\(probed from ${esc(where)}\\)$`,
      ),
    );
    assert.match(res.stderr, /nel resume --skip-preflight/);
  } finally {
    await srv.close();
    rmSync(remote, { recursive: true, force: true });
  }
});
