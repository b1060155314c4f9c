import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SamplesWriter, type SampleLine } from './samples-writer.js';

const HOSTILE = [
  '',
  ' "q" ',
  'back\\slash',
  'new\nline\ttab',
  '</script>',
  'é 中文 🙂',
  '\uD83D lone',
  '\u2028',
  '"}]',
];

/** A small deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function linesFor(seed: number): SampleLine[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const text = () => pick(HOSTILE) + pick(['Question: x?\nAnswer:', ' choice', '', 'The _ fell']);
  const out: SampleLine[] = [];
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(r() * 5);
    const shared = text();
    // a shared context (ARC, PIQA, ...), a shared continuation (WinoGrande), or neither
    const kind = r();
    const prompt = Array.from({ length: n }, () =>
      kind < 0.5
        ? { context: shared, continuation: text() }
        : kind < 0.8
          ? { context: text(), continuation: shared }
          : { context: text(), continuation: text() },
    );
    const line: SampleLine = {
      sample_id: pick(['Mercury_1', ...HOSTILE]),
      index: i,
      prompt,
      responses: prompt.map(() => String(-r() * 10)),
      extracted: [String(Math.floor(r() * n))],
      scores: { acc: r() < 0.5 ? 1 : 0, acc_norm: r() < 0.1 ? NaN : 1 },
      target: pick([undefined, 'x', 0, ...HOSTILE]),
    };
    if (r() < 0.7) line.details = { loglikelihoods: [-1.5, -0.25], is_greedy: [true, false], pred: 0 };
    if (r() < 0.1) line.error = pick(HOSTILE);
    if (r() < 0.1) line.flags = ['empty_content'];
    out.push(line);
  }
  return out;
}

test('SamplesWriter writes one JSON line per sample, read back unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-samples-writer-'));
  try {
    const path = join(dir, 'samples.jsonl');
    const w = new SamplesWriter(path, { chunkBytes: 4096 });
    const lines = linesFor(7);
    for (const l of lines) w.write(l);
    w.close();
    const back = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(back.length, lines.length);
    back.forEach((text, i) => assert.equal(text, JSON.stringify(lines[i])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
