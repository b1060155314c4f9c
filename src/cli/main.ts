import { Command, CommanderError } from 'commander';
import { packageVersion } from '../common/version.js';
import { reportError } from './output.js';
type Register = (program: Command) => void;

/** Command modules are loaded on demand, so a command pays only for the libraries it uses. */
const COMMANDS: Record<string, () => Promise<{ register: Register }>> = {
  run: () => import('./run.js'),
  status: () => import('./status.js'),
  logs: () => import('./logs.js'),
  kill: () => import('./kill.js'),
  resume: () => import('./resume.js'),
  info: () => import('./info.js'),
  ls: () => import('./ls.js'),
  export: () => import('./export.js'),
  compare: () => import('./compare.js'),
  report: () => import('./report.js'),
  'serve-reference': () => import('./serve-reference.js'),
  'serve-model': () => import('./serve-model.js'),
  'build-image': () => import('./build-image.js'),
};

/** The CLI program; with `only`, just that command is registered (the others are not even loaded). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  // set before the commands are added, so that they inherit it: usage errors exit 2, never process.exit here
  program.exitOverride();
  program
    .name('nel')
    .description(
      'Evaluate OpenAI-compatible model endpoints on benchmarks, in Docker containers or on the host.\n' +
        'Compatible with NeMo Evaluator Launcher configs, scripts, exec DB and result files.',
    )
    .version(`nemo_evaluator_launcher: ${packageVersion()}`, '-V, --version', 'print the version and exit')
    .option('-v, --verbose', 'show debug output and stack traces')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`nemo_evaluator_launcher: ${packageVersion()}\n`);
    });
  const versionOnly = only === '-V' || only === '--version' || only === 'version';
  const names = versionOnly ? [] : only && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  const modules = await Promise.all(names.map((n) => COMMANDS[n]!()));
  for (const m of modules) m.register(program);
  return program;
}

/** Upstream spellings: `nel ls` alone lists tasks; snake_case flags (`--dry_run`) as simple-parsing accepts. */
export function normaliseArgv(argv: string[]): string[] {
  const out = argv.map((a) => {
    const m = /^--([a-z]+(?:_[a-z]+)+)(=.*)?$/.exec(a);
    return m ? `--${m[1]!.replace(/_/g, '-')}${m[2] ?? ''}` : a;
  });
  if (out[2] === 'ls' && !['tasks', 'task', 'runs', '-h', '--help', 'help'].includes(out[3] ?? '')) {
    out.splice(3, 0, 'tasks');
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const args = normaliseArgv(argv);
  const program = await buildProgram(args[2]);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  if (verbose) process.env.NEMO_EVALUATOR_LOG_LEVEL ??= 'DEBUG';
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(args);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(e, verbose);
  }
}
