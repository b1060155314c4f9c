import { Command, CommanderError } from 'commander';
import { packageVersion } from '../common/version.js';
import { reportError } from './output.js';
import { register as registerRun } from './run.js';
import { register as registerLs } from './ls.js';
import { register as registerStatus } from './status.js';
import { register as registerLogs } from './logs.js';
import { register as registerKill } from './kill.js';
import { register as registerResume } from './resume.js';
import { register as registerInfo } from './info.js';
import { register as registerExport } from './export.js';
import { register as registerServeReference } from './serve-reference.js';
import { register as registerBuildImage } from './build-image.js';

export function buildProgram(): Command {
  const program = new Command();
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
  registerRun(program);
  registerStatus(program);
  registerLogs(program);
  registerKill(program);
  registerResume(program);
  registerInfo(program);
  registerLs(program);
  registerExport(program);
  registerServeReference(program);
  registerBuildImage(program);
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
  const program = buildProgram();
  program.exitOverride();
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  if (verbose) process.env.NEMO_EVALUATOR_LOG_LEVEL ??= 'DEBUG';
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(normaliseArgv(argv));
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(e, verbose);
  }
}
