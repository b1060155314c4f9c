/**
 * Results of jobs on a cluster reached over ssh (the project's test login node; the cluster's output
 * folder is not on nel's side): `nel status` shows their scores (results.yml comes along in the one
 * status command, into the job's local copy), `nel info` their metrics, and `nel export` (json and
 * jsonl) works from the artifacts copied here with one rsync over one master connection, into each
 * job's staged task directory. A login node that does not answer at export time: one line per job,
 * exit 1, nothing written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, startEndpoint } from './support/e2e.js';
import { requireLoginNode, requireSlurm, waitForStatuses, writeSlurmConfig } from './support/slurm.js';

const LIMITS = [4, 6, 8];

const traceOps = (file: string): string =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const j = JSON.parse(l) as { op: string; via: string };
          return `${j.op}:${j.via}`;
        })
        .join(' ')
    : '';

test('over ssh: scores in nel status and nel info, nel export json and jsonl from artifacts fetched here', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const login = await requireLoginNode(t);
  if (!login) return;
  const s = scratch('nel-slurm-ssh-export-');
  const remote = mkdtempSync(join(tmpdir(), 'nel-slurm-remote-'));
  s.env = { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: login.sshConfigPath };
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    const staging = join(s.dir, 'staging');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: login.hostAlias,
      username: login.user,
      outputDir: remote,
      stagingDir: staging,
      tasks: LIMITS.map((limit) => ({ url: ep.url, limit })),
    });
    // --wait: stays attached, then prints each job's scores from the copy of results.yml that the
    // status command brought back from the cluster
    const r = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 150_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout.match(/builtin\.gsm8k: gsm8k_exact_match=0\.5000/g) ?? []).length, 3, r.stdout);
    assert.doesNotMatch(r.stdout, /results on the cluster/);
    const invocationDir = /^Launched 3 job\(s\) on Slurm .*: (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(invocationDir, r.stdout);
    const inv = invocationIdOfDir(invocationDir);
    const stagedInv = join(staging, readdirSync(staging)[0]!);

    await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const bad = st.find((e) => e.status === 'failed' || e.status === 'killed' || e.status === 'unknown');
        if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
        return st.length === 3 && st.every((e) => e.status === 'success');
      },
      120_000,
      'all three jobs to succeed',
    );

    // nel status: the Score column, from results.yml that the (one) status command brought along
    const statusTrace = join(s.dir, 'status.trace');
    const table = await nelAsync(['status', inv], {
      cwd: s.dir,
      env: { ...s.env, NEMO_EVALUATOR_SLURM_TRACE: statusTrace },
      timeoutMs: 60_000,
    });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Score/);
    const rows = table.stdout.split('\n').filter((l) => l.startsWith(inv));
    assert.equal(rows.length, 3, table.stdout);
    for (const row of rows) assert.match(row, /SUCCESS.*0\.5000 /, row);
    assert.equal(traceOps(statusTrace), 'runSync:ssh');
    for (let i = 0; i < 3; i++) {
      const copy = join(stagedInv, `builtin.gsm8k.${i}`, 'artifacts', 'results.yml');
      assert.equal(
        readFileSync(copy, 'utf8'),
        readFileSync(join(invocationDir, `builtin.gsm8k.${i}`, 'artifacts', 'results.yml'), 'utf8'),
      );
    }

    // nel info: the metrics of a job, read from that copy
    const info = await nelAsync(['info', `${inv}.1`], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /Scores of .*\.1 \(builtin\.gsm8k\)/);
    assert.match(info.stdout, /Headline: .* = 0\.5/);

    // nel export --dest local (json): one rsync for the three jobs, over one master connection
    const out = join(s.dir, 'exported');
    const exportTrace = join(s.dir, 'export.trace');
    const ex = await nelAsync(['export', inv, '--dest', 'local', '--output-dir', out], {
      cwd: s.dir,
      env: { ...s.env, NEMO_EVALUATOR_SLURM_TRACE: exportTrace },
      timeoutMs: 90_000,
    });
    assert.equal(ex.code, 0, ex.stdout + ex.stderr);
    assert.match(ex.stdout, /"successful_jobs":3,"failed_jobs":0/);
    assert.equal(traceOps(exportTrace), 'open:ssh fetch:rsync close:ssh');
    const all = JSON.parse(readFileSync(join(out, 'processed_results.json'), 'utf8')) as unknown;
    const text = JSON.stringify(all);
    for (let i = 0; i < 3; i++) {
      assert.match(text, new RegExp(`"${inv}\\.${i}"`));
      const perJob = join(out, inv, `${inv}.${i}`);
      assert.ok(existsSync(join(perJob, 'artifacts', 'results.yml')), `job ${i}: results.yml copied`);
      const one = readFileSync(join(perJob, 'processed_results.json'), 'utf8');
      assert.match(one, /gsm8k[^"]*"\s*:\s*0\.5\b/, one);
    }
    // the local copy: artifacts and logs beside the staged run.sub, without the request cache
    for (let i = 0; i < 3; i++) {
      const copy = join(stagedInv, `builtin.gsm8k.${i}`);
      assert.ok(existsSync(join(copy, 'run.sub')));
      assert.ok(
        existsSync(join(copy, 'artifacts', 'samples.jsonl')),
        readdirSync(join(copy, 'artifacts')).join(' '),
      );
      assert.ok(readdirSync(join(copy, 'logs')).some((f) => /^client-\d+\.log$/.test(f)));
      assert.ok(
        existsSync(join(invocationDir, `builtin.gsm8k.${i}`, 'artifacts', 'cache')),
        'the cluster has a cache',
      );
      assert.ok(!existsSync(join(copy, 'artifacts', 'cache')), 'the request cache is not copied');
    }

    // --format jsonl: every sample of the three jobs
    const outJsonl = join(s.dir, 'exported-jsonl');
    const exj = await nelAsync(['export', inv, '--format', 'jsonl', '--output-dir', outJsonl], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 90_000,
    });
    assert.equal(exj.code, 0, exj.stdout + exj.stderr);
    const lines = readFileSync(join(outJsonl, 'processed_samples.jsonl'), 'utf8').split('\n').filter(Boolean);
    assert.equal(
      lines.length,
      LIMITS.reduce((a, b) => a + b, 0),
    );
    for (let i = 0; i < 3; i++)
      assert.equal(lines.filter((l) => l.includes(`"${inv}.${i}"`)).length, LIMITS[i], `job ${i} rows`);

    // the login node does not answer: one line per job, exit 1, nothing written
    const dead = join(s.dir, 'dead_ssh_config');
    writeFileSync(dead, readFileSync(login.sshConfigPath, 'utf8').replace(/^(\s*)Port \d+$/m, '$1Port 1'));
    const outDead = join(s.dir, 'exported-dead');
    const exd = await nelAsync(['export', inv, '--output-dir', outDead], {
      cwd: s.dir,
      env: { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: dead },
      timeoutMs: 60_000,
    });
    assert.equal(exd.code, 1, exd.stdout + exd.stderr);
    const errs = exd.stderr.trimEnd().split('\n');
    assert.equal(errs.length, 3, exd.stderr);
    for (const e of errs) assert.match(e, /^error: .*cannot reach the login node .*Connection refused/, e);
    assert.ok(!existsSync(outDead), 'nothing written');
  } finally {
    await ep.close();
    rmSync(remote, { recursive: true, force: true });
  }
});
