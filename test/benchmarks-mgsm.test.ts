import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNelError } from '../src/common/errors.js';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { MGSM_ANSWER_PREFIXES, MGSM_LANGUAGES, type MgsmLanguage } from '../src/engine/benchmarks/mgsm.js';
import type { BenchmarkContext, BenchmarkSample } from '../src/engine/benchmarks/types.js';
import type { EvaluationResult } from '../src/engine/types.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'mgsm');
const mgsm = getBenchmark('builtin.mgsm')!;
const LATIN = ['de', 'en', 'es', 'fr', 'sw'];

function ctx(extra: Record<string, unknown>, params: BenchmarkContext['params'] = {}): BenchmarkContext {
  return benchmarkContext({ dataset_path: DATA, ...extra }, { params });
}

function languageScore(result: EvaluationResult, group: string) {
  return result.groups.mgsm.groups![group]!.metrics.score.scores.micro;
}

function countByLanguage(samples: BenchmarkSample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) counts[String(s.data.language)] = (counts[String(s.data.language)] ?? 0) + 1;
  return counts;
}

test('mgsm on the real data: 11 x 250 items; gold replies score 1 and wrong ones 0 in every language', async () => {
  const run = await mgsm.prepare(ctx({}));
  const samples = Array.from(run.samples.samples());
  assert.equal(run.samples.total, 2750);
  assert.deepEqual(countByLanguage(samples), Object.fromEntries(MGSM_LANGUAGES.map((l) => [l, 250])));
  assert.deepEqual(
    samples.map((s) => s.index),
    samples.map((_, i) => i),
  );
  assert.equal(new Set(samples.map((s) => s.id)).size, 2750);
  for (const correct of [true, false]) {
    const scores = await Promise.all(
      samples.map((s) => run.score(s, [run.referenceResponse(s, correct, 'chat')])),
    );
    const result = run.aggregate(scores);
    const want = correct ? 1 : 0;
    const main = result.tasks.mgsm.metrics.score.scores.micro;
    assert.equal(main.value, want);
    assert.equal(main.stats.count, 2750);
    assert.deepEqual(result.groups.mgsm.metrics, result.tasks.mgsm.metrics);
    for (const lang of MGSM_LANGUAGES) {
      const s = languageScore(result, lang);
      assert.equal(s.value, want, `${lang} correct=${correct}`);
      assert.equal(s.stats.count, 250, lang);
    }
    assert.equal(languageScore(result, 'group_latin').stats.count, 1250);
    assert.equal(languageScore(result, 'group_non_latin').stats.count, 1500);
    assert.equal(languageScore(result, 'group_latin').value, want);
    // each reply is read after its own language's prefix; the gold's commas (e.g. "2,125") are dropped
    for (let i = 0; i < samples.length; i++) {
      const gold = String(samples[i]!.data.answer_number).replaceAll(',', '');
      if (correct) assert.equal(scores[i]!.extracted[0], gold);
      else assert.notEqual(scores[i]!.extracted[0], gold);
      assert.equal(scores[i]!.category, samples[i]!.data.language);
    }
  }
  // commas in gold answers are in the data (so the normalisation is exercised)
  assert.ok(samples.filter((s) => String(s.data.answer_number).includes(',')).length >= 11);
});

test('mgsm: the request is one user message, the language instruction then the question', async () => {
  const run = await mgsm.prepare(ctx({ languages: ['zh'] }, { limit_samples: 1 }));
  const [sample] = Array.from(run.samples.samples());
  const req = run.buildRequest(sample!);
  assert.equal(req.messages!.length, 1);
  assert.equal(req.messages![0]!.role, 'user');
  const content = String(req.messages![0]!.content);
  assert.ok(content.startsWith('解决这个数学问题。'));
  assert.ok(content.endsWith(`\n\n${String(sample!.data.question)}`));
  assert.equal(mgsm.supportedEndpointTypes.join(), 'chat');
  assert.deepEqual(mgsm.mirrors, ['simple_evals.mgsm']);
});

test('mgsm: replies in each language format, with number formats as the reference reads them', async () => {
  const run = await mgsm.prepare(ctx({}, { limit_samples: 1 }));
  for (const sample of run.samples.samples()) {
    const lang = sample.data.language as MgsmLanguage;
    const p = MGSM_ANSWER_PREFIXES[lang];
    const gold = Number(String(sample.data.answer_number).replaceAll(',', ''));
    const cases: [string, boolean][] = [
      [`${gold * 2} - ${gold} = ${gold}\n${p}: ${gold.toLocaleString('en-US')}`, true],
      [`${p}: ${gold}.00`, true],
      [`${p}: ${gold}.5`, false],
      [`${p}: ${gold + 1}`, false],
      [`${gold}`, false],
      [`${p}: ${gold}\n${p}: ${gold + 1}`, false],
    ];
    const scored = await run.score(
      sample,
      cases.map((c) => c[0]),
    );
    assert.deepEqual(
      scored.correct,
      cases.map((c) => c[1]),
      lang,
    );
    assert.equal(scored.scores.score, 2 / cases.length, lang);
    assert.equal(scored.extracted[4], null, 'no prefix: nothing extracted');
  }
});

test('mgsm: limit_samples applies per language; extra.languages picks and orders a subset', async () => {
  const ten = await runSamples(mgsm, ctx({}, { limit_samples: 10 }));
  assert.equal(ten.length, 110);
  assert.deepEqual(Object.values(countByLanguage(ten)), Array(11).fill(10));
  assert.deepEqual(
    ten.slice(0, 11).map((s) => s.id),
    [...Array(10).keys()].map((i) => `bn/${i}`).concat('de/0'),
  );
  const two = await runSamples(mgsm, ctx({ languages: ['sw', 'ja'] }, { limit_samples: 0.1 }));
  assert.deepEqual(countByLanguage(two), { sw: 25, ja: 25 });
  assert.equal(two[0]!.id, 'sw/0');
  const csv = await runSamples(mgsm, ctx({ languages: 'de,fr' }));
  assert.deepEqual(countByLanguage(csv), { de: 250, fr: 250 });
  // the English questions are the English file's
  const en = await runSamples(mgsm, ctx({ languages: ['en'] }, { limit_samples: 1 }));
  assert.match(String(en[0]!.data.question), /^Janet’s ducks lay 16 eggs/);
  assert.equal(en[0]!.data.answer_number, '18');
  await assert.rejects(mgsm.prepare(ctx({ languages: ['en', 'pt'] })), (e: unknown) => {
    assert.ok(isNelError(e));
    assert.equal(e.message, 'mgsm: unknown language "pt" in extra.languages');
    return true;
  });
  await assert.rejects(mgsm.prepare(ctx({}, { limit_samples: -1 })), /limit_samples must be/);
});

test('mgsm: folders with some of the files, single files, and wrong layouts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mgsm-'));
  try {
    const some = join(dir, 'some');
    const lone = join(dir, 'lone');
    mkdirSync(some);
    mkdirSync(lone);
    for (const l of ['de', 'th']) symlinkSync(join(DATA, `mgsm_${l}.tsv`), join(some, `mgsm_${l}.tsv`));
    symlinkSync(join(DATA, 'mgsm_ru.tsv'), join(lone, 'questions.tsv'));
    // a folder with two languages runs them when asked; by default all 11 are expected
    assert.deepEqual(
      countByLanguage(await runSamples(mgsm, ctx({ dataset_path: some, languages: ['th', 'de'] }))),
      {
        th: 250,
        de: 250,
      },
    );
    await assert.rejects(mgsm.prepare(ctx({ dataset_path: some })), (e: unknown) => {
      assert.ok(isNelError(e));
      assert.match(
        e.message,
        /^mgsm: no data file for languages bn, en, es, fr, ja, ru, sw, te, zh \(found: de, th\)$/,
      );
      assert.match(e.hint ?? '', /extra\.languages/);
      return true;
    });
    // one file: its name's language, or the one asked for
    const th = await runSamples(mgsm, ctx({ dataset_path: join(some, 'mgsm_th.tsv') }));
    assert.deepEqual(countByLanguage(th), { th: 250 });
    const ru = await runSamples(mgsm, ctx({ dataset_path: join(lone, 'questions.tsv'), languages: 'ru' }));
    assert.deepEqual(countByLanguage(ru), { ru: 250 });
    await assert.rejects(
      mgsm.prepare(ctx({ dataset_path: join(lone, 'questions.tsv') })),
      /cannot tell the language/,
    );
    // a header row, a missing answer, a decimal answer: one-line errors before any request
    const bad: [string, RegExp][] = [
      ['question\tanswer_number\nHow many?\t3\n', /record 1 is not a question and an integer answer_number/],
      ['How many?\t3\nAnd then?\n', /mgsm_en\.tsv:2: 1 field, expected 2 \(question, answer_number\)/],
      ['How many?\t3.5\n', /record 1 is not a question and an integer answer_number/],
    ];
    for (const [text, message] of bad) {
      const file = join(dir, 'mgsm_en.tsv');
      writeFileSync(file, text);
      await assert.rejects(mgsm.prepare(ctx({ dataset_path: file })), (e: unknown) => {
        assert.ok(isNelError(e), String(e));
        assert.match(e.message, message);
        assert.ok(e.hint);
        return true;
      });
    }
    // JSON lines with the hub's field names work too
    const jsonl = join(dir, 'mgsm_sw.jsonl');
    writeFileSync(jsonl, '{"question": "Q?", "answer_number": 1200}\n');
    const [sw] = await runSamples(mgsm, ctx({ dataset_path: jsonl }));
    assert.deepEqual(sw!.data, { question: 'Q?', answer_number: '1200', language: 'sw' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mgsm end to end against the reference endpoint at accuracy 0.5: 0.5 overall and in each language', async () => {
  const endpoint = await startReferenceEndpoint({ benchmark: 'mgsm', datasetPath: DATA, accuracy: 0.5 });
  try {
    const run = await runSelfCheck({
      benchmark: mgsm,
      url: endpoint.url,
      params: { extra: { dataset_path: DATA } },
      env: {},
      concurrency: 16,
    });
    const main = run.result.tasks.mgsm.metrics.score.scores.micro;
    assert.equal(main.value, 0.5);
    assert.equal(main.stats.count, 2750);
    assert.ok(Math.abs(main.stats.stderr! - 0.5 / Math.sqrt(2749)) < 1e-12);
    for (const lang of MGSM_LANGUAGES) {
      assert.equal(languageScore(run.result, lang).value, 0.5, lang);
      assert.equal(languageScore(run.result, lang).stats.count, 250, lang);
    }
    for (const group of ['group_latin', 'group_non_latin'])
      assert.equal(languageScore(run.result, group).value, 0.5);
    assert.deepEqual(
      Object.keys(run.result.groups.mgsm.groups!),
      [...MGSM_LANGUAGES, 'group_latin', 'group_non_latin'].sort(),
    );
    assert.ok(LATIN.every((l) => run.scores.some((s) => s.category === l)));
    const stats = endpoint.stats();
    assert.equal(stats.unknown_prompts, 0);
    assert.equal(stats.answered_ok, 2750);
  } finally {
    await endpoint.close();
  }
});
