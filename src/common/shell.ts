/**
 * The one quoting function for everything that goes into a generated shell script.
 * POSIX single quotes: every byte is literal inside '...', and a single quote is written as '\''.
 * Safe for quotes, $(), backticks, newlines, spaces, unicode and the empty string.
 */
export function shQuote(value: string | number | boolean): string {
  const s = String(value);
  if (s === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

/** Quote each word and join with spaces (a command line). */
export function shJoin(words: ReadonlyArray<string | number | boolean>): string {
  return words.map(shQuote).join(' ');
}

/** A valid POSIX shell variable name (for `export NAME=...`, `-e NAME`). */
export function isShellVarName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
