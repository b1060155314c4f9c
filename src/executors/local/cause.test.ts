import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskNameOf, type JobRecord } from '../../launcher/exec-db.js';
import { readJobStatus } from '../../launcher/job-status.js';
import { builtinAlternativeHint } from '../../tasks/builtin-equivalent.js';
import { jobCause, splitErrorLine } from './cause.js';

function job(files: Record<string, string>, data: Record<string, unknown> = {}): JobRecord {
  const dir = mkdtempSync(join(tmpdir(), 'nel-cause-'));
  const taskDir = join(dir, 'humaneval.0');
  mkdirSync(join(taskDir, 'logs'), { recursive: true });
  mkdirSync(join(taskDir, 'artifacts'), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(taskDir, f), text);
  return {
    invocation_id: 'abcd',
    job_id: 'abcd.0',
    timestamp: 1700000000,
    executor: 'local',
    data: { output_dir: taskDir, eval_image: 'nvcr.io/nvidia/eval-factory/x:1', use_docker: true, ...data },
    config: { evaluation: { tasks: [{ name: 'humaneval' }] } },
  };
}

test('splitErrorLine takes the trailing hint off', () => {
  assert.deepEqual(splitErrorLine('endpoint said 404 (hint: check the URL)'), {
    cause: 'endpoint said 404',
    hint: 'check the URL',
  });
  assert.deepEqual(splitErrorLine('plain'), { cause: 'plain' });
});

test("Docker's own errors are classified: image, name conflict, mount", () => {
  const pullRec = job({
    'logs/client_stdout.log':
      "Unable to find image 'nvcr.io/nvidia/eval-factory/x:1' locally\n" +
      'docker: Error response from daemon: pull access denied for nvcr.io/nvidia/eval-factory/x, repository does not exist.\n' +
      "See 'docker run --help'.\n",
  });
  pullRec.data.builtin_alternative = builtinAlternativeHint(taskNameOf(pullRec)!);
  const pull = jobCause(pullRec, 125);
  assert.match(
    pull.cause,
    /^image nvcr\.io\/nvidia\/eval-factory\/x:1 is not present on this machine and could not be pulled: pull access denied/,
  );
  assert.match(
    pull.hint!,
    /docker login nvcr\.io.*docker pull nvcr\.io\/nvidia\/eval-factory\/x:1.*builtin\.humaneval/,
  );
  const conflict = jobCause(
    job({
      'logs/client_stdout.log':
        'docker: Error response from daemon: Conflict. The container name "/client-x" is already in use by container "abc".\n',
    }),
    125,
  );
  assert.match(conflict.cause, /container name is already in use/);
  assert.equal(conflict.hint, 'remove the old container (docker rm -f client-x) and run again');
  const mount = jobCause(
    job({
      'logs/client_stdout.log':
        'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /nope.\n',
    }),
    125,
  );
  assert.match(mount.cause, /^docker could not mount a volume: .*\/nope/);
});

test("the engine's last error line wins over the script's, which wins over the exit code", () => {
  const engine = jobCause(
    job({
      'logs/client_stdout.log':
        '[I 2026-01-01T00:00:00Z] start\nerror: first\nerror: endpoint answered 404 (hint: check the URL path)\n',
      'logs/stdout.log': 'error: something else\n',
    }),
    1,
  );
  assert.deepEqual([engine.cause, engine.hint], ['endpoint answered 404', 'check the URL path']);
  const script = jobCause(
    job({
      'logs/stdout.log':
        'error: environment variable K is not set (needed by target.api_endpoint.api_key_name)\n',
    }),
    1,
  );
  assert.equal(
    script.cause,
    'environment variable K is not set (needed by target.api_endpoint.api_key_name)',
  );
  const none = jobCause(job({}), 3);
  assert.match(none.cause, /exit code 3/);
});

test('stage.lost reads as FAILED with its cause', () => {
  const rec = job({
    'logs/stage.running': 't\n',
    'logs/stage.lost':
      "error: the job's processes are gone (killed?) (hint: nel resume abcd continues from the cache)\n",
  });
  assert.equal(readJobStatus(rec).state, 'failed');
  const c = jobCause(rec, null);
  assert.equal(c.cause, "the job's processes are gone (killed?)");
  assert.equal(c.hint, 'nel resume abcd continues from the cache');
});

test('a failed pull of an upstream task with a built-in equivalent suggests --builtin-engine', () => {
  const rec = job({
    'logs/client_stdout.log':
      "Unable to find image 'nvcr.io/nvidia/eval-factory/simple-evals:25.10' locally\n" +
      'docker: Error response from daemon: unauthorized: authentication required.\n',
  });
  rec.data.eval_image = 'nvcr.io/nvidia/eval-factory/simple-evals:25.10';
  // the record carries what nel run worked out at launch (plan.ts -> data.builtin_alternative)
  rec.data.builtin_alternative = builtinAlternativeHint('simple_evals.gpqa_diamond');
  const cause = jobCause(rec, 125);
  assert.match(
    cause.hint!,
    /docker login nvcr\.io.*nel run \.\.\. --builtin-engine \(its equivalent there: gpqa_diamond/,
  );
  rec.data.builtin_alternative = builtinAlternativeHint('simple_evals.humanevalplus');
  assert.match(jobCause(rec, 125).hint!, /has no humanevalplus task yet \(nel ls tasks --builtin-engine/);
  assert.match(builtinAlternativeHint('builtin.gsm8k'), /drop the task's container/);
  // a record written without it still gets a pointer to the built-in engine
  delete rec.data.builtin_alternative;
  assert.match(
    jobCause(rec, 125).hint!,
    /docker login nvcr\.io.*--builtin-engine \(nel ls tasks --builtin-engine/,
  );
});

test("a model server that died is named with its own log's last error and hint", () => {
  const died = jobCause(
    job({
      'logs/stdout.log': 'Starting the model server\nServer process 4242 died\n',
      'logs/server_stdout.log':
        'loading\nerror: no model file at /models/x.gguf\nhint: give a GGUF model file (--model FILE.gguf)\n',
    }),
    1,
  );
  assert.equal(died.cause, 'Server process 4242 died; its log ends: no model file at /models/x.gguf');
  assert.match(
    died.hint ?? '',
    /^give a GGUF model file \(--model FILE\.gguf\) \(see .*server_stdout\.log\)$/,
  );
  const silent = jobCause(
    job({ 'logs/stdout.log': 'Health check timeout after 30s\n', 'logs/server_stdout.log': 'warming up\n' }),
    1,
  );
  assert.equal(
    silent.cause,
    'the model server never became healthy (Health check timeout after 30s); its log ends: warming up',
  );
  assert.match(silent.hint ?? '', /^see .*server_stdout\.log$/);
});
