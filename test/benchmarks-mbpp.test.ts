import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parse as parseYaml } from 'yaml';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { MBPP_STOP, cutAtStop, mbppProgram, mbppPrompt } from '../src/engine/benchmarks/mbpp.js';
import type { BenchmarkContext, BenchmarkSample } from '../src/engine/benchmarks/types.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { startHubServer } from './support/hub-server.js';
import { sharedPath } from './support/paths.js';

const FULL = sharedPath('data', 'mbpp', 'mbpp.jsonl');
const mbpp = getBenchmark('mbpp')!;
const ALLOW = { NEMO_EVALUATOR_ALLOW_CODE_EXECUTION: '1' };
const root = mkdtempSync(join(tmpdir(), 'nel-mbpp-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function havePython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const skip = havePython() ? false : 'python3 is not installed';

interface MbppRecord {
  task_id: number;
  text: string;
  code: string;
  test_list: string[];
  test_setup_code: string;
  challenge_test_list: string[];
}
const fullRecords = (): MbppRecord[] =>
  readFileSync(FULL, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as MbppRecord);

function ctx(
  extra: Record<string, unknown>,
  endpointType: 'chat' | 'completions' = 'completions',
  more: Partial<BenchmarkContext> = {},
): BenchmarkContext {
  return benchmarkContext(extra, { endpointType, env: ALLOW, ...more });
}

/** The canonical code as the reply: chat in a fenced block, completions as it is. */
const canonicalReply = (s: BenchmarkSample, type: 'chat' | 'completions') =>
  type === 'chat' ? `\`\`\`python\n${String(s.data.code)}\n\`\`\`` : String(s.data.code);

test('mbpp: the full mbpp.jsonl is narrowed to the test split, task_id 11..510 in order', async () => {
  const logged: string[] = [];
  const samples = await runSamples(
    mbpp,
    ctx({ dataset_path: FULL }, 'completions', { log: (m) => logged.push(m) }),
  );
  assert.equal(fullRecords().length, 974);
  assert.equal(samples.length, 500);
  assert.deepEqual(
    samples.map((s) => s.id),
    Array.from({ length: 500 }, (_v, i) => String(11 + i)),
  );
  assert.deepEqual(samples[0]!.data.test_list, [
    'assert remove_Occ("hello","l") == "heo"',
    'assert remove_Occ("abcda","a") == "bcd"',
    'assert remove_Occ("PHP","P") == "H"',
  ]);
  assert.match(
    logged.join('\n'),
    /holds 974 problems; using the test split \(task_id 11\.\.510, 500 problems\)/,
  );
  // limit_samples counts within the test split
  const limited = await runSamples(
    mbpp,
    ctx({ dataset_path: FULL }, 'completions', { params: { limit_samples: 3 } }),
  );
  assert.deepEqual(
    limited.map((s) => s.id),
    ['11', '12', '13'],
  );
});

test('mbpp: a file that is already the test split (or part of it) is kept as it is', async () => {
  const testOnly = fullRecords().filter((r) => r.task_id >= 11 && r.task_id <= 510);
  const file = join(root, 'test-split.jsonl');
  writeFileSync(file, testOnly.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const samples = await runSamples(mbpp, ctx({ dataset_path: file }));
  assert.equal(samples.length, 500);
  assert.equal(samples[499]!.id, '510');
  const part = join(root, 'part.jsonl');
  writeFileSync(part, [testOnly[5], testOnly[2]].map((r) => JSON.stringify(r)).join('\n'));
  assert.deepEqual(
    (await runSamples(mbpp, ctx({ dataset_path: part }))).map((s) => s.id),
    ['16', '13'],
  );
});

test('mbpp: by default the hub data set google-research-datasets/mbpp, config full, split test (parquet)', async () => {
  const byId = new Map(fullRecords().map((r) => [r.task_id, r]));
  const split = (lo: number, hi: number) => fullRecords().filter((r) => r.task_id >= lo && r.task_id <= hi);
  const parquet = (rows: MbppRecord[]) =>
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'task_id', data: rows.map((r) => BigInt(r.task_id)), type: 'INT64' },
          { name: 'text', data: rows.map((r) => r.text), type: 'STRING' },
          { name: 'code', data: rows.map((r) => r.code), type: 'STRING' },
          { name: 'test_list', data: rows.map((r) => r.test_list) },
          { name: 'test_setup_code', data: rows.map((r) => r.test_setup_code), type: 'STRING' },
          { name: 'challenge_test_list', data: rows.map((r) => r.challenge_test_list) },
        ],
      }),
    );
  const hub = await startHubServer({ withDefaults: false });
  const repo = 'google-research-datasets/mbpp';
  hub.addFile(repo, 'README.md', '# mbpp\n');
  hub.addFile(repo, 'full/train-00000-of-00001.parquet', parquet(split(601, 974)));
  hub.addFile(repo, 'full/test-00000-of-00001.parquet', parquet(split(11, 510)));
  hub.addFile(repo, 'full/validation-00000-of-00001.parquet', parquet(split(511, 600)));
  hub.addFile(repo, 'sanitized/test-00000-of-00001.parquet', parquet(split(11, 20)));
  try {
    const env = { ...ALLOW, HF_ENDPOINT: hub.url, NEMO_EVALUATOR_CACHE_DIR: join(root, 'hub-cache') };
    const samples = await runSamples(mbpp, ctx({}, 'completions', { env }));
    assert.equal(samples.length, 500);
    assert.equal(samples[0]!.id, '11');
    assert.equal(samples[499]!.id, '510');
    assert.deepEqual(samples[42]!.data.test_list, byId.get(53)!.test_list);
    assert.ok(hub.requests().some((r) => r.endsWith('/full/test-00000-of-00001.parquet')));
    assert.ok(!hub.requests().some((r) => r.includes('train-') || r.includes('sanitized/')));
  } finally {
    await hub.close();
  }
});

test('mbpp: prompt, stop sequences and the chat instruction as bigcode builds them', async () => {
  const [first] = await runSamples(
    mbpp,
    ctx({ dataset_path: FULL }, 'completions', { params: { limit_samples: 1 } }),
  );
  const prompt =
    '"""\nWrite a python function to remove first and last occurrence of a given character from the string.\n' +
    'assert remove_Occ("hello","l") == "heo"\n"""\n';
  assert.equal(mbppPrompt(first!), prompt);
  assert.deepEqual(MBPP_STOP, ['\nclass', '\nassert', '\n"""', '\nprint', '\nif', '\n<|/', '\n```']);
  const completions = await mbpp.prepare(
    ctx({ dataset_path: FULL }, 'completions', { params: { limit_samples: 1 } }),
  );
  assert.deepEqual(completions.buildRequest(first!), { prompt, extraBody: { stop: MBPP_STOP } });
  const chat = await mbpp.prepare(ctx({ dataset_path: FULL }, 'chat', { params: { limit_samples: 1 } }));
  const request = chat.buildRequest(first!);
  assert.equal(request.messages?.length, 1);
  const content = String(request.messages![0]!.content);
  assert.ok(content.endsWith(`\n\n${prompt}`), content);
  assert.match(content, /```python code block/);
});

test('mbpp: completions are cut at the first stop sequence; the program is code + newline + the tests', async () => {
  assert.equal(cutAtStop('def f():\n    return 1\nassert f() == 1\nprint(f())'), 'def f():\n    return 1');
  assert.equal(cutAtStop('x = 1\nif x:\n    pass'), 'x = 1');
  assert.equal(cutAtStop('x = 1\n    if x: pass\n"""'), 'x = 1\n    if x: pass');
  assert.equal(cutAtStop('x = 1\n```\nmore'), 'x = 1');
  const [first] = await runSamples(
    mbpp,
    ctx({ dataset_path: FULL }, 'completions', { params: { limit_samples: 1 } }),
  );
  const tests = (first!.data.test_list as string[]).join('\n');
  assert.equal(
    mbppProgram(first!, 'def remove_Occ(s, ch):\n    return s\nassert False', 'completions'),
    `${mbppPrompt(first!)}def remove_Occ(s, ch):\n    return s\n${tests}\n`,
  );
  const reply =
    'Sure:\n\n```python\ndef remove_Occ(s, ch):\n    return s\n\nprint(remove_Occ("a", "b"))\n```\nDone.';
  assert.equal(
    mbppProgram(first!, reply, 'chat'),
    `def remove_Occ(s, ch):\n    return s\n\nprint(remove_Occ("a", "b"))\n\n${tests}\n`,
  );
});

// bigcode joins only test_list to the code, so the tests of 367 (which use trees built by its
// test_setup_code) fail for any code; a canonical solution cut at "\nclass" (342) fails as a completion.
const FAILS_WITHOUT_SETUP_CODE = ['367'];
const CUT_BY_STOP_SEQUENCE = ['342'];

// 123's canonical solution (amicable numbers up to 9999 by trial division) needs about 4-5 s of CPU on
// a 2-core EPYC, over bigcode's 3 s limit (the default timeout): whether it passes there depends on the
// machine, so the canonical solutions run with a 20 s limit.
const SLOW = { dataset_path: FULL, n_samples: 1, timeout: 20 };

test(
  'mbpp: every canonical solution of the 500 test problems passes its tests, but 367 (needs test_setup_code)',
  { skip },
  async () => {
    const run = await mbpp.prepare(ctx(SLOW, 'chat'));
    const samples = Array.from(run.samples.samples());
    assert.equal(samples.length, 500);
    const scored = await Promise.all(samples.map((s) => run.score(s, [canonicalReply(s, 'chat')])));
    const failing = scored.filter((s) => !s.correct![0]).map((s) => s.sampleId);
    assert.deepEqual(failing, FAILS_WITHOUT_SETUP_CODE);
    const failed367 = scored.find((s) => s.sampleId === '367')!;
    assert.deepEqual(failed367.extracted, ['failed']);
    const result = run.aggregate(scored);
    assert.equal(result.tasks.mbpp.metrics['pass@1'].scores['pass@1'].value, 499 / 500);
  },
);

test(
  'mbpp: the two known exceptions: 367 passes with include_test_setup_code, 342 only uncut',
  { skip },
  async () => {
    const pick = (run: Awaited<ReturnType<typeof mbpp.prepare>>, ids: string[]) =>
      Array.from(run.samples.samples()).filter((s) => ids.includes(s.id));
    const withSetup = await mbpp.prepare(ctx({ dataset_path: FULL, include_test_setup_code: true }, 'chat'));
    const [s367] = pick(withSetup, FAILS_WITHOUT_SETUP_CODE);
    assert.match(mbppProgram(s367!, canonicalReply(s367!, 'chat'), 'chat', true), /\nroot = Node\(1\)/);
    assert.deepEqual((await withSetup.score(s367!, [canonicalReply(s367!, 'chat')])).correct, [true]);
    const completions = await mbpp.prepare(ctx({ dataset_path: FULL }, 'completions'));
    const [s342] = pick(completions, CUT_BY_STOP_SEQUENCE);
    assert.ok(String(s342!.data.code).includes('\nclass Node'));
    assert.deepEqual((await completions.score(s342!, [canonicalReply(s342!, 'completions')])).correct, [
      false,
    ]);
    const chat = await mbpp.prepare(ctx({ dataset_path: FULL }, 'chat'));
    const [c342] = pick(chat, CUT_BY_STOP_SEQUENCE);
    assert.deepEqual((await chat.score(c342!, [canonicalReply(c342!, 'chat')])).correct, [true]);
  },
);

/** 1 - C(n-c, k) / C(n, k), in exact integer arithmetic (independent of the engine's product form). */
function expectedPassAtK(n: number, c: number, k: number): number {
  const comb = (a: number, b: number): bigint => {
    if (b < 0 || b > a) return 0n;
    let r = 1n;
    for (let i = 1; i <= b; i++) r = (r * BigInt(a - b + i)) / BigInt(i);
    return r;
  };
  const num = comb(n - c, k);
  const den = comb(n, k);
  return 1 - Number((num * 1_000_000_000_000n) / den) / 1e12;
}

test(
  'mbpp: pass@k over n_samples right/wrong mixes is the unbiased estimator (per problem and mean)',
  { skip },
  async () => {
    for (const type of ['completions', 'chat'] as const) {
      const n = 5;
      const run = await mbpp.prepare(
        ctx({ dataset_path: FULL, n_samples: n, k: [1, 2, 5, 10] }, type, { params: { limit_samples: 6 } }),
      );
      const samples = Array.from(run.samples.samples());
      const scores = await Promise.all(
        samples.map((s, i) => {
          const c = i; // 0..5 right replies out of 5, at scattered positions
          const replies = Array.from({ length: n }, (_v, j) => ((j * 3 + i) % n < c ? 'right' : 'wrong'));
          return run.score(
            s,
            replies.map((r) => run.referenceResponse(s, r === 'right', type)),
          );
        }),
      );
      for (const [i, s] of scores.entries()) {
        assert.equal(s.correct!.filter(Boolean).length, i, `${type} sample ${s.sampleId}`);
        assert.deepEqual(Object.keys(s.scores).sort(), ['pass@1', 'pass@2', 'pass@5']); // k=10 > n is dropped
        for (const k of [1, 2, 5])
          assert.ok(Math.abs(s.scores[`pass@${k}`]! - expectedPassAtK(n, i, k)) < 1e-9);
      }
      const metrics = run.aggregate(scores).tasks.mbpp.metrics;
      assert.deepEqual(Object.keys(metrics).sort(), ['pass@1', 'pass@2', 'pass@5']);
      for (const k of [1, 2, 5]) {
        const mean = [0, 1, 2, 3, 4, 5].reduce((a, c) => a + expectedPassAtK(n, c, k), 0) / 6;
        const value = metrics[`pass@${k}`]!.scores[`pass@${k}`]!.value;
        assert.ok(Math.abs(value - mean) < 1e-9, `${type} pass@${k}: ${value} vs ${mean}`);
        assert.equal(metrics[`pass@${k}`]!.scores[`pass@${k}`]!.stats.count, 6);
      }
      assert.ok(Math.abs(metrics['pass@1']!.scores['pass@1']!.value - 0.5) < 1e-12);
    }
  },
);

test('mbpp: defaults report pass@1 and pass@10 over 10 samples, as bigcode (k = 1, 10, 100 up to n)', async () => {
  assert.equal(mbpp.defaults.extra?.n_samples, 10);
  const run = await mbpp.prepare(
    ctx({ ...mbpp.defaults.extra, dataset_path: FULL }, 'chat', { params: { limit_samples: 1 } }),
  );
  const [s] = Array.from(run.samples.samples());
  const wrong = run.referenceResponse(s!, false, 'chat');
  const right = run.referenceResponse(s!, true, 'chat');
  const score = await run.score(s!, [wrong, wrong, right, wrong, wrong, wrong, wrong, wrong, wrong, wrong]);
  assert.deepEqual(Object.keys(score.scores), ['pass@1', 'pass@10']);
  assert.ok(Math.abs(score.scores['pass@1']! - 0.1) < 1e-12);
  assert.equal(score.scores['pass@10'], 1);
});

test('mbpp: replies that leave before the tests, loop, or are wrong score 0', { skip }, async () => {
  const run = await mbpp.prepare(
    ctx({ dataset_path: FULL, timeout: 1 }, 'completions', { params: { limit_samples: 1 } }),
  );
  const [s] = Array.from(run.samples.samples());
  const replies = [
    'import sys\nsys.exit(0)\n',
    'import os\nos._exit(0)\n',
    'while True:\n    pass\n',
    'def remove_Occ(s, ch):\n    return s[1:-1]\n', // drops the ends, not the character
    run.referenceResponse(s!, false, 'completions'),
  ];
  const score = await run.score(s!, replies);
  assert.deepEqual(score.correct, [false, false, false, false, false]);
  assert.deepEqual(score.extracted, ['exited early', 'exited early', 'timed out', 'failed', 'failed']);
  assert.equal(score.scores['pass@1'], 0);
});

test('mbpp: upstream names it mirrors are bigcode-evaluation-harness mbpp tasks with the same defaults', () => {
  assert.deepEqual(mbpp.mirrors, [
    'bigcode-evaluation-harness.mbpp',
    'bigcode-evaluation-harness.mbpp-chat',
    'bigcode-evaluation-harness.mbpp-completions',
  ]);
  const { tasks: catalogue } = parseYaml(
    readFileSync(sharedPath('data', 'upstream', 'all_tasks_irs.yaml'), 'utf8'),
  ) as {
    tasks: {
      name: string;
      harness: string;
      defaults: {
        config: {
          params: Record<string, unknown> & { extra: Record<string, unknown> };
          supported_endpoint_types: string[];
        };
      };
    }[];
  };
  for (const [name, type] of [
    ['mbpp-chat', 'chat'],
    ['mbpp-completions', 'completions'],
  ] as const) {
    const t = catalogue.find((x) => x.name === name && x.harness === 'bigcode-evaluation-harness');
    assert.ok(t, name);
    const p = t.defaults.config.params;
    assert.equal(p.task, 'mbpp');
    assert.deepEqual(t.defaults.config.supported_endpoint_types, [type]);
    assert.ok(mbpp.supportedEndpointTypes.includes(type));
    assert.equal(p.max_new_tokens, mbpp.defaults.max_new_tokens);
    assert.equal(p.temperature, mbpp.defaults.temperature);
    assert.equal(p.top_p, mbpp.defaults.top_p);
    assert.equal(p.extra.n_samples, mbpp.defaults.extra?.n_samples);
  }
  const mapping = readFileSync(sharedPath('data', 'upstream', 'mapping-v0.1.28.toml'), 'utf8');
  assert.match(mapping, /^\[bigcode-evaluation-harness\.tasks\.chat\.mbpp\]$/m);
});

test('mbpp: a file in another layout fails before any request, in one line with a hint', async () => {
  const file = join(root, 'sanitized.jsonl');
  // the sanitized layout names the description "prompt"
  writeFileSync(
    file,
    JSON.stringify({ task_id: 11, prompt: 'p', code: 'c', test_list: ['assert 1'] }) + '\n',
  );
  await assert.rejects(mbpp.prepare(ctx({ dataset_path: file })), (e: Error & { hint?: string }) => {
    assert.match(e.message, /^mbpp: record 11 has no text field "text"$/);
    assert.match(e.hint ?? '', /test_list/);
    return true;
  });
  const noTests = join(root, 'no-tests.jsonl');
  writeFileSync(noTests, JSON.stringify({ task_id: 12, text: 't', code: 'c', test_list: 'assert 1' }) + '\n');
  await assert.rejects(
    mbpp.prepare(ctx({ dataset_path: noTests })),
    /record 12 has no list of tests "test_list"/,
  );
  await assert.rejects(
    mbpp.prepare(ctx({ dataset_path: FULL, include_test_setup_code: 'yes' })),
    /include_test_setup_code must be true or false/,
  );
});

test(
  'mbpp: refuses to run model code on the host without an opt-in',
  { skip: existsSync('/.dockerenv') ? 'running in a container' : false },
  async () => {
    await assert.rejects(
      mbpp.prepare(ctx({ dataset_path: FULL }, 'chat', { env: {} })),
      /mbpp executes untrusted model-written code/,
    );
  },
);
