import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, meaningOf, parseProbe, parseStageExit, type ProbeTarget } from './probe.js';

const DIR = '/c/inv/builtin.gsm8k.0';
const target = (ids: string[] = ['10']): ProbeTarget => ({ taskDir: DIR, ids });

/** Probe output for one job: its file lines, then squeue lines `id|state|reason|nodes|dependency`. */
function probe(files: Record<string, string>, squeue: string[] = [], extra: string[] = []) {
  const lines = Object.entries(files).map(([k, v]) => `J\t0\t${k}\t${v}`);
  for (const q of squeue) lines.push(['S', ...q.split('|')].join('\t'));
  return parseProbe([...lines, ...extra].join('\n'), 1);
}

const verdict = (files: Record<string, string>, squeue: string[] = [], ids?: string[], extra?: string[]) => {
  const p = probe(files, squeue, extra);
  return decide(target(ids), p.jobs[0]!, p);
};

test("Slurm states map as upstream's", () => {
  assert.equal(meaningOf('COMPLETED'), 'success');
  for (const s of ['PENDING', 'REQUEUED', 'REQUEUE_HOLD']) assert.equal(meaningOf(s), 'pending');
  for (const s of ['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'])
    assert.equal(meaningOf(s), 'running');
  for (const s of ['PREEMPTED', 'TIMEOUT', 'NODE_FAIL']) assert.equal(meaningOf(s), 'resumable');
  assert.equal(meaningOf('CANCELLED'), 'killed');
  for (const s of ['FAILED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']) assert.equal(meaningOf(s), 'failed');
  assert.equal(parseStageExit('2026-01-01T00:00:00Z 143\n'), 143);
  assert.equal(parseStageExit('garbage'), null);
});

test('the last started job decides; a job not started yet is the last recorded one', () => {
  assert.equal(verdict({ started: '' }, ['10|PENDING|Priority||(null)']).state, 'pending');
  const v = verdict({ started: '10 ', next: '11', progress: '3', total: '8' }, [
    '10|RUNNING|None|node2|(null)',
    '11|PENDING|Dependency||afternotok:10(unfulfilled)',
  ]);
  assert.equal(v.state, 'running');
  assert.equal(v.slurmJobId, '10');
  assert.equal(v.nodes, 'node2');
  assert.deepEqual(v.progress, { progress: 3, total: 8, percent: 37.5 });
  assert.equal(verdict({ started: '10 ' }, ['10|COMPLETED|None|node1|(null)']).state, 'success');
  assert.equal(verdict({ started: '10 ' }, ['10|CANCELLED|None|node1|(null)']).state, 'killed');
});

test('TIMEOUT: pending while the successor waits, running once it started, failed without one', () => {
  const waiting = verdict({ started: '10 ', next: '11', exit: 'x 143' }, [
    '10|TIMEOUT|TimeLimit|node1|(null)',
    '11|PENDING|Dependency||afternotok:10(unfulfilled)',
  ]);
  assert.equal(waiting.state, 'pending');
  assert.equal(waiting.slurmJobId, '11');
  // the successor runs but has not listed itself yet: its own successor waits on it
  const between = verdict({ started: '10 ', next: '12' }, [
    '10|TIMEOUT|TimeLimit|node1|(null)',
    '12|PENDING|Dependency||afternotok:11(unfulfilled)',
  ]);
  assert.equal(between.state, 'running');
  assert.equal(between.slurmJobId, '11');
  const alone = verdict({ started: '10 ', exit: 'x 143' }, ['10|TIMEOUT|TimeLimit|node1|(null)']);
  assert.equal(alone.state, 'failed');
  assert.match(alone.cause!.cause, /^Slurm job 10 ended with TIMEOUT and no successor job continues it$/);
  assert.match(alone.cause!.hint!, /nel resume/);
});

test("max_walltime: the successor's own error line is the cause", () => {
  const v = verdict(
    {
      started: '10 ',
      next: '11',
      exit: 'x 1',
      'joberr:11': "error: max_walltime 00:01:00 reached (75s used by this task's jobs); not resuming again",
    },
    ['10|TIMEOUT|TimeLimit|node1|(null)', '11|FAILED|NonZeroExitCode|node2|(null)'],
  );
  assert.equal(v.state, 'failed');
  assert.equal(
    v.cause!.cause,
    "max_walltime 00:01:00 reached (75s used by this task's jobs); not resuming again",
  );
  assert.equal(v.cause!.log, `${DIR}/logs/slurm-11.log`);
});

test("a failure's cause: the engine's error first (with its hint), then the job script's", () => {
  const v = verdict(
    {
      started: '10 ',
      exit: 'x 1',
      'clienterr:10': 'error: the endpoint refused the key (hint: check target.api_endpoint.api_key_name)',
      'joberr:10': 'error: the evaluation of job a.0 exited with code 1',
    },
    ['10|FAILED|NonZeroExitCode|node1|(null)'],
  );
  assert.deepEqual(v.cause, {
    cause: 'the endpoint refused the key',
    hint: 'check target.api_endpoint.api_key_name',
    log: `${DIR}/logs/client-10.log`,
  });
  const unset = verdict(
    {
      started: '10 ',
      exit: 'x 1',
      'joberr:10': "error: environment variable K is not set in the job's environment (needed by x)",
    },
    ['10|FAILED|NonZeroExitCode|node1|(null)'],
  );
  assert.match(unset.cause!.cause, /^environment variable K is not set/);
});

test('ids Slurm forgot are decided from the files; a Slurm that does not answer gives unknown', () => {
  assert.equal(verdict({ started: '10 ', exit: 'x 0', results: '1' }).state, 'success');
  const failed = verdict({ started: '10 ', exit: 'x 2' });
  assert.equal(failed.state, 'failed');
  assert.equal(failed.exitCode, 2);
  const lost = verdict({ started: '10 ', running: '1' });
  assert.equal(lost.state, 'failed');
  assert.match(lost.cause!.cause, /^Slurm no longer knows job 10 and it left no exit code/);
  const down = verdict({ started: '10 ' }, [], undefined, [
    'E\tslurm_load_jobs error: Unable to contact slurm controller',
  ]);
  assert.equal(down.state, 'unknown');
  assert.match(down.cause!.cause, /Unable to contact slurm controller/);
  assert.equal(verdict({ started: '' }, [], []).state, 'failed');
});
