import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from './paths.js';

/** Values for the `???` entries some upstream examples leave for the user. */
export const CONFORMANCE_OVERRIDES: Record<string, string[]> = {
  'v0.2.8/local_auto_export.yaml': ['export.mlflow.tracking_uri=http://127.0.0.1:5000'],
  'v0.2.8/local_nvidia_nemotron_3_nano_30b_a3b.yaml': [
    'evaluation.tasks.ns_hle.nemo_evaluator_config.config.params.extra.judge.url=http://127.0.0.1:9000/v1',
  ],
  'v0.2.8/local_safety.yaml': [
    'evaluation.tasks.aegis_v2.nemo_evaluator_config.config.params.extra.judge.url=http://127.0.0.1:9000/v1',
    'evaluation.tasks.compliance.nemo_evaluator_config.config.params.extra.judge.url=http://127.0.0.1:9001/v1',
    'evaluation.tasks.compliance.nemo_evaluator_config.config.params.extra.judge.model_id=judge',
  ],
};

export const conformanceRoot = (): string => sharedPath('conformance', 'upstream-examples');

/** The upstream example configs, as `<version>/<file>.yaml` relative to conformanceRoot(). */
export function conformanceFiles(): string[] {
  const root = conformanceRoot();
  return ['v0.1.28', 'v0.2.8'].flatMap((v) =>
    readdirSync(join(root, v))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => `${v}/${f}`),
  );
}
