/** Bench inputs: gsm8k-format JSONL files of N distinct samples, cycled from the GSM8K test file. */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Gsm8kRecord {
  question: string;
  answer: string;
}

export function gsm8kSourceFile(dataDir: string): string {
  return join(dataDir, 'gsm8k', 'test.jsonl');
}

export function readGsm8k(file: string): Gsm8kRecord[] {
  if (!existsSync(file)) throw new Error(`GSM8K test file not found: ${file} (pass --data DIR)`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Gsm8kRecord);
}

/**
 * Record i of an N-sample set: the source cycled, each later cycle's question marked with its cycle
 * number, so every prompt is distinct (no cache hit inside one run).
 */
export function cycledRecord(source: readonly Gsm8kRecord[], i: number): Gsm8kRecord {
  const base = source[i % source.length]!;
  const cycle = Math.floor(i / source.length);
  return cycle === 0 ? base : { question: `${base.question} (variant ${cycle})`, answer: base.answer };
}

/** Write `n` distinct records to `file` (streamed in chunks; 100,000 records are about 60 MB). */
export function writeCycledGsm8k(source: readonly Gsm8kRecord[], n: number, file: string): void {
  const fd = openSync(file, 'w');
  try {
    let chunk = '';
    for (let i = 0; i < n; i++) {
      chunk += `${JSON.stringify(cycledRecord(source, i))}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    if (chunk) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** The chat prompt the engine's gsm8k benchmark sends (0-shot instruction + question). */
export async function gsm8kChatPrompt(): Promise<(question: string) => string> {
  let instruction =
    'Solve the following math problem step by step. The last line of your response should be of the form ' +
    '"The final answer is <number>" where <number> is the final numerical answer, without units.';
  try {
    const mod = await import('../../src/engine/benchmarks/gsm8k.js');
    if (typeof mod.GSM8K_INSTRUCTION === 'string') instruction = mod.GSM8K_INSTRUCTION;
  } catch {
    /* engine not built: keep the copy above */
  }
  return (question) => `${instruction}\n\n${question}`;
}

/** The request body the engine sends for a gsm8k chat sample with default params. */
export function chatBody(model: string, content: string): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content }], temperature: 0, top_p: 1, max_tokens: 1024 };
}
