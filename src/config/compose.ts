/**
 * Hydra-style composition: the defaults list (`{group: option}`, `_self_`, `override group: x`,
 * `optional group: x`, `group: null`, bare names inside group files, config paths such as
 * `deployment/vllm`), config groups looked up next to the user's file first and then in the
 * packaged configs, merged in order. `@PACKAGE` places an entry elsewhere, as Hydra does:
 * `- deployment/vllm@auxiliary_deployments.judge` and `- deployment@auxiliary_deployments.judge: vllm`
 * put deployment/vllm.yaml under `auxiliary_deployments.judge` (relative to the containing config's
 * package; `_global_.` makes it absolute).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NelError } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { parseYaml } from '../common/yaml.js';

const MISSING = '???';

/**
 * The packaged config folder: beside this module in src/ and dist/src/config/; from the bundled
 * command-line entry points (dist/src/bin/ and dist/src/bin/chunks/), in dist/src/config/.
 */
export function packagedConfigDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'packaged'), join(here, '..', 'config', 'packaged')];
  candidates.push(join(here, '..', '..', 'config', 'packaged'));
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

export interface ComposeInput {
  /** the user's file (absolute) */
  primaryPath: string;
  primaryText: string;
  /** the parsed primary file, when the caller already has it */
  primaryContent?: Obj;
  /** `group=option` choices from the command line (option null = drop the group) */
  groupChoices?: Map<string, string | null>;
  /** groups added from the command line with `+group=option` */
  addedGroups?: Map<string, string>;
  /** groups from `++group=option`: added when absent, re-selected when present */
  forcedGroups?: Set<string>;
  searchPath?: string[];
}

interface DefaultsEntry {
  kind: 'self' | 'group' | 'config';
  group?: string;
  option?: string | null;
  optional?: boolean;
  isOverride?: boolean;
  /** bare config name or config path (relative to the current group) */
  name?: string;
  /** `@PACKAGE` of the entry */
  pkg?: string;
}

/** The key a command-line choice uses for a group entry: `group`, or `group@package` when placed. */
const choiceKeyOf = (e: DefaultsEntry): string => (e.pkg !== undefined ? `${e.group}@${e.pkg}` : e.group!);

/** `NAME@PACKAGE` split at its `@`. */
function splitPackage(text: string): { name: string; pkg?: string } {
  const at = text.indexOf('@');
  return at < 0 ? { name: text } : { name: text.slice(0, at).trim(), pkg: text.slice(at + 1).trim() };
}

export interface Layer {
  /** dotted package where the content is merged ('' = root) */
  pkg: string;
  content: Obj;
  file: string;
}

/** Read a YAML config file into a map (empty file = {}). */
export function readConfigFile(path: string, text?: string): { content: Obj; text: string } {
  let body = text;
  if (body === undefined) {
    try {
      body = readFileSync(path, 'utf8');
    } catch (e) {
      throw new NelError(
        'CONFIG_NOT_FOUND',
        `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        {
          hint: 'check the path',
        },
      );
    }
  }
  const data = parseYaml(body, path);
  if (data === null || data === undefined) return { content: {}, text: body };
  if (!isPlainObject(data)) {
    throw new NelError('CONFIG_INVALID', `config file ${path} must contain a YAML map at the top level`, {
      hint: 'start the file with keys such as defaults:, execution:, target:, evaluation:',
    });
  }
  return { content: data, text: body };
}

/** `# @package X` header directive of a config file. */
function packageDirective(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    if (!t.startsWith('#')) return undefined;
    const m = /^#\s*@package\s+(\S+)/.exec(t);
    if (m) return m[1];
  }
  return undefined;
}

function parseDefaults(list: unknown, file: string): DefaultsEntry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new NelError('CONFIG_INVALID', `defaults must be a list (in ${file})`, {
      hint: 'write defaults: [ {execution: local}, {deployment: none}, _self_ ]',
    });
  }
  return list.map((item, i): DefaultsEntry => {
    if (item === '_self_') return { kind: 'self' };
    if (typeof item === 'string') return { kind: 'config', ...splitPackage(item) };
    if (isPlainObject(item) && Object.keys(item).length === 1) {
      let [key, option] = Object.entries(item)[0]!;
      let isOverride = false;
      let optional = false;
      for (;;) {
        const m = /^(override|optional)\s+(.*)$/.exec(key);
        if (!m) break;
        if (m[1] === 'override') isOverride = true;
        else optional = true;
        key = m[2]!.trim();
      }
      const { name: group, pkg } = splitPackage(key);
      if (option !== null && typeof option !== 'string') {
        throw new NelError(
          'CONFIG_INVALID',
          `defaults[${i}]: the option of group '${group}' must be a name (in ${file})`,
          {
            hint: `write - ${group}: <option>`,
          },
        );
      }
      return { kind: 'group', group, option, isOverride, optional, ...(pkg ? { pkg } : {}) };
    }
    throw new NelError(
      'CONFIG_INVALID',
      `defaults[${i}] is not understood (in ${file}): ${JSON.stringify(item)}`,
      {
        hint: 'use entries like - execution: local, - deployment: none, - _self_',
      },
    );
  });
}

/** Options available for a group across the search path (names without extension, nested as a/b). */
export function listGroupOptions(group: string, searchPath: string[]): string[] {
  const out = new Set<string>();
  const walk = (dir: string, prefix: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e);
      if (/\.ya?ml$/.test(e)) out.add(prefix + e.replace(/\.ya?ml$/, ''));
      else if (statSync(full).isDirectory()) walk(full, `${prefix}${e}/`);
    }
  };
  for (const root of searchPath) walk(join(root, group), '');
  return [...out].sort();
}

export function isConfigGroup(group: string, searchPath: string[]): boolean {
  return searchPath.some((root) => {
    try {
      return statSync(join(root, group)).isDirectory();
    } catch {
      return false;
    }
  });
}

function findGroupFile(group: string, option: string, searchPath: string[]): string | undefined {
  for (const root of searchPath) {
    for (const ext of ['.yaml', '.yml']) {
      const p = join(root, group, option + ext);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

class Composer {
  private readonly layers: Layer[] = [];
  private readonly choices: Map<string, string | null>;
  private readonly seen = new Set<string>();

  constructor(
    private readonly input: ComposeInput,
    private readonly searchPath: string[],
  ) {
    this.choices = new Map(input.groupChoices ?? []);
  }

  compose(): Obj {
    const text = this.input.primaryText;
    const content = this.input.primaryContent ?? readConfigFile(this.input.primaryPath, text).content;
    const entries = parseDefaults(content['defaults'], this.input.primaryPath);
    // `override group: x` entries and command-line choices win over plain selections
    for (const e of entries) {
      if (e.kind === 'group' && e.isOverride && !this.choices.has(choiceKeyOf(e)))
        this.choices.set(choiceKeyOf(e), e.option ?? null);
    }
    const plain = entries.filter((e) => !(e.kind === 'group' && e.isOverride));
    if (content['defaults'] !== undefined && !plain.some((e) => e.kind === 'self'))
      plain.push({ kind: 'self' });
    const cliChoices = new Set(this.input.groupChoices?.keys() ?? []);
    for (const [group, option] of this.input.addedGroups ?? []) {
      const present = plain.some((e) => e.kind === 'group' && e.group === group);
      if (present && this.input.forcedGroups?.has(group)) continue;
      if (present) {
        throw new NelError(
          'CONFIG_OVERRIDE',
          `cannot add config group '${group}': it is already in the defaults list`,
          {
            hint: `use ${group}=${option} to change it`,
          },
        );
      }
      plain.push({ kind: 'group', group, option });
      cliChoices.delete(group);
    }
    for (const group of cliChoices) {
      const inList =
        plain.some((e) => e.kind === 'group' && (e.group === group || choiceKeyOf(e) === group)) ||
        entries.some((e) => e.group === group || (e.kind === 'group' && choiceKeyOf(e) === group));
      if (!inList) {
        throw new NelError(
          'CONFIG_OVERRIDE',
          `cannot select '${group}': the config's defaults list has no '${group}' group (in ${this.input.primaryPath})`,
          { hint: `to add it, write +${group}=${this.input.groupChoices?.get(group) ?? '<option>'}` },
        );
      }
    }
    const selfContent = { ...content };
    delete selfContent['defaults'];
    this.expand(plain, { group: '', pkg: '', file: this.input.primaryPath, self: selfContent, text });
    return this.merge();
  }

  private expand(
    entries: DefaultsEntry[],
    ctx: { group: string; pkg: string; file: string; self: Obj; text: string },
  ): void {
    if (!entries.some((e) => e.kind === 'self')) entries = [...entries, { kind: 'self' }];
    for (const e of entries) {
      if (e.kind === 'self') {
        this.layers.push({ pkg: ctx.pkg, content: ctx.self, file: ctx.file });
        continue;
      }
      if (e.kind === 'config') {
        // a bare name: another option of the same group (or a sibling file of the primary config);
        // a path `a/b`: option b of group a (relative to the current group), package `a` by default
        const slash = e.name!.lastIndexOf('/');
        const dir = slash < 0 ? '' : e.name!.slice(0, slash);
        const base = e.name!.slice(slash + 1);
        const group = [ctx.group, dir].filter(Boolean).join('/');
        const file =
          group === ''
            ? findPrimarySibling(dirname(ctx.file), base)
            : findGroupFile(group, base, this.searchPath);
        if (!file) {
          throw new NelError(
            'CONFIG_GROUP',
            `config '${e.name}' named in the defaults list of ${ctx.file} was not found`,
            {
              hint: ctx.group
                ? `available: ${listGroupOptions(ctx.group, this.searchPath).join(', ')}`
                : 'check the name',
            },
          );
        }
        const defaultPkg = dir ? joinPkg(ctx.pkg, dir.replace(/\//g, '.')) : ctx.pkg;
        this.include(file, group, e.pkg !== undefined ? entryPkg(ctx.pkg, e.pkg) : defaultPkg);
        continue;
      }
      const fullGroup = ctx.group ? `${ctx.group}/${e.group}` : e.group!;
      // a choice for a group placed at a package is keyed `group@package`, as Hydra's overrides
      const choiceKey = e.pkg !== undefined ? `${fullGroup}@${e.pkg}` : fullGroup;
      const option = this.choices.has(choiceKey) ? this.choices.get(choiceKey)! : e.option!;
      if (option === null) continue;
      const file = findGroupFile(fullGroup, option, this.searchPath);
      if (!file) {
        if (e.optional) continue;
        const available = listGroupOptions(fullGroup, this.searchPath);
        throw new NelError(
          'CONFIG_GROUP',
          `unknown option '${option}' for config group '${fullGroup}' (in ${ctx.file}); available: ${available.join(', ') || '(none)'}`,
          { hint: `pick one of the available options, e.g. ${fullGroup}: ${available[0] ?? '<option>'}` },
        );
      }
      const groupPkg = fullGroup.replace(/\//g, '.');
      const pkg =
        e.pkg !== undefined
          ? entryPkg(ctx.pkg, e.pkg)
          : ctx.pkg
            ? `${ctx.pkg}.${e.group!.replace(/\//g, '.')}`
            : groupPkg;
      this.include(file, fullGroup, pkg);
    }
  }

  private include(file: string, group: string, defaultPkg: string): void {
    if (this.seen.has(file)) {
      throw new NelError('CONFIG_GROUP', `config ${file} includes itself through its defaults list`, {
        hint: 'remove the loop from the defaults lists',
      });
    }
    this.seen.add(file);
    const { content, text } = readConfigFile(file);
    const directive = packageDirective(text);
    const pkg =
      directive === undefined || directive === '_group_'
        ? defaultPkg
        : directive === '_global_'
          ? ''
          : directive.replace(/^_global_\./, '');
    const entries = parseDefaults(content['defaults'], file);
    const self = { ...content };
    delete self['defaults'];
    this.expand(entries, { group, pkg, file, self, text });
    this.seen.delete(file);
  }

  private merge(): Obj {
    let out: Obj = {};
    for (const layer of this.layers) {
      const wrapped = layer.pkg === '' ? layer.content : wrapAt(layer.pkg.split('.'), layer.content);
      out = mergeConfig(out, wrapped) as Obj;
    }
    return out;
  }
}

const joinPkg = (a: string, b: string): string => [a, b].filter(Boolean).join('.');

/** An entry's `@PACKAGE`: relative to the containing config's package, `_global_[.x]` absolute. */
function entryPkg(parent: string, pkg: string): string {
  if (pkg === '_global_') return '';
  if (pkg.startsWith('_global_.')) return pkg.slice('_global_.'.length);
  return joinPkg(parent, pkg);
}

function findPrimarySibling(dir: string, name: string): string | undefined {
  for (const ext of ['.yaml', '.yml']) {
    const p = join(dir, name + ext);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function wrapAt(parts: string[], content: Obj): Obj {
  let out: Obj = content;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]!]: out };
  return out;
}

/** OmegaConf merge: maps merge, other values replace, and `???` never replaces an existing value. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (k in out) {
        if (v === MISSING) continue;
        out[k] = mergeConfig(out[k], v);
      } else {
        out[k] = structuredClone(v);
      }
    }
    return out;
  }
  if (over === MISSING && base !== undefined) return base;
  return structuredClone(over);
}

/** Compose the user's file with its defaults list. */
export function composeConfig(input: ComposeInput): Obj {
  const searchPath = input.searchPath ?? [dirname(input.primaryPath), packagedConfigDir()];
  return new Composer(input, searchPath).compose();
}
