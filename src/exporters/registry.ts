/** Export destinations by `--dest` name; adding one is a file implementing Exporter plus a line here. */
import { NelError } from '../common/errors.js';
import { localExporter } from './local.js';
import type { Exporter } from './types.js';

const exporters = new Map<string, Exporter>([[localExporter.name, localExporter as unknown as Exporter]]);

export function registerExporter(exporter: Exporter): void {
  if (exporters.has(exporter.name))
    throw new NelError('USAGE', `an exporter named '${exporter.name}' is already registered`);
  exporters.set(exporter.name, exporter);
}

export function exporterNames(): string[] {
  return [...exporters.keys()];
}

export function getExporter(dest: string): Exporter {
  const e = exporters.get(dest);
  if (!e) {
    throw new NelError(
      'USAGE',
      `Exporter '${dest}' not found. Available destinations: [${exporterNames().join(', ')}]`,
    );
  }
  return e;
}
