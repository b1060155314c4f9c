/** samples.jsonl: one line per sample, streamed to disk as samples complete. */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SampleLine {
  sample_id: string;
  index: number;
  prompt: unknown;
  responses: string[];
  extracted: (string | null)[];
  scores: Record<string, number>;
  target?: unknown;
}

export class SamplesWriter {
  private fd: number | null;
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
  }
  write(line: SampleLine): void {
    if (this.fd === null) return;
    const buf = Buffer.from(JSON.stringify(line) + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
