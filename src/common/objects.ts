/** Small helpers for plain JSON-like objects. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepClone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

/** Recursive merge: maps merge, everything else (lists included) is replaced by the higher layer. */
export function deepMerge(base: unknown, over: unknown, opts: { skipNulls?: boolean } = {}): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) continue;
      if (v === null && opts.skipNulls) continue;
      out[k] = k in out ? deepMerge(out[k], v, opts) : deepClone(v);
    }
    return out;
  }
  if (over === undefined) return deepClone(base);
  if (over === null && opts.skipNulls) return deepClone(base);
  return deepClone(over);
}

export function getPath(obj: unknown, path: string | string[]): unknown {
  const parts = Array.isArray(path) ? path : path.split('.');
  let cur: unknown = obj;
  for (const p of parts) {
    if (Array.isArray(cur) && /^\d+$/.test(p)) cur = cur[Number(p)];
    else if (isPlainObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

/** Set a dotted path, creating maps on the way. */
export function setPath(obj: Obj, path: string | string[], value: unknown): void {
  const parts = Array.isArray(path) ? path : path.split('.');
  let cur: Obj = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Obj;
  }
  cur[parts[parts.length - 1]!] = value;
}
