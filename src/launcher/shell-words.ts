/**
 * Split a string into words the way a POSIX shell would, without expanding anything:
 * whitespace separates words; '...' is literal; "..." keeps everything but allows \" \\ \$ \` and
 * backslash-newline; a backslash outside quotes escapes the next character. `$(...)`, backticks and
 * globs are kept as plain text (the words are quoted again before they reach a script).
 */
import { NelError } from '../common/errors.js';

export function splitShellWords(input: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const fail = (what: string): never => {
    throw new NelError('CONFIG_INVALID', `cannot split ${JSON.stringify(input)} into words: ${what}`, {
      hint: 'close every quote, or give the value as a YAML list of words',
    });
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) fail('unclosed single quote');
      cur += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= input.length) fail('unclosed double quote');
        const d = input[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length) {
          const n = input[i + 1]!;
          if (n === '\n') {
            i += 2;
            continue;
          }
          if (n === '"' || n === '\\' || n === '$' || n === '`') {
            cur += n;
            i += 2;
            continue;
          }
        }
        cur += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= input.length) fail('trailing backslash');
      const n = input[i + 1]!;
      if (n !== '\n') {
        cur += n;
        inWord = true;
      }
      i += 2;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** `extra_docker_args` as words: a string is split like a shell would; a list is taken as words. */
export function dockerArgWords(value: unknown, where = 'execution.extra_docker_args'): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value === 'string') return splitShellWords(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.map(String);
  }
  throw new NelError('CONFIG_INVALID', `${where} must be a string or a list of strings`, {
    hint: `for example ${where.split('.').pop()}: "--network host"`,
  });
}
