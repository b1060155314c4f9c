/**
 * `nel export` through the real CLI on the job dirs of a real host-mode run: the destination registry,
 * copy_artifacts / only_required / copy_logs, upstream's flag spellings and --job-dirs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { nel, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, launchedDir, startEndpoint, writeE2eConfig } from './support/e2e.js';

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

test('nel export: registry dispatch, copy options and upstream flags on a real run', async () => {
  const s = scratch('nel-export-cli-');
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [
        { benchmark: 'gsm8k', endpoint: ep, limit: 4 },
        { benchmark: 'gsm8k', endpoint: ep, limit: 2 },
      ],
    });
    const run = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 240_000,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const invDir = launchedDir(run);
    const inv = invocationIdOfDir(invDir);
    const task0 = join(
      invDir,
      readdirSync(invDir).find((n) => n.endsWith('.0'))!,
    );
    const x = (args: string[]) => nel(['export', inv, ...args], { cwd: s.dir, env: s.env });

    // An unknown destination: one line listing the available ones, non-zero, nothing written.
    const unknown = x(['--dest', 'wandb', '--output-dir', join(s.dir, 'never')]);
    assert.notEqual(unknown.code, 0);
    assert.deepEqual(lines(unknown.stderr), [
      "error: exporter 'wandb' is not in this build (upstream's mlflow, wandb, gsheets and jet exporters are left out); available: local",
      "hint: export with --dest local (--format json, csv or jsonl) and log the files with the service's own client",
    ]);
    assert.ok(!existsSync(join(s.dir, 'never')));
    const typo = x(['--dest', 'lcoal', '--output-dir', join(s.dir, 'never')]);
    assert.notEqual(typo.code, 0);
    assert.deepEqual(lines(typo.stderr), [
      "error: no exporter 'lcoal'; available: local",
      'hint: use one of: local',
    ]);
    assert.ok(!existsSync(join(s.dir, 'never')));

    // Defaults: the required artifacts are copied beside each job's summary; logs are not.
    const def = x(['--output-dir', join(s.dir, 'def')]);
    assert.equal(def.code, 0, def.stdout + def.stderr);
    const job0 = join(s.dir, 'def', inv, `${inv}.0`);
    assert.deepEqual(readdirSync(join(job0, 'artifacts')).sort(), [
      'eval_factory_metrics.json',
      'results.yml',
    ]);
    assert.ok(!existsSync(join(job0, 'logs')));
    assert.ok(existsSync(join(s.dir, 'def', 'processed_results.json')));
    assert.match(def.stdout, /Export completed: \{"successful_jobs":2,"failed_jobs":0,"skipped_jobs":0\}/);

    // --only-required false copies every artifact; --copy-logs copies the top-level log files.
    const all = x(['--output-dir', join(s.dir, 'all'), '--only-required', 'false', '--copy-logs']);
    assert.equal(all.code, 0, all.stdout + all.stderr);
    const allJob = join(s.dir, 'all', inv, `${inv}.0`);
    const srcArtifacts = readdirSync(join(task0, 'artifacts')).sort();
    assert.deepEqual(readdirSync(join(allJob, 'artifacts')).sort(), srcArtifacts);
    assert.ok(srcArtifacts.includes('run_config.yml'));
    const srcLogs = readdirSync(join(task0, 'logs')).filter((n) => !n.startsWith('.'));
    assert.ok(srcLogs.includes('stdout.log'));
    assert.ok(readdirSync(join(allJob, 'logs')).includes('stdout.log'));

    // --copy-artifacts false, also through -o and a --config file: only the summaries.
    const none = x(['--output-dir', join(s.dir, 'none'), '--copy-artifacts', 'false']);
    assert.equal(none.code, 0, none.stderr);
    assert.deepEqual(readdirSync(join(s.dir, 'none', inv, `${inv}.0`)), ['processed_results.json']);
    const viaO = x(['--output-dir', join(s.dir, 'viao'), '-o', 'export.local.copy_artifacts=false']);
    assert.equal(viaO.code, 0, viaO.stderr);
    assert.deepEqual(readdirSync(join(s.dir, 'viao', inv, `${inv}.0`)), ['processed_results.json']);
    const badBool = x(['--output-dir', join(s.dir, 'bad'), '--copy-logs', 'maybe']);
    assert.notEqual(badBool.code, 0);
    assert.match(lines(badBool.stderr)[0]!, /--copy-logs takes true or false, not 'maybe'/);

    // Upstream's `-out D` and `-fname F` are the long flags, not `-o ut` / `-f name`.
    const up = x(['--format', 'csv', '-out', join(s.dir, 'up'), '-fname', 'scores.csv']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const csv = parseCsv(readFileSync(join(s.dir, 'up', 'scores.csv'), 'utf8')) as string[][];
    assert.equal(csv.length, 3, 'header and two jobs');
    assert.equal(csv[0]![6], 'Job ID');
    // `-f` is the short form of --output-filename.
    const short = x(['-f', 'short.json', '--output-dir', join(s.dir, 'short')]);
    assert.equal(short.code, 0, short.stderr);
    assert.ok(existsSync(join(s.dir, 'short', 'short.json')));

    // Jobs missing from the exec DB are found under --job-dirs, with the same copies.
    const noDb = { ...s.env, NEMO_EVALUATOR_EXEC_DB_FILE: join(s.dir, 'empty.jsonl') };
    const dirs = nel(
      ['export', `${inv}.1`, '--job-dirs', join(s.dir, 'out'), '--output-dir', join(s.dir, 'jd')],
      {
        cwd: s.dir,
        env: noDb,
      },
    );
    assert.equal(dirs.code, 0, dirs.stdout + dirs.stderr);
    assert.ok(existsSync(join(s.dir, 'jd', inv, `${inv}.1`, 'artifacts', 'results.yml')));
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
