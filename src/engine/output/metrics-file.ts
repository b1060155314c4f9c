/** eval_factory_metrics.json: several writers each merge their own top-level key (engine-spec 6.5). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { isPlainObject } from '../../common/objects.js';

export const METRICS_FILE = 'eval_factory_metrics.json';

export function readMetricsFile(outputDir: string): Record<string, unknown> {
  const p = join(outputDir, METRICS_FILE);
  if (!existsSync(p)) return {};
  try {
    const v = JSON.parse(readFileSync(p, 'utf8')) as unknown;
    return isPlainObject(v) ? v : {};
  } catch {
    return {};
  }
}

/** Replace one top-level block, keeping the others. */
export function mergeMetricsBlock(outputDir: string, key: string, block: unknown): void {
  const all = readMetricsFile(outputDir);
  all[key] = block;
  writeFileAtomic(join(outputDir, METRICS_FILE), JSON.stringify(all, null, 2) + '\n');
}
