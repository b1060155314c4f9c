/**
 * A bad-reply episode end to end through `nel run --wait`, on the host and in Docker: a hostile endpoint
 * answers some samples with 200s that are not completions (an HTML proxy page, `choices: []`), the run
 * fails with that cause where the user looks (`--wait` and `nel status`), the endpoint recovers, and
 * `nel resume` gives exactly the score of an uninterrupted run, with every sample really answered by the
 * endpoint (nothing bad was replayed from the cache).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import { invocationIdOfDir, launchedDir, statusJson, taskDirs } from './support/e2e.js';
import { startHostileEndpoint, type HostileEndpoint, type Plan } from './support/hostile-endpoint.js';
import { samplesOf, scoreOf, workspace, type Workspace } from './engine-hostile-support.js';

const N = 12;
let ws: Workspace;
let server: HostileEndpoint;

before(async () => {
  ws = workspace(N);
  server = await startHostileEndpoint();
});
after(async () => {
  await server.close();
  rmSync(ws.dir, { recursive: true, force: true });
});

/** Samples 4, 8 and 12 get a proxy page or an empty choice list, whatever the number of retries. */
const BAD_EPISODE: Plan = ({ prompt }) => {
  const m = /^What is (\d+)\+/.exec(prompt);
  const i = m ? Number(m[1]) : 0;
  if (i % 4 !== 0) return { kind: 'ok' };
  return i === 8 ? { kind: 'empty_choices' } : { kind: 'non_json' };
};

function writeConfig(file: string, outputDir: string, useDocker: boolean): void {
  const config = {
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: { output_dir: outputDir, use_docker: useDocker, extra_docker_args: '--network host' },
    target: { api_endpoint: { model_id: 'hostile-model', url: server.url } },
    evaluation: {
      nemo_evaluator_config: {
        config: {
          params: {
            parallelism: 4,
            request_timeout: 10,
            max_retries: 2,
            extra: {
              dataset_path: 'sums.jsonl',
              prompt_template: '{q}',
              target_field: 'answer',
              scorer: 'number',
              retry_base_seconds: 0.05,
              retry_cap_seconds: 0.2,
            },
          },
        },
      },
      tasks: [{ name: 'builtin.custom', dataset_dir: ws.dir }],
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
}

/** The score of the same replies without any episode (host mode, a fresh output dir). */
let uninterrupted: number | null = null;

async function runUninterrupted(): Promise<number> {
  if (uninterrupted !== null) return uninterrupted;
  server.setPlan(() => ({ kind: 'ok' }));
  const s = scratch('nel-hostile-clean-');
  const cfg = join(s.dir, 'clean.json');
  writeConfig(cfg, join(s.dir, 'out'), false);
  const r = await nelAsync(['run', '--config', cfg, '--wait'], {
    cwd: s.dir,
    env: s.env,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  uninterrupted = scoreOf(join(taskDirs(launchedDir(r))[0]!, 'artifacts'));
  rmSync(s.dir, { recursive: true, force: true });
  return uninterrupted;
}

for (const mode of ['host', 'docker'] as const) {
  test(`${mode}: a bad-reply episode fails with its cause; after recovery, resume gives the uninterrupted score`, async (t) => {
    if (mode === 'docker' && !engineImage(t)) return;
    const expected = await runUninterrupted();
    const s = scratch(`nel-hostile-${mode}-`);
    const cfg = join(s.dir, 'c.json');
    writeConfig(cfg, join(s.dir, 'out'), mode === 'docker');
    server.setPlan(BAD_EPISODE);
    const sentBefore = server.requests.length;
    try {
      const failed = await nelAsync(['run', '--config', cfg, '--wait'], {
        cwd: s.dir,
        env: s.env,
        timeoutMs: 180_000,
      });
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      // A fast failure is reported by the launch check itself (before "Launched"), a slower one by --wait.
      const atLaunch = !/^Launched/m.test(failed.stdout);
      const out = join(s.dir, 'out');
      const invDir = atLaunch ? join(out, readdirSync(out)[0]!) : launchedDir(failed);
      const inv = invocationIdOfDir(invDir);
      // The cause is on screen: the engine's own line about the reply that was not a completion.
      assert.match(
        failed.stdout + failed.stderr,
        /(✗ \S+|^ {2}\S+ builtin\.custom): .*(not a valid completion|not JSON|no choices)/im,
      );
      const st = statusJson([inv], { cwd: s.dir, env: s.env });
      assert.equal(st[0]!.status, 'failed');
      const cause = (st[0] as unknown as { cause?: string }).cause ?? '';
      assert.match(cause, /not a valid completion|not JSON|no choices/i, cause);
      // Retried for real: each bad sample reached the server 1 + max_retries times (none came from a cache).
      const episode = server.requests.slice(sentBefore);
      for (const i of [4]) {
        const p = ws.prompts[i - 1]!;
        assert.ok(episode.filter((r) => r.prompt === p).length >= 3, `sample ${i} was sent 3 times`);
      }

      server.setPlan(() => ({ kind: 'ok' }));
      const resumedFrom = server.requests.length;
      const resumed = await nelAsync(['resume', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.match(resumed.stdout, /✓ Resumed/);
      let final = statusJson([inv], { cwd: s.dir, env: s.env });
      for (let i = 0; i < 240 && final[0]!.status !== 'success' && final[0]!.status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 250));
        final = statusJson([inv], { cwd: s.dir, env: s.env });
      }
      assert.equal(final[0]!.status, 'success', JSON.stringify(final[0]));
      const artifacts = join(taskDirs(invDir)[0]!, 'artifacts');
      assert.equal(scoreOf(artifacts), expected, 'the rerun scores as an uninterrupted run');
      // Every sample was really answered by the endpoint, and no reply came from a replayed fault.
      const answered = server.answeredPrompts();
      for (const p of ws.prompts) assert.ok(answered.has(p), `"${p}" was answered`);
      const samples = samplesOf(artifacts);
      assert.equal(samples.length, N);
      for (const smp of samples) {
        assert.ok(!smp.error && !(smp.flags ?? []).length, JSON.stringify(smp));
        assert.match(String(smp.responses[0]), /^The answer is \d+$/);
      }
      // The rerun asked again only for what had not been answered (the good replies came from the cache),
      // and the samples that had failed were really sent again.
      const answeredBefore = new Set(episode.filter((r) => r.answered).map((r) => r.prompt));
      const rerunPrompts = new Set(
        server.requests
          .slice(resumedFrom)
          .filter((r) => r.prompt.startsWith('What is'))
          .map((r) => r.prompt),
      );
      for (const p of rerunPrompts)
        assert.ok(!answeredBefore.has(p), `"${p}" was answered before, not asked again`);
      assert.ok(rerunPrompts.has(ws.prompts[3]!), 'the failed sample was sent again');
      assert.doesNotMatch(readFileSync(join(artifacts, 'results.yml'), 'utf8'), /failed_samples/);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
}
