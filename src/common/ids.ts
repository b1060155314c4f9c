import { randomBytes } from 'node:crypto';

/** 16 lowercase hex characters from a CSPRNG, like upstream's secrets.token_hex(8). */
export function newInvocationId(): string {
  return randomBytes(8).toString('hex');
}

/** Local time as YYYYmmdd_HHMMSS (invocation directory prefix). */
export function localStamp(d: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Local time as YYYYmmdd_HHMMSS_ffffff (container names). */
export function localStampMicros(d: Date = new Date()): string {
  return `${localStamp(d)}_${String(d.getMilliseconds() * 1000).padStart(6, '0')}`;
}
