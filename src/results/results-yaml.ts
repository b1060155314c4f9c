/**
 * A fast reader of the `results:` section of a results.yml, for `nel status` and `nel ls runs`: the
 * general YAML parser costs tens of milliseconds per file (more on a cold start), and all a score
 * needs is the block mappings under `results:`. Everything else in the file is skipped unread.
 *
 * It reads block mappings of `key: scalar` lines only. A one-line `stats: {...}` (as upstream's
 * containers write it) is skipped: no score value lives there. Anything else under `results:` (sequences, block or multi-line scalars, anchors, tags, tabs,
 * several documents) makes it return undefined, and the caller parses the file with the full parser.
 */
import { isPlainObject } from '../common/objects.js';

type Tree = Record<string, unknown>;

const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const UNSUPPORTED_START = /^[&*!|>%@`]/;

/** A plain or quoted scalar as the YAML core schema reads it; undefined when it is not simple. */
function scalar(raw: string): unknown {
  let v = raw;
  if (v.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\["\\/bfnrt])*"\s*(#.*)?$/.test(v)) return undefined;
    return JSON.parse(v.slice(0, v.lastIndexOf('"') + 1)) as string;
  }
  if (v.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'\s*(#.*)?$/.exec(v);
    return m ? m[1]!.replace(/''/g, "'") : undefined;
  }
  const hash = v.search(/\s#/);
  if (hash >= 0) v = v.slice(0, hash);
  v = v.trim();
  if (UNSUPPORTED_START.test(v) || v.includes(': ')) return undefined;
  if (v === '' || v === '~' || /^(null|Null|NULL)$/.test(v)) return null;
  if (/^(true|True|TRUE)$/.test(v)) return true;
  if (/^(false|False|FALSE)$/.test(v)) return false;
  if (/^[-+]?\.(inf|Inf|INF)$/.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(v)) return NaN;
  if (/^[-+]?0x[0-9a-fA-F]+$/.test(v)) return Number(v);
  if (FLOAT.test(v)) return Number(v);
  return v;
}

/** A one-line flow collection: brackets balanced by the end of the line (quotes respected). */
function closesOnLine(v: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"') i++;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return /^\s*(#.*)?$/.test(v.slice(i + 1));
    }
  }
  return false;
}

/** `key: rest` of one line; undefined when the line is not a simple mapping entry. */
function entry(line: string): [string, string] | undefined {
  let key: string;
  let rest: string;
  if (line.startsWith('"') || line.startsWith("'")) {
    const m = line.startsWith('"')
      ? /^"((?:[^"\\]|\\["\\/bfnrt])*)":(?:\s+(.*))?$/.exec(line)
      : /^'((?:[^']|'')*)':(?:\s+(.*))?$/.exec(line);
    if (!m) return undefined;
    key = line.startsWith('"') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!.replace(/''/g, "'");
    rest = m[2] ?? '';
  } else {
    if (/^[-?:,[\]{}#&*!|>%@`]/.test(line)) return undefined;
    const m = /^([^#]*?):(?:\s+(.*))?$/.exec(line);
    if (!m || m[1]!.includes(': ')) return undefined;
    key = m[1]!.trimEnd();
    rest = m[2] ?? '';
  }
  return [key, rest.trim()];
}

/**
 * The parsed `{results: ...}` of a results.yml text, or undefined when the section holds something this
 * reader does not handle (then parse the whole file with the YAML parser). No `results:` key: `{}`.
 */
export function readResultsSection(text: string): Tree | undefined {
  if (/^(---|\.\.\.)(\s|$)/m.test(text)) return undefined; // several documents
  if (/^["']results["']\s*:|^results\s*:[ \t]*[^\s#]/m.test(text)) return undefined; // not the block form
  const start = /^results:[ \t]*(#.*)?\r?$/m.exec(text);
  if (!start) return {};
  // the lines after `results:` (the rest of the file is not read)
  const lines = text.slice(start.index + start[0].length).split('\n');
  const root: Tree = {};
  // stack of open mappings with the indent of their entries (-1: not known yet)
  const stack: { indent: number; node: Tree }[] = [{ indent: -1, node: root }];
  let pendingKey: string | null = null; // a `key:` with no value, waiting for its mapping
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (/^\s*(#.*)?$/.test(line)) continue;
    if (line.includes('\t')) return undefined;
    const indent = line.length - line.trimStart().length;
    if (indent === 0) {
      if (/^(---|\.\.\.)(\s|$)/.test(line)) return undefined;
      break; // the next top-level key: the section is over
    }
    const e = entry(line.slice(indent));
    if (!e) return undefined;
    let top = stack[stack.length - 1]!;
    if (pendingKey !== null) {
      if (indent <= (top.indent < 0 ? 0 : top.indent)) {
        top.node[pendingKey] = null;
      } else {
        const child: Tree = {};
        top.node[pendingKey] = child;
        stack.push({ indent, node: child });
        top = stack[stack.length - 1]!;
      }
      pendingKey = null;
    }
    if (top.indent < 0) top.indent = indent;
    while (indent < top.indent && stack.length > 1) {
      stack.pop();
      top = stack[stack.length - 1]!;
    }
    if (indent !== top.indent) return undefined;
    const [key, rest] = e;
    if (rest === '' || rest.startsWith('#')) pendingKey = key;
    else if (rest.startsWith('{') || rest.startsWith('[')) {
      // only a one-line `stats: {...}` is skipped (no score value lives there); other flow values
      // may hold one, so they go to the full parser
      if (key !== 'stats' || !closesOnLine(rest)) return undefined;
      top.node[key] = undefined;
    } else {
      // a plain scalar continued on the next, deeper line is a multi-line scalar: not handled
      const next = lines[i + 1]?.replace(/\r$/, '');
      if (next !== undefined && !/^\s*(#.*)?$/.test(next) && next.length - next.trimStart().length > indent)
        return undefined;
      const v = scalar(rest);
      if (v === undefined) return undefined;
      top.node[key] = v;
    }
  }
  if (pendingKey !== null) stack[stack.length - 1]!.node[pendingKey] = null;
  return { results: isPlainObject(root) && Object.keys(root).length > 0 ? root : null };
}
