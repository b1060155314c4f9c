/**
 * Hand-made invocations for the job-management tests: the same layout and stage-file behaviour as the
 * generated scripts (run.sh per task, run_all.sequential.sh, killed_jobs.txt, stage.*, stage.pid in host
 * mode), with a task body chosen by the test.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { shQuote } from '../src/common/shell.js';
import type { InvocationPlan, JobPlan } from '../src/launcher/types.js';

export interface FixtureTask {
  name: string;
  /** Shell run as the "engine" (cwd = task dir); its output goes to logs/client_stdout.log. */
  body: string;
  /** Host mode: run the body in the background and write its PID to logs/stage.pid. */
  hostPid?: boolean;
}

export function tempRoot(prefix = 'nel-jobs-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A body that answers `total` requests, one per `sleep` seconds, then writes results.yml. */
export function countingBody(total: number, sleep: number, exitCode = 0, score = 0.5): string {
  return [
    `echo ${total} > artifacts/progress_total`,
    `for i in $(seq 1 ${total}); do echo "request $i"; echo $i > artifacts/progress; sleep ${sleep}; done`,
    `cat > artifacts/results.yml <<'YAML'`,
    `results:`,
    `  tasks:`,
    `    demo:`,
    `      metrics:`,
    `        accuracy:`,
    `          scores:`,
    `            accuracy:`,
    `              value: ${score}`,
    `YAML`,
    `exit ${exitCode}`,
  ].join('\n');
}

function taskBlock(jobId: string, name: string, taskDir: string, task: FixtureTask): string {
  const engine = task.hostPid
    ? `bash -c ${shQuote(task.body)} >> logs/client_stdout.log 2>&1 &\n    echo $! > logs/stage.pid\n    wait $!`
    : `bash -c ${shQuote(task.body)} >> logs/client_stdout.log 2>&1`;
  return `
# ${jobId} ${name}
task_dir=${shQuote(taskDir)}
cd "$task_dir"
if [ -f "$killed_jobs_file" ] && grep -qxF ${shQuote(jobId)} "$killed_jobs_file"; then
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) Job ${jobId} (${name}) was killed, skipping execution" | tee -a logs/stdout.log
else
  date -u +%Y-%m-%dT%H:%M:%SZ > logs/stage.pre-start
  (
    date -u +%Y-%m-%dT%H:%M:%SZ > logs/stage.running
    ${engine}
    exit_code=$?
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $exit_code" > logs/stage.exit
  ) >> logs/stdout.log 2>&1
fi
`;
}

function header(taskDirs: string[]): string {
  return (
    `script_dir="$(cd "$(dirname "$0")" && pwd)"\nkilled_jobs_file="$script_dir/killed_jobs.txt"\nrm -f "$killed_jobs_file"\n` +
    taskDirs
      .map(
        (d) =>
          `mkdir -p ${shQuote(d)}/logs ${shQuote(d)}/artifacts; touch ${shQuote(d)}/logs/client_stdout.log\n`,
      )
      .join('')
  );
}

export interface Fixture {
  plan: InvocationPlan;
  invocationDir: string;
  dbPath: string;
  root: string;
}

/** Write an invocation (scripts only, like writeInvocationPlan) and return its plan. */
export function makeInvocation(opts: {
  root?: string;
  tasks: FixtureTask[];
  mode?: 'sequential' | 'parallel';
  invocationId?: string;
  useDocker?: boolean;
}): Fixture {
  const root = opts.root ?? tempRoot();
  const inv = opts.invocationId ?? randomBytes(8).toString('hex');
  const invocationDir = join(root, 'out', `20260101_000000-${inv}`);
  mkdirSync(invocationDir, { recursive: true });
  const mode = opts.mode ?? 'sequential';
  const jobs: JobPlan[] = opts.tasks.map((t, i) => ({
    index: i,
    jobId: `${inv}.${i}`,
    taskName: t.name,
    uniqueName: `${t.name}.${i}`,
    taskDir: join(invocationDir, `${t.name}.${i}`),
    task: { name: t.name } as unknown as JobPlan['task'],
    evalImage: 'nel-test-tiny:latest',
    builtinAlternative: '',
    containerName: `client-${t.name}-x`,
    env: [],
    engineConfig: {},
  }));
  const files: InvocationPlan['files'] = [];
  jobs.forEach((j, i) => {
    mkdirSync(j.taskDir, { recursive: true });
    const text = header([j.taskDir]) + taskBlock(j.jobId, j.taskName, j.taskDir, opts.tasks[i]!);
    files.push({ path: join(j.taskDir, 'run.sh'), text, mode: 0o755 });
  });
  if (mode === 'sequential') {
    const text =
      header(jobs.map((j) => j.taskDir)) +
      jobs.map((j, i) => taskBlock(j.jobId, j.taskName, j.taskDir, opts.tasks[i]!)).join('');
    files.push({ path: join(invocationDir, 'run_all.sequential.sh'), text, mode: 0o755 });
  }
  for (const f of files) {
    writeFileSync(f.path, f.text);
    chmodSync(f.path, f.mode ?? 0o644);
  }
  const plan: InvocationPlan = {
    invocationId: inv,
    invocationDir,
    outputDir: join(root, 'out'),
    mode,
    maxParallelTasks: null,
    useDocker: opts.useDocker ?? false,
    jobs,
    resolvedConfig: {
      evaluation: { tasks: opts.tasks.map((t) => ({ name: t.name })) },
      target: { api_endpoint: { model_id: 'test/model' } },
      execution: { output_dir: join(root, 'out') },
    },
    files,
    entryScripts:
      mode === 'sequential'
        ? [join(invocationDir, 'run_all.sequential.sh')]
        : jobs.map((j) => join(j.taskDir, 'run.sh')),
    warnings: [],
    missingHostVars: [],
    unlistedTasks: [],
    hasPrePostCmd: false,
  };
  return { plan, invocationDir, dbPath: join(root, 'exec.v1.jsonl'), root };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 100 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

export const testEnv = (dbPath: string): NodeJS.ProcessEnv => ({
  ...process.env,
  NEMO_EVALUATOR_EXEC_DB_FILE: dbPath,
});
