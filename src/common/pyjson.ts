/**
 * Serialise like Python's json.dumps(obj, sort_keys=True) with default separators (", ", ": ")
 * and ensure_ascii=True, so that hashes (cache keys) match upstream byte for byte.
 */
export function pyJsonDumps(value: unknown, sortKeys = true): string {
  return dump(value, sortKeys);
}

function dump(v: unknown, sortKeys: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return pyFloatOrInt(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) return '[' + v.map((x) => dump(x, sortKeys)).join(', ') + ']';
  if (typeof v === 'object') {
    let keys = Object.keys(v as Record<string, unknown>);
    if (sortKeys) keys = keys.sort(comparePyStr);
    return (
      '{' +
      keys.map((k) => pyString(k) + ': ' + dump((v as Record<string, unknown>)[k], sortKeys)).join(', ') +
      '}'
    );
  }
  return 'null';
}

/** Python sorts str by code point; JS sorts by UTF-16 unit. Compare by code points. */
function comparePyStr(a: string, b: string): number {
  const A = Array.from(a);
  const B = Array.from(b);
  const n = Math.min(A.length, B.length);
  for (let i = 0; i < n; i++) {
    const x = A[i]!.codePointAt(0)!;
    const y = B[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return A.length - B.length;
}

/**
 * JSON numbers: JS cannot tell 1.0 from 1. Values parsed from JSON lose that too; callers that need
 * Python float formatting for whole numbers must pass a PyFloat. Non-integers use Python's repr rules.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export function pyFloatOrInt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Number.isInteger(n)) return String(n);
  return pyFloatRepr(n);
}

/** Python repr() of a float: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloatRepr(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(1);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mant, exp] = n.toExponential().split('e');
    const e = Number(exp);
    const sign = e < 0 ? '-' : '+';
    const digits = String(Math.abs(e)).padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  return String(n);
}

const ABOVE_TILDE = /[\u007f-\uffff]/;
const ABOVE_TILDE_ALL = /[\u007f-\uffff]/g;
const escapeUnit = (c: string): string => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');

/**
 * A JSON string as Python's ensure_ascii writes it. JSON.stringify already escapes `"`, `\\`, control
 * characters (\b \t \n \f \r short, others \u00xx) and lone surrogates exactly as Python does; what is
 * left is every UTF-16 unit above `~` as \uxxxx (astral characters become their surrogate pair, as in
 * Python).
 */
function pyString(s: string): string {
  const j = JSON.stringify(s);
  return ABOVE_TILDE.test(j) ? j.replace(ABOVE_TILDE_ALL, escapeUnit) : j;
}
