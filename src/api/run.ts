/**
 * `nel run` as a library call: load the config, let the executor named by `execution.type` plan the
 * invocation, apply the safety gates, write the scripts, and (unless dry-run) launch through the
 * executor.
 */
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { NelError } from '../common/errors.js';
import { dumpYaml } from '../common/yaml.js';
import { loadConfig, loadEnvFile, type LoadedConfig } from '../config/index.js';
import { ensureOutputDir, writeInvocationPlan } from '../launcher/plan.js';
import type { InvocationPlan } from '../launcher/types.js';
import { executionType, getExecutor } from '../executors/registry.js';
import type { LaunchResult } from '../executors/types.js';
import { preflightInvocation } from '../launcher/preflight.js';
import { mkdirp } from '../common/fs.js';
import { isPlainObject } from '../common/objects.js';

export interface RunOptions {
  config?: string;
  configDir?: string;
  configName?: string;
  configMode?: 'hydra' | 'raw';
  overrides?: string[];
  tasks?: string[];
  dryRun?: boolean;
  envFile?: string;
  noDocker?: boolean;
  /**
   * Run upstream task names on this tool's engine where it has an equivalent (`--builtin-engine`; sets
   * execution.builtin_engine, so the saved config and the scripts record the choice). Tasks without one
   * are refused up front.
   */
  builtinEngine?: boolean;
  /** Where the resolved run config is saved (default ~/.nemo-evaluator/run_configs). */
  configOutput?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command line recorded in metadata (default `nel run`). */
  launcherCommand?: string;
  execDbPath?: string;
  /** Do not probe the endpoints before launching (`--skip-preflight`; also NEMO_EVALUATOR_SKIP_PREFLIGHT=1). */
  skipPreflight?: boolean;
}

export interface RunResult {
  loaded: LoadedConfig;
  plan: InvocationPlan;
  /** The dry-run printout (dry runs only). */
  dryRunText?: string;
  launched?: LaunchResult;
  savedConfigPath?: string;
  /** Non-fatal notes for the user (env file, unset variables in a dry run, unlisted tasks, ...). */
  warnings: string[];
}

const TRUTHY = new Set(['1', 'true', 'yes']);

/** The gates that make a real run refuse to start; checked before anything is written. */
function checkRealRunGates(plan: InvocationPlan, env: NodeJS.ProcessEnv): void {
  const missing = plan.missingHostVars[0];
  if (missing) {
    const more = plan.missingHostVars.length > 1 ? ` (and ${plan.missingHostVars.length - 1} more)` : '';
    throw new NelError(
      'ENV_UNSET',
      `environment variable ${missing.name} is not set (referenced by ${missing.declaredAt})${more}`,
      { hint: 'export it, add it to ./.env or --env-file FILE, or inspect the config with --dry-run' },
    );
  }
  if (plan.unlistedTasks.length > 0 && !TRUTHY.has(env.NEMO_EVALUATOR_TRUST_UNLISTED_TASKS ?? '')) {
    throw new NelError(
      'TASK_UNLISTED',
      `Unlisted tasks found: ${plan.unlistedTasks.join(', ')}. Set NEMO_EVALUATOR_TRUST_UNLISTED_TASKS=1 to proceed.`,
      {
        hint: 'these tasks come from an explicit container that the catalogue does not list; run them only if you trust it',
      },
    );
  }
  if (plan.hasPrePostCmd && !TRUTHY.has(env.NEMO_EVALUATOR_TRUST_PRE_CMD ?? '')) {
    throw new NelError(
      'UNTRUSTED_CMD',
      'Untrusted command found in config, make sure you trust and set NEMO_EVALUATOR_TRUST_PRE_CMD=1.',
      { hint: 'pre_cmd/post_cmd run arbitrary shell commands; inspect them with --dry-run first' },
    );
  }
}

function saveRunConfig(plan: InvocationPlan, dir: string, command: string): string {
  mkdirp(dir);
  const path = join(dir, `${plan.invocationId}_config.yml`);
  const header = [
    '# Complete configuration from nemo-evaluator-launcher',
    `# Generated at: ${new Date().toISOString()}`,
    `# Invocation ID: ${plan.invocationId}`,
    `# Original command: ${command}`,
    `# Rerun with: nel run --config ${path} --config-mode=raw`,
    '',
  ].join('\n');
  writeFileSync(path, header + dumpYaml(plan.resolvedConfig));
  return path;
}

export async function runEval(opts: RunOptions): Promise<RunResult> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const warnings: string[] = [];
  const envFile = loadEnvFile(opts.envFile, { cwd, env });
  if (envFile.path && envFile.loaded.length > 0) {
    warnings.push(
      `loaded ${envFile.loaded.length} variable(s) from ${envFile.path}: ${envFile.loaded.join(', ')}`,
    );
  }
  if (envFile.skipped.length > 0) {
    warnings.push(
      `kept the environment's value of ${envFile.skipped.join(', ')} (already set; ${envFile.path} ignored for them)`,
    );
  }
  const loaded = loadConfig({
    config: opts.config,
    configDir: opts.configDir,
    configName: opts.configName,
    mode: opts.configMode,
    overrides: opts.overrides,
    cwd,
    env,
  });
  warnings.push(...loaded.warnings);
  if (opts.builtinEngine) {
    const execution = isPlainObject(loaded.resolved.execution) ? loaded.resolved.execution : {};
    loaded.resolved.execution = { ...execution, builtin_engine: true };
  }
  const autoExport = isPlainObject(loaded.resolved.execution)
    ? loaded.resolved.execution.auto_export
    : undefined;
  const destinations =
    isPlainObject(autoExport) && Array.isArray(autoExport.destinations) ? autoExport.destinations : [];
  if (destinations.length > 0) {
    // a real run is refused before anything is written; a dry run (which only writes the scripts)
    // says so and goes on, so that upstream's auto-export examples can still be inspected
    const { checkExportDestinations } = await import('../exporters/registry.js');
    try {
      checkExportDestinations(destinations.map(String), 'execution.auto_export.destinations');
    } catch (e) {
      if (!opts.dryRun || !(e instanceof NelError)) throw e;
      warnings.push(`${e.message}; a real run is refused`);
    }
  }
  const launcherCommand = opts.launcherCommand ?? 'nel run';
  const executor = await getExecutor(executionType(loaded.resolved));
  const plan = executor.plan(loaded, {
    taskFilter: opts.tasks && opts.tasks.length > 0 ? opts.tasks : undefined,
    dryRun: !!opts.dryRun,
    env,
    launcherCommand,
    noDocker: opts.noDocker,
    cwd,
  });
  if (opts.dryRun) {
    writeInvocationPlan(plan);
    return {
      loaded,
      plan,
      dryRunText: executor.formatDryRun(plan, loaded),
      warnings: [...new Set([...warnings, ...plan.warnings])],
    };
  }
  checkRealRunGates(plan, env);
  await executor.checkRuntime(plan);
  ensureOutputDir(plan); // a local mistake is reported before the endpoints are probed
  const preflight = await preflightInvocation(plan, {
    env,
    skip: opts.skipPreflight,
    prober: executor.endpointProber?.(plan, env),
  });
  warnings.push(...plan.warnings, ...preflight.warnings);
  writeInvocationPlan(plan);
  const launched = await executor.launch(plan, { env, execDbPath: opts.execDbPath });
  const dir = opts.configOutput
    ? resolve(cwd, opts.configOutput)
    : join(env.HOME ?? homedir(), '.nemo-evaluator', 'run_configs');
  let savedConfigPath: string | undefined;
  try {
    savedConfigPath = saveRunConfig(plan, dir, launcherCommand);
  } catch (e) {
    warnings.push(`could not save the run config into ${dir}: ${(e as Error).message}`);
  }
  return { loaded, plan, launched, savedConfigPath, warnings: [...new Set(warnings)] };
}
