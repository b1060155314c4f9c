import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embedAhead, embedJson } from './html.js';

const hostile = '</script><!-- & \u2028 \u2029 "quoted" \\ \u0000nel-samples-0000\u0000';

test('embedJson: script-safe, and JSON.parse reads the value back unchanged', () => {
  const value = { kind: 'job', title: hostile, samples: [{ id: hostile }] };
  const text = embedJson(value);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), value);
});

test('embedJson: samples serialized ahead are spliced in, with their late keys as they are now', () => {
  const samples = [
    { id: 'a', prompt: hostile, verdict: 'unscored', scores: { acc: 1 } } as Record<string, unknown>,
    { id: 'b', prompt: 'p', verdict: 'unscored', scores: { acc: 0 } } as Record<string, unknown>,
  ];
  for (const s of samples) embedAhead(s, ['verdict', 'requests']);
  // set after the text was written, as the report's finish does
  samples[0]!.verdict = 'right';
  samples[0]!.requests = [0, 2];
  samples[1]!.verdict = 'wrong';
  const value = { kind: 'job', title: hostile, samples, after: { n: 2, note: hostile } };
  const text = embedJson(value);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
  // a key left out of `late` keeps the value it had when serialized ahead
  samples[1]!.prompt = 'changed';
  assert.equal((JSON.parse(embedJson(value)) as typeof value).samples[1]!.prompt, 'p');
});

test('embedJson: a list with a sample not serialized ahead is serialized whole', () => {
  const a = { id: 'a', verdict: 'right' };
  embedAhead(a, ['verdict']);
  const value = { kind: 'job', samples: [a, { id: 'b', verdict: 'wrong' }] };
  assert.deepEqual(JSON.parse(embedJson(value)), value);
  const empty = { id: 'only-late', verdict: 'right' };
  embedAhead(empty, ['id', 'verdict']);
  assert.deepEqual(JSON.parse(embedJson({ samples: [empty] })), { samples: [empty] });
});
