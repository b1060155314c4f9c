/**
 * A large exec DB in the upstream JSONL record shape (one Python-json.dumps line per job), plus real task
 * folders with stage files for one invocation so `nel status` has files to read.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pyJsonDumps } from '../../src/common/pyjson.js';

const TASKS = [
  'builtin.gsm8k',
  'builtin.mmlu',
  'builtin.humaneval',
  'builtin.mmlu_pro',
  'builtin.gpqa_diamond',
];

export interface ExecDbFixture {
  dbFile: string;
  /** The invocation whose task folders exist (the newest). */
  queriedInvocation: string;
  invocations: number;
  jobs: number;
  bytes: number;
}

function invocationId(i: number): string {
  // 16 hex chars, distinct, not sequential-looking (a multiplicative hash of i)
  const a = (Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0');
  const b = (Math.imul(i + 7, 0x85ebca6b) >>> 0).toString(16).padStart(8, '0');
  return `${a}${b}`;
}

function resolvedConfig(root: string, tasksPerInvocation: number): Record<string, unknown> {
  return {
    deployment: { type: 'none' },
    execution: {
      type: 'local',
      output_dir: root,
      extra_docker_args: '',
      mode: 'sequential',
      endpoint_readiness_timeout: 600,
      use_docker: true,
      max_parallel_tasks: null,
      auto_export: { destinations: [] },
      env_vars: { deployment: {}, evaluation: {} },
    },
    target: {
      api_endpoint: {
        model_id: 'meta/llama-3.1-8b-instruct',
        url: 'https://integrate.api.nvidia.com/v1/chat/completions',
        api_key_name: 'NGC_API_KEY',
      },
    },
    evaluation: {
      nemo_evaluator_config: {
        config: { params: { request_timeout: 3600, parallelism: 16, max_retries: 5 } },
      },
      tasks: Array.from({ length: tasksPerInvocation }, (_v, k) => ({
        name: TASKS[k % TASKS.length]!,
        nemo_evaluator_config: { config: { params: { limit_samples: 100, temperature: 0 } } },
      })),
    },
  };
}

/** Write `invocations` x `jobsPer` records; the last invocation gets task folders with stage files. */
export function writeExecDbFixture(dir: string, invocations: number, jobsPer: number): ExecDbFixture {
  const root = join(dir, 'results');
  const dbFile = join(dir, 'exec.v1.jsonl');
  const config = resolvedConfig(root, jobsPer);
  const t0 = 1_760_000_000; // epoch seconds, 2025-10
  const fd = openSync(dbFile, 'w');
  let bytes = 0;
  let chunk = '';
  let last = '';
  try {
    for (let i = 0; i < invocations; i++) {
      const inv = invocationId(i);
      last = inv;
      const stamp = `20251009_${String(100000 + (i % 900000)).slice(-6)}`;
      const invDir = join(root, `${stamp}-${inv}`);
      for (let j = 0; j < jobsPer; j++) {
        const task = TASKS[j % TASKS.length]!;
        const rec = {
          invocation_id: inv,
          job_id: `${inv}.${j}`,
          timestamp: t0 + i * 600 + j * 0.001,
          executor: 'local',
          data: {
            output_dir: join(invDir, `${task}.${j}`),
            container: `client-${task}-${j}-${stamp}_000000`,
            eval_image: 'nemo-evaluator-ts:0.1.0',
            use_docker: true,
          },
          config,
        };
        chunk += `${pyJsonDumps(rec, false)}\n`;
      }
      if (chunk.length > 1 << 20) {
        bytes += writeSync(fd, chunk);
        chunk = '';
      }
      if (i === invocations - 1) {
        for (let j = 0; j < jobsPer; j++) {
          const task = TASKS[j % TASKS.length]!;
          const taskDir = join(invDir, `${task}.${j}`);
          mkdirSync(join(taskDir, 'logs'), { recursive: true });
          mkdirSync(join(taskDir, 'artifacts'), { recursive: true });
          writeFileSync(join(taskDir, 'logs', 'stage.pre-start'), '2025-10-09T10:00:00Z\n');
          writeFileSync(join(taskDir, 'logs', 'stage.running'), '2025-10-09T10:00:01Z\n');
          if (j < jobsPer - 1) writeFileSync(join(taskDir, 'logs', 'stage.exit'), '2025-10-09T10:05:00Z 0\n');
          writeFileSync(join(taskDir, 'artifacts', 'progress'), j < jobsPer - 1 ? '100\n' : '42\n');
          writeFileSync(join(taskDir, 'artifacts', 'progress_total'), '100\n');
        }
      }
    }
    if (chunk) bytes += writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { dbFile, queriedInvocation: last, invocations, jobs: invocations * jobsPer, bytes };
}
