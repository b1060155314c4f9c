/**
 * The engine CLI: `nemo-evaluator run_eval ...`, `nemo-evaluator ls` (alias `eval-factory`, deprecated).
 * Sets process.exitCode: 0 success (and after SIGTERM, with the interrupted marker), 1 failure, 130 SIGINT.
 */
import { basename } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { NelError, errorMessage, isNelError, systemError } from '../common/errors.js';
import { parseYaml, dumpYamlSorted } from '../common/yaml.js';
import type { Benchmark } from './benchmarks/types.js';
import type { EvaluationOptions } from './evaluate.js';
import { builtinResolver } from './benchmarks/index.js';
import { createLogger, type LogLevel } from './logging.js';
import {
  FRAMEWORK_NAME,
  parseOverrides,
  renderCommand,
  resolveRunConfig,
  type BenchmarkResolver,
  type RunEvalFlags,
} from './run-config.js';
import { normaliseAdapterConfig } from './adapters/adapter-config.js';
import { installSignalHandlers, shutdownGraceMs } from './signals.js';

export interface EngineCliDeps {
  /** Benchmarks to offer instead of the built-in registry (tests, plug-ins). */
  benchmarks?: Benchmark[];
  env?: NodeJS.ProcessEnv;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  evaluationOptions?: Partial<EvaluationOptions>;
}

const HELP = `usage: nemo-evaluator [--debug] {ls,run_eval} ...

Evaluate an OpenAI-compatible endpoint on a built-in benchmark.

commands:
  ls          list the available tasks
  run_eval    run an evaluation

run_eval options:
  --run_config FILE     YAML run config (config, target, metadata)
  --eval_type TYPE      task, or builtin.task (config.type)
  --model_id ID         target.api_endpoint.model_id
  --model_type TYPE     chat | completions | completions_logprob | embedding
  --model_url URL       full endpoint URL, e.g. http://host:8000/v1/chat/completions
  --api_key_name NAME   name of the environment variable holding the API key
  --output_dir DIR      where results are written
  --overrides "a.b=v,c=d"  highest-precedence settings (values parsed as YAML)
  --dry_run             print the rendered config and command, then exit
`;

const RUN_EVAL_VALUE_FLAGS = [
  'run_config',
  'eval_type',
  'model_id',
  'model_type',
  'model_url',
  'api_key_name',
  'output_dir',
  'overrides',
];
const MODEL_TYPES = ['chat', 'completions', 'completions_logprob', 'embedding'];

interface ParsedRunEval {
  values: Record<string, string>;
  dryRun: boolean;
  help: boolean;
}

function usage(message: string): NelError {
  return new NelError('USAGE', message, { hint: 'run `nemo-evaluator --help`' });
}

export function parseRunEvalArgs(args: string[]): ParsedRunEval {
  const values: Record<string, string> = {};
  let dryRun = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--dry_run' || a === '--dry-run') {
      dryRun = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    const m = /^--([\w-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw usage(`unrecognized argument: ${a}`);
    const name = m[1]!.replace(/-/g, '_');
    if (!RUN_EVAL_VALUE_FLAGS.includes(name)) throw usage(`unrecognized argument: --${m[1]}`);
    let value = m[2];
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw usage(`argument --${name}: expected one argument`);
    }
    values[name] = value;
  }
  if (values.model_type !== undefined && !MODEL_TYPES.includes(values.model_type)) {
    throw usage(
      `argument --model_type: invalid choice: '${values.model_type}' (choose from ${MODEL_TYPES.join(', ')})`,
    );
  }
  return { values, dryRun, help };
}

function resolverFor(deps: EngineCliDeps): BenchmarkResolver {
  if (deps.benchmarks) {
    const list = deps.benchmarks;
    return {
      get: (n) => list.find((b) => b.name === n || `${FRAMEWORK_NAME}.${b.name}` === n),
      list: () => list,
    };
  }
  return builtinResolver();
}

function readRunConfig(path: string): unknown {
  if (!existsSync(path))
    throw new NelError('ENGINE_CONFIG', `run config not found: ${path}`, {
      hint: 'give --run_config the path of a run config YAML (config: and target: sections, as run_config.yml)',
    });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NelError(
      'ENGINE_CONFIG',
      `cannot read run config ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  return parseYaml(text, path);
}

async function listTasks(deps: EngineCliDeps, out: (s: string) => void): Promise<void> {
  const resolver = resolverFor(deps);
  const names = resolver
    .list()
    .map((b) => b.name)
    .sort();
  if (names.length === 0) return;
  out(`${FRAMEWORK_NAME}: \n`);
  for (const n of names) out(`  * ${n}\n`);
}

async function runEvalCommand(
  args: string[],
  deps: EngineCliDeps,
  logLevel: LogLevel | undefined,
): Promise<number> {
  const out = deps.stdout ?? ((s) => process.stdout.write(s));
  const env = deps.env ?? process.env;
  const parsed = parseRunEvalArgs(args);
  if (parsed.help) {
    out(HELP);
    return 0;
  }
  const v = parsed.values;
  const runConfig = v.run_config ? readRunConfig(v.run_config) : undefined;
  const flags: RunEvalFlags = {
    eval_type: v.eval_type,
    model_id: v.model_id,
    model_type: v.model_type,
    model_url: v.model_url,
    api_key_name: v.api_key_name,
    output_dir: v.output_dir,
  };
  const overrides = v.overrides ? parseOverrides(v.overrides) : undefined;
  const resolver = resolverFor(deps);
  const { evaluation, benchmark } = resolveRunConfig({ runConfig, flags, overrides, resolver });
  const log = createLogger({ env, level: logLevel, write: deps.stderr });
  if (parsed.dryRun) {
    const shown = structuredClone(evaluation);
    shown.target.api_endpoint.adapter_config = normaliseAdapterConfig(
      shown.target.api_endpoint.adapter_config,
      shown.config.output_dir,
    ) as unknown as Record<string, unknown>;
    out(`Rendered config:\n\n${dumpYamlSorted(shown)}\nRendered command:\n\n${renderCommand(shown)}\n`);
    return 0;
  }
  const control = installSignalHandlers({ graceMs: shutdownGraceMs(env) });
  try {
    // The evaluation loop (HTTP client, cache, writers) is loaded only for a run.
    const { runEvaluation } = await import('./evaluate.js');
    const outcome = await runEvaluation(evaluation, {
      benchmark,
      env,
      log,
      signal: control.stop,
      hardSignal: control.hard,
      ...deps.evaluationOptions,
    });
    if (outcome.status === 'failed') throw outcome.error ?? new NelError('ENGINE_RUN', 'evaluation failed');
    if (outcome.status === 'interrupted') return outcome.stopReason === 'SIGINT' ? 130 : 0;
    return 0;
  } finally {
    control.dispose();
    // After SIGTERM/SIGINT the run has flushed its files; the entry point makes sure nothing keeps it alive.
    if (control.reason) stoppedBySignal = true;
  }
}

let stoppedBySignal = false;

/**
 * Entry point: `main(process.argv)`. Resolves to whether a SIGTERM/SIGINT stopped the run (its files are
 * flushed by then; src/bin ends the process shortly after, should a socket keep it alive).
 */
export async function main(argv: string[], deps: EngineCliDeps = {}): Promise<{ stoppedBySignal: boolean }> {
  const err = deps.stderr ?? ((s: string) => process.stderr.write(s));
  const out = deps.stdout ?? ((s: string) => process.stdout.write(s));
  if (basename(argv[1] ?? '').startsWith('eval-factory')) {
    err("warning: 'eval-factory' is deprecated; use 'nemo-evaluator' instead\n");
  }
  let args = argv.slice(2);
  let logLevel: LogLevel | undefined;
  if (args[0] === '--debug') {
    logLevel = 'debug';
    args = args.slice(1);
  }
  const [cmd, ...rest] = args;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      out(HELP);
      process.exitCode = 0;
      return { stoppedBySignal };
    }
    if (cmd === 'ls') {
      await listTasks(deps, out);
      process.exitCode = 0;
      return { stoppedBySignal };
    }
    if (cmd === 'run_eval') {
      process.exitCode = await runEvalCommand(rest, deps, logLevel);
      return { stoppedBySignal };
    }
    throw usage(`invalid choice: '${cmd}' (choose from 'ls', 'run_eval')`);
  } catch (caught) {
    const e = isNelError(caught) ? caught : (systemError(caught) ?? caught);
    const msg = isNelError(e) ? e.message : `internal error: ${errorMessage(e)}`;
    // one line, as upstream's engine prints; the hint rides on the same line
    const hint = isNelError(e) && e.hint ? ` (hint: ${e.hint})` : '';
    err(`error: ${msg}${hint}\n`);
    process.exitCode = isNelError(e) ? e.exitCode : 1;
  }
  return { stoppedBySignal };
}
