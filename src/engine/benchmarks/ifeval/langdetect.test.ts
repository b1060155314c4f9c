import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LangDetectError, PyRandom, loadLanguageDetector } from './langdetect.js';

test("Python's random.Random(0): random(), gauss() and choice() give CPython's sequences", () => {
  const r = new PyRandom();
  r.seed(0);
  assert.equal(r.random(), 0.8444218515250481);
  assert.equal(r.random(), 0.7579544029403025);
  r.seed(0);
  assert.equal(r.gauss(), 0.9417154046806644);
  assert.equal(r.gauss(), -1.3965781047011498);
  r.seed(0);
  assert.deepEqual(
    Array.from({ length: 10 }, () => r.below(10)),
    [6, 6, 0, 4, 8, 7, 6, 4, 7, 5],
  );
});

test('langdetect: languages of clear texts, the same answer every time, no features is an error', async () => {
  const d = await loadLanguageDetector();
  assert.equal(d.languages.length, 55);
  const cases: [string, string][] = [
    ['The quick brown fox jumps over the lazy dog while the farmer watches.', 'en'],
    ['Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.', 'fr'],
    ['Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zusieht.', 'de'],
    ['Быстрая коричневая лиса прыгает через ленивую собаку, пока фермер смотрит.', 'ru'],
    ['तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है जबकि किसान देखता है।', 'hi'],
    ['빠른 갈색 여우가 게으른 개를 뛰어넘는 동안 농부가 지켜본다.', 'ko'],
    ['Con cáo nâu nhanh nhẹn nhảy qua con chó lười trong khi người nông dân quan sát.', 'vi'],
  ];
  for (const [text, lang] of cases) {
    assert.equal(d.detect(text), lang, text);
    assert.equal(d.detect(text), lang, 'deterministic');
  }
  const probs = d.probabilities(cases[0]![0]);
  assert.ok(probs[0]!.prob > 0.9 && probs.every((p) => p.prob > 0.1));
  assert.throws(() => d.detect('123 456 !!!'), LangDetectError);
  assert.throws(() => d.detect(''), LangDetectError);
});
