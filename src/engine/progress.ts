/**
 * Progress of a run: the `progress` (answered requests, cached or not) and `progress_total` files that the
 * launcher reads, and a stderr display: a live bar on a terminal, a plain line every ~5 s otherwise.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  outputDir: string;
  total: number;
  stream?: ProgressStream | null;
  now?: () => number;
  /** Minimum time between `progress` file writes. */
  fileIntervalMs?: number;
  /** Time between plain log lines when the stream is not a terminal. */
  lineIntervalMs?: number;
}

export class ProgressTracker {
  private done = 0;
  private written = -1;
  private lastFileWrite = 0;
  private lastDraw = 0;
  private readonly now: () => number;
  private readonly started: number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    writeFileAtomic(join(opts.outputDir, 'progress_total'), `${opts.total}\n`);
    this.writeFile();
  }

  get count(): number {
    return this.done;
  }

  increment(): void {
    this.done++;
    const t = this.now();
    if (t - this.lastFileWrite >= (this.opts.fileIntervalMs ?? 250)) this.writeFile();
    this.draw(false);
  }

  /** Final write and display line. */
  finish(): void {
    this.writeFile();
    this.draw(true);
  }

  private writeFile(): void {
    if (this.done <= this.written) return; // monotonic
    this.written = this.done;
    this.lastFileWrite = this.now();
    writeFileAtomic(join(this.opts.outputDir, 'progress'), `${this.done}\n`);
  }

  private draw(final: boolean): void {
    const s = this.opts.stream;
    if (!s) return;
    const t = this.now();
    const total = Math.max(1, this.opts.total);
    const pct = Math.floor((this.done / total) * 100);
    const elapsed = (t - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    if (s.isTTY) {
      if (!final && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      const width = 30;
      const filled = Math.round((this.done / total) * width);
      const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
      s.write(
        `\r[${bar}] ${this.done}/${this.opts.total} ${pct}% ${rate.toFixed(1)} req/s${final ? '\n' : ''}`,
      );
    } else {
      if (!final && t - this.lastDraw < (this.opts.lineIntervalMs ?? 5000)) return;
      this.lastDraw = t;
      s.write(`progress: ${this.done}/${this.opts.total} (${pct}%) ${rate.toFixed(1)} req/s\n`);
    }
  }
}
