import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobResultsDirs } from '../api/jobs.js';
import { runEval } from '../api/run.js';
import { shJoin } from '../common/shell.js';
import { parseYaml } from '../common/yaml.js';
import type { StatusEntry } from '../executors/types.js';
import { extractAccuracyMetrics } from '../exporters/metrics.js';
import type { InvocationPlan } from '../launcher/types.js';
import { createProgressRenderer, waitForInvocation } from '../launcher/wait.js';
import { c, followUpCommands } from './output.js';
import { formatStatusTable } from './status.js';

interface RunFlags {
  config?: string;
  configDir?: string;
  configName?: string;
  configMode?: string;
  override: string[];
  tasks: string[];
  dryRun?: boolean;
  envFile?: string;
  docker: boolean;
  builtinEngine?: boolean;
  wait?: boolean;
  configOutput?: string;
  skipPreflight?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The scores of each finished job, from its artifacts/results.yml. */
export function formatScores(plan: InvocationPlan, statuses: StatusEntry[] = []): string {
  const lines: string[] = [];
  const dirs = jobResultsDirs(plan.jobs.map((j) => j.jobId));
  for (const job of plan.jobs) {
    // where the job's results are on this machine: its record's output_dir, or the local copy its
    // executor keeps of a job on a remote cluster (nel status brings results.yml back there)
    const data = statuses.find((s) => s.job_id === job.jobId)?.data ?? {};
    const taskDir = dirs.get(job.jobId);
    if (taskDir === undefined || !existsSync(join(taskDir, 'artifacts', 'results.yml'))) {
      const where =
        typeof data.remote_rundir_path === 'string'
          ? `results on the cluster in ${data.remote_rundir_path}/artifacts`
          : 'no results';
      lines.push(`${job.jobId} ${job.taskName}: ${where}`);
      continue;
    }
    const file = join(taskDir, 'artifacts', 'results.yml');
    try {
      const metrics = extractAccuracyMetrics(parseYaml(readFileSync(file, 'utf8'), file), file);
      const main = Object.entries(metrics).filter(
        ([k]) => !/_(stderr|stddev|count|mean|sum|sum_squared|variance|min|max)$/.test(k),
      );
      const shown = main.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`).join('  ');
      lines.push(`${job.jobId} ${job.taskName}: ${shown || '(no metrics)'}`);
    } catch (e) {
      lines.push(`${job.jobId} ${job.taskName}: unreadable results (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an evaluation from a YAML config (or --dry-run to write and show the scripts only)')
    .option(
      '--config <path>',
      'the config file (Hydra mode: groups are looked up beside it, then in the packaged ones)',
    )
    .option('-d, --config-dir <dir>', 'directory of the config (with --config-name; the v0.1 form)')
    .option('-c, --config-name <name>', 'config name without .yaml, inside --config-dir')
    .option(
      '--config-mode <mode>',
      'hydra (compose defaults, apply -o) or raw (a complete YAML as-is)',
      'hydra',
    )
    .option(
      '-o, --override <key=value>',
      'Hydra-style override, repeatable (a.b=v, +a.b=v, ++a.b=v, ~a.b, group=option)',
      collect,
      [],
    )
    .option('-t, --tasks <name>', 'run only these tasks (name, or name.index), repeatable', collect, [])
    .option('-n, --dry-run', 'write the scripts and print them and the resolved config; launch nothing')
    .option(
      '--env-file <path>',
      'load variables from this file (default ./.env when present; never overrides set ones)',
    )
    .option('--no-docker', 'run the engine on the host instead of in containers (execution.use_docker=false)')
    .option(
      '--builtin-engine',
      "run upstream tasks on this tool's engine where it has an equivalent (execution.builtin_engine=true; `nel ls tasks --builtin-engine` lists them)",
    )
    .option(
      '--wait',
      'stay attached: show live progress and the scores; exit non-zero unless every task succeeds',
    )
    .option(
      '--skip-preflight',
      'do not probe the endpoints before launching (also NEMO_EVALUATOR_SKIP_PREFLIGHT=1)',
    )
    .option(
      '--config-output <dir>',
      'where to save the resolved run config (default ~/.nemo-evaluator/run_configs)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  nel run --config examples/local_builtin.yaml --wait\n' +
        '  nel run --config-dir examples --config-name local_llama_3_1_8b_instruct -o target.api_endpoint.api_key_name=API_KEY --dry-run\n' +
        '  nel run --config my.yaml -o evaluation.tasks.gsm8k.nemo_evaluator_config.config.params.limit_samples=20 -t gsm8k',
    )
    .action(async (flags: RunFlags) => {
      const mode = flags.configMode === 'raw' ? 'raw' : flags.configMode === 'hydra' ? 'hydra' : undefined;
      if (!mode) {
        process.stderr.write(`error: --config-mode must be hydra or raw (got '${flags.configMode}')\n`);
        process.exitCode = 2;
        return;
      }
      const result = await runEval({
        config: flags.config,
        configDir: flags.configDir,
        configName: flags.configName,
        configMode: mode,
        overrides: flags.override,
        tasks: flags.tasks,
        dryRun: flags.dryRun,
        envFile: flags.envFile,
        noDocker: flags.docker === false,
        builtinEngine: !!flags.builtinEngine,
        configOutput: flags.configOutput,
        skipPreflight: !!flags.skipPreflight,
        launcherCommand: shJoin(['nel', ...process.argv.slice(2)]),
      });
      for (const w of result.warnings) process.stderr.write(`${c.yellow('warning:')} ${w}\n`);
      if (result.dryRunText !== undefined) {
        process.stdout.write(result.dryRunText);
        return;
      }
      const { plan } = result;
      const where = result.launched?.where ?? (plan.useDocker ? 'in Docker' : 'on the host');
      const dir = result.launched?.invocationDir ?? plan.invocationDir;
      process.stdout.write(`Launched ${plan.jobs.length} job(s) ${where}: ${dir}\n`);
      if (!flags.wait) {
        process.stdout.write(followUpCommands(plan.invocationId, plan.jobs).join('\n') + '\n');
        process.stdout.write(
          `${c.green('✓')} Job submission successful | Invocation ID: ${plan.invocationId}\n`,
        );
        return;
      }
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      let statuses: StatusEntry[];
      try {
        statuses = await waitForInvocation(plan.invocationId, {
          onUpdate: createProgressRenderer({ stream: process.stderr }),
          signal: abort.signal,
        });
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
      if (abort.signal.aborted) {
        process.stderr.write(
          `stopped waiting; the jobs keep running (nel status ${plan.invocationId}, nel kill ${plan.invocationId})\n`,
        );
        process.exitCode = 130;
        return;
      }
      process.stdout.write(formatStatusTable(statuses) + '\n\n' + formatScores(plan, statuses) + '\n');
      const ok = statuses.every((s) => s.status === 'success');
      if (!ok) {
        process.stderr.write(
          `${c.red('error:')} not every task succeeded; see nel logs ${plan.invocationId} and each task's logs/\n`,
        );
        process.exitCode = 1;
      }
    });
}
