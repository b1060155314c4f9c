import type { Command } from 'commander';
import { c } from './output.js';

interface TaskFlags {
  json?: boolean;
  tasksFile?: string;
  builtinEngine?: boolean;
}

async function listTasksAction(opts: TaskFlags): Promise<void> {
  const { formatTaskList, loadTaskCatalogue } = await import('../tasks/index.js');
  const cat = loadTaskCatalogue({ tasksFile: opts.tasksFile });
  process.stdout.write(
    formatTaskList(cat, { json: opts.json, builtinOnly: !!opts.builtinEngine }).trimEnd() + '\n',
  );
}

export function register(program: Command): void {
  // `nel ls [--json]` means `nel ls tasks [--json]` (main.ts inserts `tasks`), as upstream
  const ls = program.command('ls').description('list tasks (`nel ls` = `nel ls tasks`), one task, or runs');
  const tasksFileOpt = '--tasks-file <file>';
  const tasksFileHelp =
    'an upstream-format task catalogue (all_tasks_irs.yaml); default $NEL_TASKS_FILE or the built-in one';
  ls.command('tasks')
    .description('list the tasks this launcher knows (harness, container, endpoint type)')
    .option('--json', 'print JSON')
    .option(tasksFileOpt, tasksFileHelp)
    .option(
      '--builtin-engine',
      "only the upstream tasks that run on this tool's engine (nel run --builtin-engine)",
    )
    .action(listTasksAction);
  ls.command('task')
    .description('show one task: harness, container, endpoint types and its defaults')
    .argument('<name>', 'task name or harness.task')
    .option('--json', 'print JSON')
    .option(tasksFileOpt, tasksFileHelp)
    .action(async (name: string, opts: TaskFlags) => {
      const { formatTaskDetail, loadTaskCatalogue, resolveTask } = await import('../tasks/index.js');
      const cat = loadTaskCatalogue({ tasksFile: opts.tasksFile });
      process.stdout.write(
        formatTaskDetail(resolveTask(cat, { name }), { json: opts.json }).trimEnd() + '\n',
      );
    });
  ls.command('runs')
    .description('list invocations from the exec DB, newest first, with their model and headline scores')
    .option('--limit <n>', 'at most N invocations', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`--limit takes a positive whole number (got '${v}')`);
      return n;
    })
    .option('--since <when>', 'only invocations since 2d, 12h, YYYY-MM-DD or an ISO datetime')
    .option('--executor <name>', 'only this executor (local)')
    .option('--json', 'print JSON')
    .action(async (opts: { limit?: number; since?: string; executor?: string; json?: boolean }) => {
      const { formatRuns, listRuns, runDetails } = await import('../api/jobs.js');
      const { runs, warnings } = listRuns({ limit: opts.limit, since: opts.since, executor: opts.executor });
      for (const w of warnings) process.stderr.write(`${c.yellow('warning:')} ${w}\n`);
      // the model and each job's headline score (from results.yml of finished jobs)
      const details = await runDetails(runs);
      process.stdout.write(formatRuns(runs, { json: opts.json, details }).trimEnd() + '\n');
    });
}
