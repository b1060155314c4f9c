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

/** Upstream's destinations that this build leaves out on purpose (README: "MLflow, Weights & Biases ..."). */
const NOT_IN_THIS_BUILD = new Set(['mlflow', 'wandb', 'gsheets', 'jet']);

function unknownExporter(dest: string, where: string): NelError {
  const available = exporterNames().join(', ');
  if (NOT_IN_THIS_BUILD.has(dest)) {
    return new NelError(
      'USAGE',
      `${where}exporter '${dest}' is not in this build (upstream's mlflow, wandb, gsheets and jet exporters are left out); available: ${available}`,
      {
        hint:
          where === ''
            ? "export with --dest local (--format json, csv or jsonl) and log the files with the service's own client"
            : "drop it (-o '~execution.auto_export') and export with nel export --dest local, then log the files with the service's own client",
      },
    );
  }
  return new NelError('USAGE', `${where}no exporter '${dest}'; available: ${available}`, {
    hint: `use one of: ${available}`,
  });
}

export function getExporter(dest: string): Exporter {
  const e = exporters.get(dest);
  if (!e) throw unknownExporter(dest, '');
  return e;
}

/** Refuses, before anything is planned, an `auto_export.destinations` entry no exporter answers to. */
export function checkExportDestinations(destinations: readonly string[], key: string): void {
  for (const d of destinations) if (!exporters.has(d)) throw unknownExporter(d, `${key}: `);
}
