/**
 * OmegaConf-style interpolation: `${a.b}`, relative `${.x}` / `${..x}`, nested interpolations,
 * string interpolation, `${oc.env:VAR[,default]}`, `${oc.select:key[,default]}`,
 * `${select_not_null:key,default}`, `${oc.decode:text}`. `\${` is a literal `${`.
 */
import { NelError } from '../common/errors.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { parseOverrideValue, splitKey, typePrimitive } from './overrides.js';

type Part = { t: 'text'; v: string } | Interp;
type Interp = { t: 'node'; key: Part[] } | { t: 'resolver'; name: string; args: Part[][] };

export interface InterpolateOptions {
  env: NodeJS.ProcessEnv;
  /** the user's file, for messages */
  source?: string | null;
}

export function hasInterpolation(s: string): boolean {
  return s.includes('${');
}

/** Resolve every interpolation in `root`; returns a new plain object. */
export function resolveInterpolations(root: Obj, opts: InterpolateOptions): Obj {
  return new Resolver(root, opts).resolveAll();
}

const dotted = (path: string[]): string => (path.length === 0 ? '<root>' : path.join('.'));

class Resolver {
  private readonly memo = new Map<string, unknown>();
  private readonly active: string[] = [];

  constructor(
    private readonly root: Obj,
    private readonly opts: InterpolateOptions,
  ) {}

  resolveAll(): Obj {
    return this.resolveAt([], this.root) as Obj;
  }

  private where(): string {
    return this.opts.source ? ` (in ${this.opts.source})` : '';
  }

  private error(holder: string[], what: string, hint: string): NelError {
    return new NelError('CONFIG_INTERPOLATION', `${dotted(holder)}: ${what}${this.where()}`, { hint });
  }

  /** Fully resolved value of the node at `path` whose raw value is `raw`. */
  private resolveAt(path: string[], raw: unknown): unknown {
    if (Array.isArray(raw)) return raw.map((v, i) => this.resolveAt([...path, String(i)], v));
    if (isPlainObject(raw)) {
      const out: Obj = {};
      for (const [k, v] of Object.entries(raw)) out[k] = this.resolveAt([...path, k], v);
      return out;
    }
    if (typeof raw !== 'string' || !hasInterpolation(raw)) return raw;
    const id = path.join('\u0000');
    if (this.memo.has(id)) return this.memo.get(id);
    if (this.active.includes(id)) {
      const chain = [...this.active.slice(this.active.indexOf(id)), id].map((p) => dotted(p.split('\u0000')));
      throw this.error(
        path,
        `interpolation cycle: ${chain.join(' -> ')}`,
        'make one of these keys a plain value',
      );
    }
    this.active.push(id);
    try {
      const parts = this.parse(raw, path);
      const value = this.evaluate(parts, path);
      this.memo.set(id, value);
      return value;
    } finally {
      this.active.pop();
    }
  }

  private parse(text: string, holder: string[]): Part[] {
    const p = new InterpolationParser(text);
    try {
      return p.parseAll();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw this.error(
        holder,
        `cannot parse interpolation in ${JSON.stringify(text.length > 80 ? text.slice(0, 77) + '...' : text)}: ${msg}`,
        'write ${key.path} or ${resolver:args}; write \\${ for a literal ${ (for example in shell commands)',
      );
    }
  }

  private evaluate(parts: Part[], holder: string[]): unknown {
    if (parts.length === 1 && parts[0]!.t !== 'text') return this.evalInterp(parts[0]!, holder);
    return parts.map((p) => (p.t === 'text' ? p.v : stringify(this.evalInterp(p, holder)))).join('');
  }

  private evalText(parts: Part[], holder: string[]): string {
    return parts.map((p) => (p.t === 'text' ? p.v : stringify(this.evalInterp(p, holder)))).join('');
  }

  private evalInterp(p: Interp, holder: string[]): unknown {
    if (p.t === 'node') {
      const key = this.evalText(p.key, holder).trim();
      const found = this.select(key, holder);
      if (!found.exists) {
        throw this.error(
          holder,
          `interpolation \${${key}} refers to a key that does not exist`,
          `define ${found.absolute} in the config or fix the interpolation`,
        );
      }
      return found.value;
    }
    const args = p.args.map((a) => this.evalArg(a, holder));
    switch (p.name) {
      case 'oc.env': {
        const name = String(args[0] ?? '').trim();
        if (name === '')
          throw this.error(
            holder,
            '${oc.env:} needs a variable name',
            'write ${oc.env:VAR} or ${oc.env:VAR,default}',
          );
        const v = this.opts.env[name];
        if (v !== undefined) return v;
        if (args.length > 1) return args[1] === null ? null : stringify(args[1]);
        throw this.error(
          holder,
          `environment variable ${name} is not set (\${oc.env:${name}})`,
          `export ${name}=... before running, or give a default: \${oc.env:${name},default}`,
        );
      }
      case 'oc.select':
      case 'select_not_null': {
        const key = String(args[0] ?? '').trim();
        const found = this.select(key, holder);
        const dflt = args.length > 1 ? args[1] : null;
        if (!found.exists) return dflt;
        if (p.name === 'select_not_null' && found.value === null) return dflt;
        return found.value;
      }
      case 'oc.decode': {
        const v = args[0];
        if (typeof v !== 'string') return v;
        return parseOverrideValue(v);
      }
      default:
        throw this.error(
          holder,
          `unknown resolver '${p.name}'`,
          'supported: oc.env, oc.select, select_not_null, oc.decode; write \\${ for a literal ${',
        );
    }
  }

  /** Resolver argument: a single interpolation keeps its type; plain text is typed like a primitive. */
  private evalArg(parts: Part[], holder: string[]): unknown {
    if (parts.length === 1 && parts[0]!.t !== 'text') return this.evalInterp(parts[0]!, holder);
    if (parts.every((q) => q.t === 'text')) {
      const text = parts.map((q) => (q as { v: string }).v).join('');
      const quoted = /^\s*(['"])(.*)\1\s*$/s.exec(text);
      if (quoted) return quoted[2];
      return typePrimitive(text.trim());
    }
    return this.evalText(parts, holder).trim();
  }

  /** Find `key` (absolute, or relative with leading dots) from the node at `holder`. */
  private select(key: string, holder: string[]): { exists: boolean; value: unknown; absolute: string } {
    let base: string[] = [];
    let k = key;
    if (k.startsWith('.')) {
      const dots = /^\.+/.exec(k)![0].length;
      base = holder.slice(0, Math.max(0, holder.length - dots));
      k = k.slice(dots);
    }
    const parts = [...base, ...splitKey(k)];
    let cur: unknown = this.root;
    for (const seg of parts) {
      if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
      else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) cur = cur[seg];
      else return { exists: false, value: undefined, absolute: parts.join('.') };
    }
    if (cur === '???') {
      throw this.error(
        holder,
        `interpolation \${${key}} refers to ${parts.join('.')}, which has no value (???)`,
        `set it with -o ${parts.join('.')}=...`,
      );
    }
    return { exists: true, value: this.resolveAt(parts, cur), absolute: parts.join('.') };
  }
}

/** Python-like str() for values pasted into text. */
function stringify(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** Parses text with `${...}` parts into an AST. */
class InterpolationParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseAll(): Part[] {
    const parts = this.parseText('');
    if (this.i < this.s.length) throw new Error(`unexpected '${this.s[this.i]}'`);
    return parts;
  }

  /** Text until one of `stops` at depth 0 (or the end). */
  private parseText(stops: string, inArgs = false): Part[] {
    const parts: Part[] = [];
    let buf = '';
    const flush = (): void => {
      if (buf !== '') parts.push({ t: 'text', v: buf });
      buf = '';
    };
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\' && this.s.startsWith('${', this.i + 1)) {
        buf += '${';
        this.i += 3;
        continue;
      }
      if (c === '$' && this.s[this.i + 1] === '{') {
        flush();
        parts.push(this.parseInterp());
        continue;
      }
      if (inArgs && (c === '"' || c === "'")) {
        const end = this.s.indexOf(c, this.i + 1);
        if (end === -1) throw new Error('unclosed quote');
        buf += this.s.slice(this.i, end + 1);
        this.i = end + 1;
        continue;
      }
      if (stops.includes(c)) break;
      buf += c;
      this.i++;
    }
    flush();
    return parts;
  }

  private parseInterp(): Interp {
    this.i += 2; // ${
    const start = this.i;
    const m = /^\s*([A-Za-z_][\w.-]*)\s*:/.exec(this.s.slice(this.i));
    if (m && !this.s.slice(this.i).startsWith('.')) {
      const name = m[1]!;
      this.i += m[0].length;
      const args: Part[][] = [];
      this.skipWs();
      if (this.s[this.i] === '}') {
        this.i++;
        return { t: 'resolver', name, args };
      }
      for (;;) {
        args.push(this.parseText(',}', true));
        const c = this.s[this.i];
        if (c === ',') {
          this.i++;
          continue;
        }
        if (c === '}') {
          this.i++;
          return { t: 'resolver', name, args };
        }
        throw new Error("unclosed '${'");
      }
    }
    const key = this.parseText('}');
    if (this.s[this.i] !== '}') throw new Error("unclosed '${'");
    this.i++;
    if (key.length === 0 || (key.length === 1 && key[0]!.t === 'text' && key[0]!.v.trim() === '')) {
      this.i = start;
      throw new Error('empty ${}');
    }
    return { t: 'node', key };
  }

  private skipWs(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
}
