/**
 * `execution.type: slurm` over ssh: the login node of the project's test cluster (sshd on 127.0.0.1,
 * reached through an ssh_config named by NEMO_EVALUATOR_SSH_CONFIG) takes the submission. The
 * invocation is staged in one folder on this machine and copied (rsync) into a separate output folder
 * on the cluster; the key's value travels on ssh's standard input into sbatch's environment only. Status,
 * logs and info go over ssh too. A login node that does not answer fails in one line, with nothing
 * recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFiles, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import { requireLoginNode, requireSlurm, waitForStatuses, writeSlurmConfig } from './support/slurm.js';

const LIMITS = [4, 6, 8, 10];

/** A port nothing listens on (bound, then released). */
async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('over ssh to the login node: staged here, copied to the cluster, all SUCCESS; status, logs and info over ssh', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const login = await requireLoginNode(t);
  if (!login) return;
  const s = scratch('nel-slurm-ssh-');
  // the cluster's side: a folder of its own (the login node and the nodes are this machine)
  const remote = mkdtempSync(join(tmpdir(), 'nel-slurm-remote-'));
  const secret = `slurm-ssh-${randomBytes(12).toString('hex')}`;
  // no SLURM_CONF here: only the login node's sessions know the cluster
  s.env = { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: login.sshConfigPath, NEL_SLURM_TEST_KEY: secret };
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    const staging = join(s.dir, 'staging');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: login.hostAlias,
      username: login.user,
      outputDir: remote,
      stagingDir: staging,
      tasks: LIMITS.map((limit) => ({ url: ep.url, limit })),
      apiKeyName: 'NEL_SLURM_TEST_KEY',
    });
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = new RegExp(
      `^Launched 4 job\\(s\\) on Slurm \\(${login.user}@${login.hostAlias}; Slurm jobs ([\\d ]+)\\): (\\S+)$`,
      'm',
    ).exec(r.stdout);
    assert.ok(m, r.stdout);
    const invocationDir = m[2]!;
    assert.ok(invocationDir.startsWith(remote + '/'), invocationDir);
    const inv = invocationIdOfDir(invocationDir);
    // the staged copy stays here, the cluster got its own copy
    const stagedInv = join(staging, readdirSync(staging)[0]!);
    assert.equal(invocationIdOfDir(stagedInv), inv);
    for (let i = 0; i < LIMITS.length; i++) {
      assert.ok(existsSync(join(stagedInv, `builtin.gsm8k.${i}`, 'run.sub')));
      assert.ok(existsSync(join(invocationDir, `builtin.gsm8k.${i}`, 'run.sub')));
    }
    const recs = readFileSync(s.dbPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { data: Record<string, unknown> });
    assert.equal(recs.length, 4);
    for (const rec of recs) {
      assert.equal(rec.data.submission, 'ssh');
      assert.equal(rec.data.hostname, login.hostAlias);
      assert.equal(rec.data.output_dir, undefined, 'no local path recorded for a remote job');
    }

    const final = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const bad = st.find((e) => e.status === 'failed' || e.status === 'killed' || e.status === 'unknown');
        if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
        return st.length === 4 && st.every((e) => e.status === 'success');
      },
      120_000,
      'all four jobs to succeed',
    );
    final.forEach((e, i) =>
      assert.deepEqual(e.progress, { progress: LIMITS[i], total: LIMITS[i], percent: 100 }),
    );
    for (let i = 0; i < LIMITS.length; i++)
      assert.equal(scoreOf(join(invocationDir, `builtin.gsm8k.${i}`), 'gsm8k'), 0.5, `job ${i}`);

    const hash = createHash('sha256').update(secret).digest('hex');
    assert.ok(ep.stats().auth_seen.includes(hash), 'the endpoint saw the API key');
    for (const [root, files] of [
      [s.dir, listFiles(s.dir)],
      [remote, listFiles(remote)],
    ] as const)
      for (const f of files)
        assert.ok(!readFileSync(join(root, f)).includes(secret), `the secret value is in ${join(root, f)}`);

    // nel logs over ssh: the jobs are done, so it prints the engines' last lines and ends
    const logs = await nelAsync(['logs', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(logs.code, 0, logs.stderr);
    for (let i = 0; i < LIMITS.length; i++)
      assert.match(logs.stdout, new RegExp(`^${inv.slice(0, 6)}\\.${i}: .*evaluation finished`, 'm'));

    // nel info copies the artifacts back over rsync
    const copies = join(s.dir, 'copies');
    const info = await nelAsync(['info', `${inv}.1`, '--copy-artifacts', copies], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 60_000,
    });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /Status: success/);
    assert.ok(existsSync(join(copies, `${inv}.1`, 'artifacts', 'results.yml')), info.stdout);
  } finally {
    await ep.close();
    rmSync(remote, { recursive: true, force: true });
  }
});

test('a login node that does not answer: one line, in bounded time, nothing recorded or staged', async (t) => {
  const login = await requireLoginNode(t);
  if (!login) return;
  const s = scratch('nel-slurm-dead-');
  const port = await unusedPort();
  const deadConfig = join(s.dir, 'ssh_config');
  writeFileSync(
    deadConfig,
    readFileSync(login.sshConfigPath, 'utf8')
      .replace(/^Host .*$/m, 'Host nel-slurm-dead')
      .replace(/^(\s*)Port \d+$/m, `$1Port ${port}`),
  );
  s.env = { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: deadConfig };
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const staging = join(s.dir, 'staging');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: 'nel-slurm-dead',
      username: login.user,
      outputDir: join(s.dir, 'never'),
      stagingDir: staging,
      tasks: [{ url: ep.url, limit: 2 }],
    });
    // bounded: ssh's own connect timeout would end a silent host too; a refused port ends at once
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 45_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      new RegExp(
        `^error: cannot reach the login node ${login.user}@nel-slurm-dead over ssh: ssh: connect to host 127\\.0\\.0\\.1 port ${port}: Connection refused$`,
      ),
    );
    assert.match(lines[1] ?? '', /^hint: check execution\.hostname and execution\.username/);
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(!existsSync(s.dbPath), 'nothing recorded');
    assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], 'nothing left staged');
    assert.ok(!existsSync(join(s.dir, 'never')));
  } finally {
    await ep.close();
  }
});
