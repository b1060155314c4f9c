/** run_config.yml, results.yml and metadata.yaml (engine-spec 6.2 - 6.4). */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../../common/fs.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { packageVersion } from '../../common/version.js';
import { dumpYamlSorted, sortedYamlView } from '../../common/yaml.js';
import type { Evaluation, EvaluationResult } from '../types.js';

/** Drop null/undefined values at model level (nulls inside `params.extra` are kept, like upstream). */
function excludeNone(v: unknown, keepNullsBelow: string[] = [], path = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => excludeNone(x, keepNullsBelow, path));
  if (!isPlainObject(v)) return v;
  if (keepNullsBelow.includes(path)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = excludeNone(x, keepNullsBelow, path ? `${path}.${k}` : k);
  }
  return out;
}

/** A written document as a reader of its file sees it (sortedYamlView), when it is plain data. */
const asRead = (doc: unknown): Obj | undefined => {
  const v = sortedYamlView(doc);
  return isPlainObject(v) ? v : undefined;
};

/**
 * run_config.yml: the merged evaluation without its metadata (metadata.yaml has that), keys sorted.
 * Returns it as a reader of the file sees it (the report uses that instead of parsing the file back).
 */
export function writeRunConfig(outputDir: string, evaluation: Evaluation): Obj | undefined {
  const { metadata: _m, ...rest } = evaluation;
  writeFileAtomic(join(outputDir, 'run_config.yml'), dumpYamlSorted(rest));
  return asRead(rest);
}

export function engineVersioning(env: NodeJS.ProcessEnv): Record<string, string> {
  const v: Record<string, string> = { nemo_evaluator: packageVersion() };
  if (env.CORE_EVALS_GIT_HASH) v['git-hash'] = env.CORE_EVALS_GIT_HASH;
  return v;
}

/** The run config's metadata with versioning.nemo_evaluator added; insertion order. */
export function writeMetadata(
  outputDir: string,
  metadata: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): void {
  const versioning = isPlainObject(metadata.versioning) ? metadata.versioning : {};
  const out = { ...metadata, versioning: { ...versioning, ...engineVersioning(env) } };
  writeFileAtomic(
    join(outputDir, 'metadata.yaml'),
    stringify(out, { lineWidth: 0, aliasDuplicateObjects: false }),
  );
}

export function buildResultsDocument(opts: {
  evaluation: Evaluation;
  command: string;
  results: EvaluationResult;
  env: NodeJS.ProcessEnv;
}): Record<string, unknown> {
  const { evaluation, env } = opts;
  const doc: Record<string, unknown> = {
    command: opts.command,
    config: excludeNone(evaluation.config, ['params.extra']),
    git_hash: env.CORE_EVALS_GIT_HASH ?? null,
    results: opts.results,
    target: excludeNone(evaluation.target, ['api_endpoint.adapter_config']),
  };
  if (evaluation.metadata) {
    const versioning = isPlainObject(evaluation.metadata.versioning) ? evaluation.metadata.versioning : {};
    doc.metadata = {
      __skipped_fields: 'see metadata.yaml for the rest of the fields',
      versioning: { ...versioning, ...engineVersioning(env) },
    };
  }
  return doc;
}

/** results.yml; returns it as a reader of the file sees it (see writeRunConfig). */
export function writeResults(outputDir: string, doc: Record<string, unknown>): Obj | undefined {
  writeFileAtomic(join(outputDir, 'results.yml'), dumpYamlSorted(doc));
  return asRead(doc);
}
