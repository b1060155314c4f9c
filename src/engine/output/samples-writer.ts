/**
 * samples.jsonl: one line per sample, streamed to disk as samples complete. Lines are buffered and
 * written in chunks (at `chunkBytes`, `flushMs` after the first buffered line, and on close).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdirp } from '../../common/fs.js';

export interface SampleLine {
  sample_id: string;
  index: number;
  prompt: unknown;
  responses: string[];
  extracted: (string | null)[];
  scores: Record<string, number>;
  target?: unknown;
  /** The sample's sub-group (SampleScore.category, e.g. an MMLU subject). */
  category?: string;
  /** Its sub-groups along several dimensions (SampleScore.groups, e.g. {subject, level}). */
  groups?: Record<string, string>;
  /** Benchmark-specific details of the sample (SampleScore.details). */
  details?: Record<string, unknown>;
  /** e.g. ["empty_content"]: the reply's text was empty (content null, or only reasoning). */
  flags?: string[];
  /** The endpoint's error when the sample failed (tolerated by extra.max_failed_samples). */
  error?: string;
}

export class SamplesWriter {
  private fd: number | null;
  private buffered: string[] = [];
  private bufferedChars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly opts: { chunkBytes?: number; flushMs?: number } = {},
  ) {
    mkdirp(dirname(path));
    this.fd = openSync(path, 'w');
  }

  /** Buffer a line; returns its JSON (what the report embeds), or null once the writer is closed. */
  write(line: SampleLine): string | null {
    if (this.fd === null) return null;
    const json = JSON.stringify(line);
    const text = json + '\n';
    this.buffered.push(text);
    this.bufferedChars += text.length;
    if (this.bufferedChars >= (this.opts.chunkBytes ?? 256 * 1024)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs ?? 1000).unref();
    return json;
  }

  /** Write the buffered lines. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd === null || this.buffered.length === 0) return;
    const buf = Buffer.from(this.buffered.join(''), 'utf8');
    this.buffered = [];
    this.bufferedChars = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
