/**
 * Loading a run config: find the file, compose its defaults list (Hydra mode) or take it as
 * written (raw mode), apply `-o` overrides, resolve interpolations, validate.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { NelError } from '../common/errors.js';
import { type Obj } from '../common/objects.js';
import { dumpYaml } from '../common/yaml.js';
import { composeConfig, isConfigGroup, mergeConfig, packagedConfigDir, readConfigFile } from './compose.js';
import { resolveInterpolations } from './interpolate.js';
import {
  applyKeyOverride,
  applyTaskNameOverride,
  isTaskNameOverride,
  parseOverride,
  type ParsedOverride,
} from './overrides.js';
import {
  checkNoMissingValues,
  foldMisplacedTaskTarget,
  normalizeTaskAliases,
  validateConfig,
  type LauncherConfig,
} from './schema.js';

export { loadEnvFile, parseEnvFile, type EnvFileResult } from './env-file.js';
export { packagedConfigDir, listGroupOptions } from './compose.js';
export { parseOverride, parseOverrideValue } from './overrides.js';
export { resolveInterpolations } from './interpolate.js';
export { EVALUATION_KEYS, TASK_KEYS, MOUNT_KEYS } from './schema.js';

export interface LoadConfigOptions {
  /** `--config PATH` */
  config?: string;
  /** `--config-dir DIR` (with `configName`) */
  configDir?: string;
  /** `--config-name NAME` (without extension) */
  configName?: string;
  mode?: 'hydra' | 'raw';
  overrides?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  /** composed + overrides, NOT interpolated (the dry-run prints this) */
  raw: Record<string, unknown>;
  /**
   * fully interpolated plain object, validated by the schema (config/schema.ts); `launcherConfig`
   * gives it with its type
   */
  resolved: LauncherConfig;
  sourcePath: string | null;
  sourceText: string | null;
  warnings: string[];
}

const RAW_WITH_OVERRIDES = 'Cannot use --config-mode=raw with --override. Raw mode only works with --config.';

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The user's config file from `--config` or `--config-dir/--config-name`. */
export function findConfigFile(opts: LoadConfigOptions): string {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.config !== undefined) {
    const p = resolve(cwd, expandHome(opts.config));
    if (isFile(p)) return p;
    for (const ext of ['.yaml', '.yml']) if (!/\.ya?ml$/.test(p) && isFile(p + ext)) return p + ext;
    throw new NelError('CONFIG_NOT_FOUND', `config file ${p} not found`, {
      hint: existsSync(p) ? 'give the path of a YAML file, not a folder' : 'check the path given to --config',
    });
  }
  if (opts.configName !== undefined) {
    const dir = resolve(cwd, expandHome(opts.configDir ?? '.'));
    const name = opts.configName.replace(/\.ya?ml$/, '');
    for (const ext of ['.yaml', '.yml']) {
      const p = resolve(dir, name + ext);
      if (isFile(p)) return p;
    }
    throw new NelError(
      'CONFIG_NOT_FOUND',
      `config '${name}' not found in ${dir} (looked for ${name}.yaml and ${name}.yml)`,
      {
        hint: 'check --config-dir and --config-name (the name without .yaml)',
      },
    );
  }
  if (opts.configDir !== undefined) {
    throw new NelError('USAGE', '--config-dir needs --config-name', {
      hint: 'e.g. --config-dir examples --config-name local_llama_3_1_8b_instruct, or use --config FILE',
    });
  }
  throw new NelError('USAGE', 'no config given', {
    hint: 'pass --config FILE.yaml (or --config-dir DIR --config-name NAME)',
  });
}

/**
 * The validated config of `loaded`, typed. `loadConfig` has validated it already (the check is the
 * fast path then); a hand-built LoadedConfig is validated here, with the usual one-line errors.
 */
export function launcherConfig(loaded: Pick<LoadedConfig, 'resolved' | 'sourcePath'>): LauncherConfig {
  const config = loaded.resolved;
  validateConfig(config, loaded.sourcePath);
  return config;
}

/** Load, compose, override, interpolate and validate a run config. */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const env = opts.env ?? process.env;
  const mode = opts.mode ?? 'hydra';
  const overrides = opts.overrides ?? [];
  if (mode !== 'hydra' && mode !== 'raw') {
    throw new NelError('USAGE', `unknown config mode '${String(mode)}'`, {
      hint: 'use --config-mode hydra or raw',
    });
  }
  if (mode === 'raw' && overrides.length > 0) {
    throw new NelError('CONFIG_OVERRIDE', RAW_WITH_OVERRIDES, {
      hint: 'edit the file instead, or drop --config-mode raw',
    });
  }
  const sourcePath = findConfigFile(opts);
  const { content, text } = readConfigFile(sourcePath);
  const warnings: string[] = [];

  let raw: Obj;
  if (mode === 'raw') {
    raw = content;
  } else {
    raw = composeWithOverrides(sourcePath, text, content, overrides);
    raw['user_config_path'] = sourcePath;
  }

  checkNoMissingValues(raw, sourcePath);
  const resolved = resolveInterpolations(raw, { env, source: sourcePath });
  normalizeTaskAliases(resolved, mergeConfig);
  warnings.push(...foldMisplacedTaskTarget(resolved, mergeConfig, sourcePath));
  validateConfig(resolved, sourcePath);
  return { raw, resolved, sourcePath, sourceText: text, warnings };
}

function composeWithOverrides(sourcePath: string, text: string, content: Obj, overrideTexts: string[]): Obj {
  const searchPath = [dirname(sourcePath), packagedConfigDir()];
  const parsed = overrideTexts.map(parseOverride);
  const groupChoices = new Map<string, string | null>();
  const addedGroups = new Map<string, string>();
  const keyOverrides: ParsedOverride[] = [];
  const taskOverrides: ParsedOverride[] = [];
  for (const o of parsed) {
    if (isTaskNameOverride(o)) taskOverrides.push(o);
    else if (!o.key.includes('.') && isConfigGroup(o.key, searchPath))
      applyGroupOverride(o, groupChoices, addedGroups);
    else keyOverrides.push(o);
  }
  const forcedGroups = new Set(
    parsed.filter((o) => o.kind === 'force' && addedGroups.has(o.key)).map((o) => o.key),
  );
  const composed = composeConfig({
    primaryPath: sourcePath,
    primaryText: text,
    primaryContent: content,
    groupChoices,
    addedGroups,
    forcedGroups,
    searchPath,
  });
  for (const o of keyOverrides) applyKeyOverride(composed, o);
  for (const o of taskOverrides) applyTaskNameOverride(composed, o);
  return composed;
}

function applyGroupOverride(
  o: ParsedOverride,
  choices: Map<string, string | null>,
  added: Map<string, string>,
): void {
  if (o.kind === 'delete') {
    choices.set(o.key, null);
    return;
  }
  if (o.value !== null && typeof o.value !== 'string') {
    throw new NelError(
      'CONFIG_OVERRIDE',
      `invalid override '${o.text}': '${o.key}' is a config group and needs an option name`,
      {
        hint: `e.g. ${o.key}=<option>`,
      },
    );
  }
  if (o.kind === 'add' || o.kind === 'force') {
    if (o.value === null) return;
    added.set(o.key, o.value);
    if (o.kind === 'force') choices.set(o.key, o.value);
    return;
  }
  choices.set(o.key, o.value);
}

/** YAML for printing (insertion order, like the upstream dry-run). */
export function formatConfigYaml(obj: unknown): string {
  return dumpYaml(obj);
}
