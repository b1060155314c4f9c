/**
 * The `-o/--override` grammar (Hydra style): `a.b=v`, `+a.b=v`, `++a.b=v`, `~a.b[=v]`,
 * `group=option`, typed values, list indices, and the task-name form
 * `evaluation.tasks.<task-name>.<path>=v` (applied after composition).
 */
import { NelError } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { parseYaml } from '../common/yaml.js';

export type OverrideKind = 'set' | 'add' | 'force' | 'delete';

export interface ParsedOverride {
  /** the override as the user wrote it */
  text: string;
  kind: OverrideKind;
  /** dotted key without the prefix */
  key: string;
  /** the value text after `=`; undefined for `~key` without a value */
  valueText?: string;
  /** the typed value (undefined for `~key` without a value) */
  value?: unknown;
}

const TASKS_PREFIX = 'evaluation.tasks.';
const MISSING = '???';

function overrideError(text: string, what: string, hint?: string): NelError {
  return new NelError('CONFIG_OVERRIDE', `invalid override '${oneLine(text)}': ${what}`, {
    hint:
      hint ?? 'write overrides as key=value, +key=value (add), ++key=value (add or replace) or ~key (delete)',
  });
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

/** Split `[+|++|~]key[=value]` and type the value. */
export function parseOverride(text: string): ParsedOverride {
  let rest = text;
  let kind: OverrideKind = 'set';
  if (rest.startsWith('++')) {
    kind = 'force';
    rest = rest.slice(2);
  } else if (rest.startsWith('+')) {
    kind = 'add';
    rest = rest.slice(1);
  } else if (rest.startsWith('~')) {
    kind = 'delete';
    rest = rest.slice(1);
  }
  const eq = rest.indexOf('=');
  const key = (eq === -1 ? rest : rest.slice(0, eq)).trim();
  if (eq === -1 && kind !== 'delete') throw overrideError(text, "missing '='", 'write it as key=value');
  if (key === '') throw overrideError(text, 'empty key');
  if (!/^[A-Za-z0-9_\-./@:[\]]+$/.test(key) || /(^|\.)\.|\.$/.test(key) || key.startsWith('.')) {
    throw overrideError(
      text,
      `bad key '${oneLine(key)}'`,
      'keys are dotted names such as evaluation.tasks.0.name',
    );
  }
  if (eq === -1) return { text, kind, key };
  const valueText = rest.slice(eq + 1);
  return { text, kind, key, valueText, value: parseOverrideValue(valueText, text) };
}

/** Hydra-typed value: int, float, bool, null, quoted strings, [..] lists, {..} maps, ${..} kept as text. */
export function parseOverrideValue(valueText: string, overrideText = valueText): unknown {
  const p = new ValueParser(valueText, overrideText);
  const v = p.parseTop();
  return v;
}

class ValueParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly text: string,
  ) {}

  private fail(what: string): never {
    throw overrideError(
      this.text,
      what,
      'check the quotes and brackets of the value; quote strings with special characters',
    );
  }

  parseTop(): unknown {
    this.skipWs();
    if (this.i >= this.s.length) return '';
    const c = this.s[this.i];
    if (c === '[' || c === '{' || c === '"' || c === "'") {
      const v = this.parseElement('');
      this.skipWs();
      if (this.i < this.s.length) {
        if (c === '"' || c === "'") {
          // e.g. 'a'b: take the whole thing as text, like Hydra's concatenation of quoted parts
          return this.s.trim();
        }
        this.fail(`unexpected text after the closing '${c === '[' ? ']' : '}'}'`);
      }
      return v;
    }
    // a top-level primitive takes the whole rest, commas and brackets included
    const raw = this.s.trim();
    this.checkBalancedInterpolations(raw);
    return typePrimitive(raw);
  }

  private skipWs(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  /** One element inside a list/map (or a top-level container/quoted string). */
  private parseElement(stops: string): unknown {
    this.skipWs();
    const c = this.s[this.i];
    if (c === undefined) this.fail('unexpected end of value');
    if (c === '[') return this.parseList();
    if (c === '{') return this.parseMap();
    if (c === '"' || c === "'") return this.parseQuoted();
    return typePrimitive(this.readPrimitive(stops));
  }

  private readPrimitive(stops: string): string {
    const start = this.i;
    let depth = 0;
    while (this.i < this.s.length) {
      const ch = this.s[this.i]!;
      if (ch === '$' && this.s[this.i + 1] === '{') {
        depth++;
        this.i += 2;
        continue;
      }
      if (depth > 0) {
        if (ch === '}') depth--;
        else if (ch === '{') depth++;
        this.i++;
        continue;
      }
      if (stops.includes(ch)) break;
      if (ch === '[' || ch === '{' || ch === '"' || ch === "'") this.fail(`unexpected '${ch}'`);
      this.i++;
    }
    if (depth > 0) this.fail("unclosed '${'");
    return this.s.slice(start, this.i).trim();
  }

  private parseQuoted(): string {
    const q = this.s[this.i]!;
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i]!;
      if (ch === '\\' && (this.s[this.i + 1] === q || this.s[this.i + 1] === '\\')) {
        out += this.s[this.i + 1];
        this.i += 2;
        continue;
      }
      if (ch === q) {
        this.i++;
        return out;
      }
      out += ch;
      this.i++;
    }
    this.fail(`unclosed quote ${q}`);
  }

  private parseList(): unknown[] {
    this.i++; // [
    const out: unknown[] = [];
    this.skipWs();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.parseElement(',]'));
      this.skipWs();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail("unclosed '['");
    }
  }

  private parseMap(): Obj {
    this.i++; // {
    const out: Obj = {};
    this.skipWs();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipWs();
      let key: string;
      const c = this.s[this.i];
      if (c === '"' || c === "'") key = this.parseQuoted();
      else key = this.readPrimitive(':,}');
      this.skipWs();
      if (this.s[this.i] !== ':') this.fail(`expected ':' after map key '${key}'`);
      if (key === '') this.fail('empty map key');
      this.i++;
      out[key] = this.parseElement(',}');
      this.skipWs();
      const d = this.s[this.i];
      if (d === ',') {
        this.i++;
        continue;
      }
      if (d === '}') {
        this.i++;
        return out;
      }
      this.fail("unclosed '{'");
    }
  }

  private checkBalancedInterpolations(raw: string): void {
    let depth = 0;
    for (let k = 0; k < raw.length; k++) {
      if (raw[k] === '$' && raw[k + 1] === '{') {
        depth++;
        k++;
      } else if (depth > 0 && raw[k] === '{') depth++;
      else if (depth > 0 && raw[k] === '}') depth--;
    }
    if (depth > 0) this.fail("unclosed '${'");
  }
}

/** Type an unquoted primitive like Hydra: null, bools, ints, floats, else the text. */
export function typePrimitive(raw: string): unknown {
  if (/^null$/i.test(raw)) return null;
  if (/^true$/i.test(raw)) return true;
  if (/^false$/i.test(raw)) return false;
  if (/^[+-]?\d+$/.test(raw.replace(/_/g, '')) && !/^_|_$/.test(raw)) {
    const n = Number(raw.replace(/_/g, ''));
    if (Number.isSafeInteger(n)) return n;
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  if (/^[+-]?inf$/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  return raw;
}

/** `evaluation.tasks.<seg>...` where `<seg>` is not an integer. */
export function isTaskNameOverride(o: ParsedOverride): boolean {
  if (!o.key.startsWith(TASKS_PREFIX)) return false;
  const seg = o.key.slice(TASKS_PREFIX.length).split('.', 1)[0]!;
  return seg !== '' && !/^[+-]?\d+$/.test(seg);
}

/** Split `a.b[0].c` / `a.b.0.c` into segments. */
export function splitKey(key: string): string[] {
  return key
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s !== '');
}

type Container = Obj | unknown[];

function childOf(c: Container, seg: string): { exists: boolean; value: unknown } {
  if (Array.isArray(c)) {
    if (!/^\d+$/.test(seg)) return { exists: false, value: undefined };
    const i = Number(seg);
    return { exists: i < c.length, value: c[i] };
  }
  return { exists: Object.prototype.hasOwnProperty.call(c, seg), value: c[seg] };
}

function equalValues(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Apply one key override to a composed config (mutates `root`).
 * `createPath` lets plain sets create missing parents (used by the task-name form).
 */
export function applyKeyOverride(
  root: Obj,
  o: ParsedOverride,
  opts: { createMissing?: boolean; pathOverride?: string[]; displayKey?: string } = {},
): void {
  const parts = opts.pathOverride ?? splitKey(o.key);
  const shown = opts.displayKey ?? o.key;
  const canCreate = o.kind === 'add' || o.kind === 'force' || opts.createMissing === true;
  let cur: Container = root;
  for (let k = 0; k < parts.length - 1; k++) {
    const seg = parts[k]!;
    const { exists, value } = childOf(cur, seg);
    if (exists && (isPlainObject(value) || Array.isArray(value))) {
      cur = value;
      continue;
    }
    if (o.kind === 'delete') {
      throw new NelError(
        'CONFIG_OVERRIDE',
        `cannot delete '${shown}' (override '${oneLine(o.text)}'): key not found`,
        {
          hint: 'check the key with --dry-run',
        },
      );
    }
    if (exists && value !== null) {
      throw new NelError(
        'CONFIG_OVERRIDE',
        `cannot set '${shown}' (override '${oneLine(o.text)}'): '${parts.slice(0, k + 1).join('.')}' is not a map or list`,
        { hint: 'override the parent key instead' },
      );
    }
    if (!canCreate || Array.isArray(cur)) throw missingKeyError(o, shown);
    const created: Obj = {};
    (cur as Obj)[seg] = created;
    cur = created;
  }
  const last = parts[parts.length - 1]!;
  const { exists, value } = childOf(cur, last);
  switch (o.kind) {
    case 'delete': {
      if (!exists) {
        throw new NelError(
          'CONFIG_OVERRIDE',
          `cannot delete '${shown}' (override '${oneLine(o.text)}'): key not found`,
          {
            hint: 'check the key with --dry-run',
          },
        );
      }
      if (o.valueText !== undefined && !equalValues(value, o.value)) {
        throw new NelError(
          'CONFIG_OVERRIDE',
          `cannot delete '${shown}' (override '${oneLine(o.text)}'): its value is ${JSON.stringify(value)}, not ${JSON.stringify(o.value)}`,
          { hint: `use ~${o.key} to delete it whatever its value` },
        );
      }
      if (Array.isArray(cur)) cur.splice(Number(last), 1);
      else delete cur[last];
      return;
    }
    case 'add':
      if (exists && !opts.createMissing) {
        throw new NelError(
          'CONFIG_OVERRIDE',
          `cannot add '${shown}' (override '${oneLine(o.text)}'): the key already exists`,
          {
            hint: `use ${o.key}=${o.valueText ?? '...'} to change it, or ++${o.key}=${o.valueText ?? '...'} to add or replace`,
          },
        );
      }
      break;
    case 'set':
      if (!exists && !opts.createMissing) throw missingKeyError(o, shown);
      break;
    case 'force':
      break;
  }
  if (Array.isArray(cur)) {
    if (!/^\d+$/.test(last) || Number(last) > cur.length) {
      throw new NelError(
        'CONFIG_OVERRIDE',
        `cannot set '${shown}' (override '${oneLine(o.text)}'): index ${last} is out of range (list has ${cur.length} items)`,
        { hint: 'list items are addressed as key.N with N from 0' },
      );
    }
    cur[Number(last)] = o.value;
  } else {
    cur[last] = o.value;
  }
}

function missingKeyError(o: ParsedOverride, shown: string): NelError {
  return new NelError(
    'CONFIG_OVERRIDE',
    `cannot override '${shown}': the key does not exist in the config (override '${oneLine(o.text)}')`,
    { hint: `to add it, write +${o.key}=${o.valueText ?? '...'} (or ++${o.key}=... to add or replace)` },
  );
}

/** Apply the task-name form after composition (mutates `root`). */
export function applyTaskNameOverride(root: Obj, o: ParsedOverride): void {
  const evaluation = root['evaluation'];
  const tasks = isPlainObject(evaluation) ? evaluation['tasks'] : undefined;
  if (!Array.isArray(tasks)) {
    throw new NelError(
      'CONFIG_OVERRIDE',
      `cannot apply '${oneLine(o.text)}': the config has no evaluation.tasks list`,
      {
        hint: 'add tasks under evaluation.tasks',
      },
    );
  }
  const nameToIndices = new Map<string, number[]>();
  tasks.forEach((t, i) => {
    const name = isPlainObject(t) && typeof t['name'] === 'string' ? t['name'] : undefined;
    if (name === undefined) return;
    nameToIndices.set(name, [...(nameToIndices.get(name) ?? []), i]);
  });
  const segments = o.key.slice(TASKS_PREFIX.length).split('.');
  const { name, rest } = pickTaskName(segments, nameToIndices);
  const index = lookupTaskIndex(name, nameToIndices, o);
  const path = ['evaluation', 'tasks', String(index), ...rest];
  const value = o.valueText === undefined ? undefined : parseTaskOverrideValue(o.valueText, o.text);
  const shown = path.join('.');
  if (o.kind === 'delete') {
    if (rest.length === 0) {
      tasks.splice(index, 1);
      return;
    }
    applyKeyOverride(root, { ...o, value }, { pathOverride: path, displayKey: shown });
    return;
  }
  if (rest.length === 0) {
    throw new NelError(
      'CONFIG_OVERRIDE',
      `invalid override '${oneLine(o.text)}': name a key inside the task`,
      {
        hint: `for example evaluation.tasks.${name}.nemo_evaluator_config.config.params.parallelism=4`,
      },
    );
  }
  // '+' is a plain set here, '++' force-adds; plain sets create missing parents
  applyKeyOverride(
    root,
    { ...o, kind: o.kind === 'add' ? 'set' : o.kind, value },
    { pathOverride: path, displayKey: shown, createMissing: true },
  );
}

function parseTaskOverrideValue(valueText: string, text: string): unknown {
  if (valueText === '') return '';
  try {
    return parseYaml(valueText, `override '${oneLine(text)}'`);
  } catch (e) {
    if (e instanceof NelError) throw new NelError('CONFIG_OVERRIDE', e.message, { hint: 'quote the value' });
    throw e;
  }
}

function pickTaskName(
  segments: string[],
  nameToIndices: Map<string, number[]>,
): { name: string; rest: string[] } {
  const names = [...nameToIndices.keys()];
  // a task name may contain one dot: try the two-segment name first
  for (const n of [2, 1]) {
    if (segments.length < n) continue;
    const candidate = segments.slice(0, n).join('.');
    if (nameToIndices.has(candidate) || names.some((x) => x.endsWith(`.${candidate}`))) {
      return { name: candidate, rest: segments.slice(n) };
    }
  }
  return { name: segments[0]!, rest: segments.slice(1) };
}

function lookupTaskIndex(name: string, nameToIndices: Map<string, number[]>, o: ParsedOverride): number {
  const exact = nameToIndices.get(name);
  const hits = exact
    ? [[name, exact] as const]
    : [...nameToIndices.entries()].filter(([n]) => n.endsWith(`.${name}`));
  if (hits.length === 0) {
    throw new NelError(
      'CONFIG_OVERRIDE',
      `task '${name}' in override '${oneLine(o.text)}' is not in the config; tasks: ${[...nameToIndices.keys()].join(', ') || '(none)'}`,
      { hint: 'use a task name from evaluation.tasks, or the index form evaluation.tasks.N.<key>=value' },
    );
  }
  if (hits.length > 1) {
    throw new NelError(
      'CONFIG_OVERRIDE',
      `task '${name}' in override '${oneLine(o.text)}' matches several tasks: ${hits.map(([n]) => n).join(', ')}`,
      { hint: 'use the full task name (harness.task)' },
    );
  }
  const [matched, indices] = hits[0]!;
  if (indices.length > 1) {
    const rest =
      o.key
        .split('.')
        .slice(2 + matched.split('.').length)
        .join('.') || '<key>';
    throw new NelError(
      'CONFIG_OVERRIDE',
      `task '${matched}' appears at indices ${indices.join(', ')}; override '${oneLine(o.text)}' is ambiguous`,
      { hint: `use the index form, e.g. -o '++evaluation.tasks.${indices[0]}.${rest}=<value>'` },
    );
  }
  return indices[0]!;
}

export { MISSING };
