import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embedJson, embedJsonWith } from './html.js';
import { renderJobReport } from './job.js';
import {
  buildJobReportData,
  cutText,
  jobSamples,
  promptText,
  ReportSamples,
  reportScores,
  SAMPLE_TEXT_LIMIT,
  viewSamples,
} from './model.js';

const entry = (metrics: Record<string, Record<string, { value: number; stats?: object }>>) => ({
  metrics: Object.fromEntries(Object.entries(metrics).map(([m, scores]) => [m, { scores }])),
});

test('scores: stderr and a 95% interval per score; the headline from the definition, else the layout', () => {
  const doc = {
    results: {
      tasks: {
        ifeval: entry({
          inst_level_strict_acc: {
            inst_level_strict_acc: { value: 0.8, stats: { stderr: 0.05, count: 10 } },
          },
          prompt_level_strict_acc: { prompt_level_strict_acc: { value: 0.7, stats: { stderr: 0.1 } } },
        }),
      },
      groups: { ifeval: { groups: { 'level:3': entry({ x: { x: { value: 1 } } }) } } },
    },
  };
  const byLayout = reportScores(doc);
  assert.equal(byLayout.find((s) => s.headline)!.metric, 'inst_level_strict_acc');
  const defined = reportScores(doc, () => ({
    metric: 'prompt_level_strict_acc',
    score: 'prompt_level_strict_acc',
  }));
  const h = defined.find((s) => s.headline)!;
  assert.equal(h.metric, 'prompt_level_strict_acc');
  assert.ok(Math.abs(h.ci![0] - (0.7 - 0.196)) < 1e-12 && Math.abs(h.ci![1] - (0.7 + 0.196)) < 1e-12);
  assert.equal(defined.filter((s) => s.headline).length, 1);
  const g = defined.find((s) => s.group === 'level:3')!;
  assert.deepEqual([g.value, g.stderr, g.ci, g.headline], [1, null, null, false]);
});

test('samples: verdicts, groups, instruction types, flags, errors, their requests; bad lines noted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-report-model-'));
  try {
    const prompt = (q: string) => [{ role: 'user', content: q }];
    const lines = [
      {
        sample_id: 'a',
        index: 0,
        prompt: prompt('qa'),
        responses: ['r'],
        extracted: ['1'],
        scores: { em: 1 },
        target: 1,
        category: 'algebra',
      },
      {
        sample_id: 'b',
        index: 1,
        prompt: prompt('qb'),
        responses: [''],
        extracted: [null],
        scores: { em: 0 },
        flags: ['empty_content'],
        groups: { level: '3' },
      },
      {
        sample_id: 'c',
        index: 2,
        prompt: 'plain',
        responses: ['x', 'y'],
        extracted: ['x', 'y'],
        scores: { em: 0.5 },
        details: {
          instruction_id_list: ['a:b', 'c:d'],
          strict: [
            [true, false],
            [true, true],
          ],
          loose: [
            [true, true],
            [true, true],
          ],
        },
      },
      {
        sample_id: 'd',
        index: 3,
        prompt: prompt('qd'),
        responses: [''],
        extracted: [null],
        scores: { em: 0 },
        error: 'HTTP 500',
      },
    ];
    writeFileSync(
      join(dir, 'samples.jsonl'),
      lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"torn":\n',
    );
    writeFileSync(
      join(dir, 'report.json'),
      JSON.stringify([
        {
          cache_key: 'k1',
          endpoint: 'e',
          display_request: { messages: prompt('qb'), model: 'm' },
          response: { choices: [] },
        },
      ]),
    );
    const data = buildJobReportData(dir, { now: () => new Date(0) });
    const { samples, verdictMetric } = jobSamples(data);
    assert.deepEqual(
      samples.map((s) => [s.id, s.verdict]),
      [
        ['a', 'right'],
        ['b', 'wrong'],
        ['c', 'partial'],
        ['d', 'failed'],
      ],
    );
    assert.equal(verdictMetric, 'em');
    assert.deepEqual(samples[0]!.groups, ['algebra']);
    assert.deepEqual(samples[1]!.groups, ['level:3']);
    assert.deepEqual(samples[1]!.flags, ['empty_content']);
    assert.deepEqual(samples[1]!.requests, [0]);
    assert.equal(samples[0]!.requests, undefined);
    assert.deepEqual(samples[2]!.instructions, ['a:b', 'c:d']);
    assert.deepEqual(samples[2]!.instructionsFailed, ['c:d']);
    assert.equal(samples[3]!.error, 'HTTP 500');
    assert.equal(samples[0]!.target, '1');
    assert.equal(data.requests[0]!.key, 'k1');
    assert.match(data.requests[0]!.request, /"model": "m"/);
    assert.ok(data.notes.some((n) => /1 line\(s\) of samples.jsonl could not be read/.test(n)));
    assert.ok(data.notes.some((n) => /no results.yml/.test(n)));
    assert.equal(data.generatedAt, '1970-01-01T00:00:00.000Z');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prompts as text; long texts cut with a note', () => {
  assert.equal(
    promptText([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
    ]),
    'system: s\n\nuser: u',
  );
  assert.equal(promptText('p'), 'p');
  // log-likelihood pairs: a shared context once, a shared continuation once, or each pair
  assert.equal(
    promptText([
      { context: 'Q: sky?\nA:', continuation: ' blue' },
      { context: 'Q: sky?\nA:', continuation: ' green' },
    ]),
    'Q: sky?\nA:\n\n(0)  blue\n(1)  green',
  );
  assert.equal(
    promptText([
      { context: 'Ann gave Bo', continuation: ' a cup.' },
      { context: 'Bo gave Ann', continuation: ' a cup.' },
    ]),
    '(0) Ann gave Bo\n(1) Bo gave Ann\n\n…  a cup.',
  );
  assert.equal(
    promptText([
      { context: 'a', continuation: 'b' },
      { context: 'c', continuation: 'd' },
    ]),
    '(0) a‖b\n(1) c‖d',
  );
  const long = 'x'.repeat(SAMPLE_TEXT_LIMIT + 5);
  assert.match(
    cutText(long),
    new RegExp(`^x{${SAMPLE_TEXT_LIMIT}}\\n\\[\\.\\.\\. cut: ${SAMPLE_TEXT_LIMIT + 5} characters`),
  );
  assert.equal(cutText('short'), 'short');
});

test('the page data: the lines as the engine wrote them, escaped for the page; a later line replaces an earlier one', () => {
  const hostile = '</script><!-- & \u2028\u2029 "quoted" \\ back';
  const lines = [
    { sample_id: 'a', index: 0, prompt: 'p', responses: [hostile], extracted: ['1'], scores: { em: 1 } },
    {
      sample_id: 'b',
      index: 1,
      prompt: [{ role: 'user', content: 'qb' }],
      responses: [''],
      extracted: [null],
      scores: { em: 0 },
      error: hostile,
    },
    {
      sample_id: 'c',
      index: 2,
      prompt: [{ context: hostile, continuation: ' x' }],
      responses: ['-1'],
      extracted: ['0'],
      scores: { em: 0.5 },
      details: { pred: 0 },
    },
    // answered again: takes a's place
    { sample_id: 'a', index: 0, prompt: 'p', responses: ['again'], extracted: ['0'], scores: { em: 0 } },
  ];
  const gathered = new ReportSamples();
  for (const l of lines) gathered.add(l, JSON.stringify(l));
  const pairs = [
    { cache_key: 'k', endpoint: 'e', request: { messages: [{ role: 'user', content: 'qb' }] }, response: {} },
  ];
  const data = buildJobReportData('/nonexistent-dir', { samples: gathered, pairs, now: () => new Date(0) });
  assert.deepEqual(data.lines.parsed(), [lines[3], lines[1], lines[2]]);
  assert.equal(data.lines.count, 3);
  const embedded = data.lines.json();
  assert.doesNotMatch(embedded, /<\/script|<!--|\u2028|\u2029/);
  assert.deepEqual(JSON.parse(embedded), [lines[3], lines[1], lines[2]]);
  const { samples } = jobSamples(data);
  assert.deepEqual(
    samples.map((x) => [x.id, x.verdict, x.responses[0]]),
    [
      ['a', 'wrong', 'again'],
      ['b', 'failed', ''],
      ['c', 'partial', '-1'],
    ],
  );
  assert.deepEqual(samples[1]!.requests, [0]);
  assert.equal(samples[2]!.prompt, `${hostile}\n\n(0)  x`);
  // the page as rendered carries the same data as serialising it whole
  const page = renderJobReport(data);
  const block = /<script type="application\/json" id="nel-data">(.*)<\/script>/.exec(page)![1]!;
  assert.deepEqual(JSON.parse(block), JSON.parse(embedJson(data)));
  assert.deepEqual(JSON.parse(block).lines, [lines[3], lines[1], lines[2]]);
});

test('a line longer than the limit is embedded cut, and keeps its requests; the others as written', () => {
  const longQ = 'q'.repeat(SAMPLE_TEXT_LIMIT + 10);
  const lines = [
    {
      sample_id: 'long',
      index: 0,
      prompt: [{ role: 'user', content: longQ }],
      responses: ['r'.repeat(SAMPLE_TEXT_LIMIT + 1)],
      extracted: ['1'],
      scores: { em: 1 },
      details: { note: 'd'.repeat(SAMPLE_TEXT_LIMIT + 1), instruction_id_list: ['a:b'], strict: [false] },
    },
    // long only because of its response: its prompt stays, and the page pairs it with its request
    {
      sample_id: 'reply',
      index: 1,
      prompt: [{ role: 'user', content: 'short' }],
      responses: ['x'.repeat(SAMPLE_TEXT_LIMIT)],
      extracted: [null],
      scores: { em: 0 },
    },
  ];
  const gathered = new ReportSamples();
  for (const l of lines) gathered.add(l);
  const pairs = [
    {
      cache_key: 'k0',
      endpoint: 'e',
      request: { messages: [{ role: 'user', content: 'short' }] },
      response: {},
    },
    { cache_key: 'k1', endpoint: 'e', request: { messages: lines[0]!.prompt }, response: {} },
  ];
  const data = buildJobReportData('/nonexistent-dir', { samples: gathered, pairs });
  const embedded = data.lines.json();
  assert.ok(embedded.length < 5 * SAMPLE_TEXT_LIMIT, `${embedded.length} characters embedded`);
  const { samples } = jobSamples(data);
  const [long, reply] = samples;
  assert.match(
    long!.prompt,
    new RegExp(`^user: q+\\n\\[\\.\\.\\. cut: ${SAMPLE_TEXT_LIMIT + 16} characters`),
  );
  assert.equal(long!.prompt.indexOf('\n['), SAMPLE_TEXT_LIMIT);
  assert.match(long!.responses[0]!, /\[\.\.\. cut: 20001 characters in all/);
  assert.match(JSON.parse(long!.details!).note, /\[\.\.\. cut: 20001 characters in all/);
  assert.deepEqual(long!.requests, [1]);
  assert.deepEqual(
    [long!.instructions, long!.instructionsFailed, long!.verdict],
    [['a:b'], ['a:b'], 'right'],
  );
  assert.equal(reply!.responses[0], 'x'.repeat(SAMPLE_TEXT_LIMIT));
  assert.deepEqual(reply!.requests, [0]);
});

test('the sample view is self-contained: its source alone, as the page embeds it, gives the same rows', () => {
  const lines = [
    {
      sample_id: 1,
      prompt: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
      ],
      scores: { acc: 1, f1: 0.5 },
    },
    {
      sample_id: 'x',
      prompt: [
        { context: 'c', continuation: ' a' },
        { context: 'c', continuation: ' b' },
      ],
      scores: { acc: 0, f1: 1 },
      category: 'k',
    },
    {
      sample_id: 'y',
      request: 'plain',
      responses: [3],
      error: 'HTTP 500',
      details: { groups: { level: 2 } },
    },
    { no_id: true },
  ];
  const scores = [{ metric: 'f1', score: 'f1', headline: true }];
  const requests = [{ prompt: JSON.stringify('plain') }, { prompt: null }];
  const fromSource = new Function(`return (${viewSamples.toString()});`)() as typeof viewSamples;
  const here = viewSamples(lines, scores, requests);
  assert.deepEqual(fromSource(lines, scores, requests), here);
  assert.equal(here.verdictMetric, 'f1');
  assert.deepEqual(
    here.samples.map((x) => [x.id, x.verdict, x.groups, x.requests]),
    [
      ['1', 'partial', [], undefined],
      ['x', 'right', ['k'], undefined],
      ['y', 'failed', ['level:2'], [0]],
    ],
  );
  assert.equal(here.samples[0]!.prompt, 'system: s\n\nuser: u');
  assert.deepEqual(here.samples[2]!.responses, ['3']);
});
