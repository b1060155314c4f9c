/**
 * `env_vars` maps: parsing values into sources (names only, never values), merging the groups,
 * and finding host variables that are unset.
 *
 * Accepted values: `host:NAME` (the launcher's environment), `lit:VALUE` (a literal), `runtime:NAME`
 * (read from the script's environment when it runs), and the seed's form: a bare variable name means
 * `host:NAME` (`OPENAI_API_KEY: MY_KEY` passes the host's `$MY_KEY` as `OPENAI_API_KEY`).
 */
import { NelError } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { isShellVarName } from '../common/shell.js';
import type { EnvSource, EnvVarSpec } from './types.js';

const PREFIX_HINT = "write 'lit:<value>' for a literal, 'host:NAME' for a host variable or 'runtime:NAME'";

/** Parse one `env_vars` entry. `declaredAt` is the dotted config path, for messages. */
export function parseEnvVarValue(target: string, value: unknown, declaredAt: string): EnvVarSpec {
  if (!isShellVarName(target)) {
    throw new NelError('ENV_INVALID', `${declaredAt}: '${target}' is not a valid environment variable name`, {
      hint: 'use letters, digits and underscores, not starting with a digit',
    });
  }
  if (typeof value !== 'string') {
    const shown =
      value === null
        ? 'null'
        : typeof value === 'object'
          ? 'a ' + (Array.isArray(value) ? 'list' : 'map')
          : String(value);
    throw new NelError(
      'ENV_INVALID',
      `${declaredAt}: the value ${shown} is not a variable name or a prefixed value`,
      {
        hint:
          typeof value === 'number' || typeof value === 'boolean'
            ? `write it as a literal string: ${target}: 'lit:${String(value)}'`
            : PREFIX_HINT,
      },
    );
  }
  const source = parseSource(value, target, declaredAt);
  return { target, source, declaredAt };
}

function parseSource(value: string, target: string, declaredAt: string): EnvSource {
  const named = (kind: 'host' | 'runtime', name: string): EnvSource => {
    if (!isShellVarName(name)) {
      throw new NelError('ENV_INVALID', `${declaredAt}: '${kind}:' must be followed by a variable name`, {
        hint: `for example ${target}: '${kind}:MY_VAR'`,
      });
    }
    return { kind, name };
  };
  if (value.startsWith('host:')) return named('host', value.slice(5));
  if (value.startsWith('runtime:')) return named('runtime', value.slice(8));
  if (value.startsWith('lit:')) return { kind: 'lit', value: value.slice(4) };
  if (isShellVarName(value)) return { kind: 'host', name: value };
  const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(value);
  if (m) {
    throw new NelError('ENV_INVALID', `${declaredAt}: '${value}' is not a valid env_vars value`, {
      hint: `to pass the host variable write ${target}: 'host:${m[1]}'`,
    });
  }
  throw new NelError('ENV_INVALID', `${declaredAt}: a bare value must be the name of a host variable`, {
    hint: `for a literal write ${target}: 'lit:<value>' (${PREFIX_HINT})`,
  });
}

/** Parse a whole `env_vars` map (null/absent = empty). */
export function parseEnvVarsMap(map: unknown, declaredAt: string): EnvVarSpec[] {
  if (map === undefined || map === null) return [];
  if (!isPlainObject(map)) {
    throw new NelError('ENV_INVALID', `${declaredAt} must be a map of NAME: value`, { hint: PREFIX_HINT });
  }
  return Object.entries(map).map(([k, v]) => parseEnvVarValue(k, v, `${declaredAt}.${k}`));
}

/** Merge groups in order; a later declaration of the same target wins (keeping its first position). */
export function mergeEnvGroups(...groups: EnvVarSpec[][]): EnvVarSpec[] {
  const out = new Map<string, EnvVarSpec>();
  for (const g of groups) for (const s of g) out.set(s.target, s);
  return [...out.values()];
}

/** The API key variable name from `target.api_endpoint.api_key_name`, or null when none is configured. */
export function apiKeyName(resolved: Obj): string | null {
  const target = resolved.target;
  const ep = isPlainObject(target) ? target.api_endpoint : undefined;
  const v = isPlainObject(ep) ? ep.api_key_name : undefined;
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && /^<.*>$/.test(v)) return null; // the packaged placeholder, never filled in
  if (typeof v !== 'string' || !isShellVarName(v)) {
    throw new NelError(
      'ENV_INVALID',
      `target.api_endpoint.api_key_name must be the NAME of an environment variable`,
      {
        hint: 'for example api_key_name: NGC_API_KEY (the key itself is read from that variable)',
      },
    );
  }
  return v;
}

/**
 * The evaluation group of task `taskIndex`: top-level `env_vars` < `evaluation.env_vars` < the task's
 * `env_vars`, then the API key variable under its own name unless already declared.
 */
export function evaluationEnvVars(resolved: Obj, task: Obj, taskIndex: number): EnvVarSpec[] {
  const evaluation = isPlainObject(resolved.evaluation) ? resolved.evaluation : {};
  const merged = mergeEnvGroups(
    parseEnvVarsMap(resolved.env_vars, 'env_vars'),
    parseEnvVarsMap(evaluation.env_vars, 'evaluation.env_vars'),
    parseEnvVarsMap(task.env_vars, `evaluation.tasks[${taskIndex}].env_vars`),
  );
  const key = apiKeyName(resolved);
  if (key && !merged.some((s) => s.target === key)) {
    merged.push({
      target: key,
      source: { kind: 'host', name: key },
      declaredAt: 'target.api_endpoint.api_key_name',
    });
  }
  return merged;
}

/** The deployment group: top-level `env_vars` < `deployment.env_vars`. */
export function deploymentEnvVars(resolved: Obj): EnvVarSpec[] {
  const deployment = isPlainObject(resolved.deployment) ? resolved.deployment : {};
  return mergeEnvGroups(
    parseEnvVarsMap(resolved.env_vars, 'env_vars'),
    parseEnvVarsMap(deployment.env_vars, 'deployment.env_vars'),
  );
}

/** Host variables referenced by `specs` that are unset in `env` (each name once, first declaration). */
export function findMissingHostVars(
  specs: EnvVarSpec[],
  env: NodeJS.ProcessEnv,
): { name: string; declaredAt: string }[] {
  const seen = new Set<string>();
  const out: { name: string; declaredAt: string }[] = [];
  for (const s of specs) {
    if (s.source.kind !== 'host' || env[s.source.name] !== undefined || seen.has(s.source.name)) continue;
    seen.add(s.source.name);
    out.push({ name: s.source.name, declaredAt: s.declaredAt });
  }
  return out;
}

/** How a spec reads in dry-run output: names for host/runtime, the literal for lit. */
export function describeEnvSource(s: EnvVarSpec): string {
  switch (s.source.kind) {
    case 'host':
      return `host:${s.source.name}`;
    case 'runtime':
      return `runtime:${s.source.name}`;
    case 'lit':
      return `lit:${JSON.stringify(s.source.value)}`;
  }
}
