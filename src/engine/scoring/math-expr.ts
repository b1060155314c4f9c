/**
 * A small LaTeX (and plain-text) math expression reader and evaluator, for judging whether two final
 * answers are the same number or the same expression: `\frac`, `\sqrt[n]{}`, powers, implicit
 * multiplication, mixed numbers (`1\frac{4}{5}`), `\pi`, `i`, trigonometric/log functions, `\binom`,
 * factorials, `|x|`. Values are complex numbers; letters other than `i` are variables. Two expressions
 * are compared by evaluating both at the same few pseudo-random points (see expressionsEqual).
 */

/** A complex number. */
export interface Complex {
  re: number;
  im: number;
}

export type Expr =
  | { kind: 'num'; value: Complex }
  | { kind: 'var'; name: string }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^'; left: Expr; right: Expr }
  | { kind: 'call'; fn: string; args: Expr[] };

const c = (re: number, im = 0): Complex => ({ re, im });
const isReal = (z: Complex) => Math.abs(z.im) <= 1e-14 * Math.max(1, Math.abs(z.re));

function add(a: Complex, b: Complex): Complex {
  return c(a.re + b.re, a.im + b.im);
}
function sub(a: Complex, b: Complex): Complex {
  return c(a.re - b.re, a.im - b.im);
}
function mul(a: Complex, b: Complex): Complex {
  if (a.im === 0 && b.im === 0) return c(a.re * b.re);
  return c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
function div(a: Complex, b: Complex): Complex {
  if (a.im === 0 && b.im === 0) return c(a.re / b.re);
  const d = b.re * b.re + b.im * b.im;
  return c((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
}
function exp(z: Complex): Complex {
  const m = Math.exp(z.re);
  return z.im === 0 ? c(m) : c(m * Math.cos(z.im), m * Math.sin(z.im));
}
function log(z: Complex): Complex {
  if (z.im === 0 && z.re > 0) return c(Math.log(z.re));
  return c(Math.log(Math.hypot(z.re, z.im)), Math.atan2(z.im, z.re));
}
function pow(a: Complex, b: Complex): Complex {
  if (a.im === 0 && b.im === 0) {
    if (a.re >= 0 || Number.isInteger(b.re)) return c(Math.pow(a.re, b.re));
    // a real odd root of a negative number (e.g. (-8)^(1/3) = -2), as written answers mean it
    const inv = 1 / b.re;
    if (Math.abs(inv - Math.round(inv)) < 1e-9 && Math.round(inv) % 2 !== 0) return c(-Math.pow(-a.re, b.re));
  }
  if (a.re === 0 && a.im === 0) return c(b.re > 0 ? 0 : Infinity);
  if (b.im === 0 && Number.isInteger(b.re) && Math.abs(b.re) <= 64) {
    let r = c(1);
    for (let k = 0; k < Math.abs(b.re); k++) r = mul(r, a);
    return b.re < 0 ? div(c(1), r) : r;
  }
  return exp(mul(b, log(a)));
}
function sqrt(z: Complex): Complex {
  if (z.im === 0) return z.re >= 0 ? c(Math.sqrt(z.re)) : c(0, Math.sqrt(-z.re));
  return pow(z, c(0.5));
}

/** A real-valued function of one real argument (complex arguments give NaN). */
function realFn(f: (x: number) => number): (z: Complex) => Complex {
  return (z) => (isReal(z) ? c(f(z.re)) : c(NaN));
}

const FUNCTIONS: Record<string, (z: Complex) => Complex> = {
  sin: realFn(Math.sin),
  cos: realFn(Math.cos),
  tan: realFn(Math.tan),
  cot: realFn((x) => 1 / Math.tan(x)),
  sec: realFn((x) => 1 / Math.cos(x)),
  csc: realFn((x) => 1 / Math.sin(x)),
  arcsin: realFn(Math.asin),
  arccos: realFn(Math.acos),
  arctan: realFn(Math.atan),
  sinh: realFn(Math.sinh),
  cosh: realFn(Math.cosh),
  tanh: realFn(Math.tanh),
  ln: log,
  log: log,
  exp: exp,
  sqrt: sqrt,
  abs: (z) => c(Math.hypot(z.re, z.im)),
  floor: realFn(Math.floor),
  ceil: realFn(Math.ceil),
  fact: realFn(factorial),
};

function factorial(x: number): number {
  if (!Number.isInteger(x) || x < 0 || x > 170) return NaN;
  let r = 1;
  for (let k = 2; k <= x; k++) r *= k;
  return r;
}

function binom(n: Complex, k: Complex): Complex {
  if (!isReal(n) || !isReal(k)) return c(NaN);
  const kk = Math.round(k.re);
  if (Math.abs(k.re - kk) > 1e-12 || kk < 0) return c(NaN);
  let r = 1;
  for (let j = 0; j < kk; j++) r = (r * (n.re - j)) / (j + 1);
  return c(r);
}

/** Evaluate an expression with the given variable values (a missing variable gives NaN). */
export function evaluate(e: Expr, vars: ReadonlyMap<string, Complex>): Complex {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'var':
      return vars.get(e.name) ?? c(NaN);
    case 'neg': {
      const v = evaluate(e.arg, vars);
      return c(-v.re, -v.im);
    }
    case 'bin': {
      const a = evaluate(e.left, vars);
      const b = evaluate(e.right, vars);
      switch (e.op) {
        case '+':
          return add(a, b);
        case '-':
          return sub(a, b);
        case '*':
          return mul(a, b);
        case '/':
          return div(a, b);
        case '^':
          return pow(a, b);
      }
      break;
    }
    case 'call': {
      const args = e.args.map((x) => evaluate(x, vars));
      if (e.fn === 'binom') return binom(args[0]!, args[1]!);
      if (e.fn === 'root') return pow(args[1]!, div(c(1), args[0]!));
      if (e.fn === 'logb') return div(log(args[1]!), log(args[0]!));
      const f = FUNCTIONS[e.fn];
      return f ? f(args[0]!) : c(NaN);
    }
  }
  return c(NaN);
}

/** The variable names an expression uses. */
export function variablesOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'var':
      out.add(e.name);
      break;
    case 'neg':
      variablesOf(e.arg, out);
      break;
    case 'bin':
      variablesOf(e.left, out);
      variablesOf(e.right, out);
      break;
    case 'call':
      for (const a of e.args) variablesOf(a, out);
      break;
  }
  return out;
}

// ---- reading ----

type Token =
  { t: 'num'; v: string } | { t: 'letter'; v: string } | { t: 'cmd'; v: string } | { t: 'sym'; v: string };

/** Plain-text words read as commands (`sqrt(2)`, `2pi`); other letter runs are products of variables. */
const WORDS = new Set([
  'sqrt',
  'sin',
  'cos',
  'tan',
  'cot',
  'sec',
  'csc',
  'arcsin',
  'arccos',
  'arctan',
  'sinh',
  'cosh',
  'tanh',
  'log',
  'ln',
  'exp',
  'pi',
  'infty',
  'infinity',
  'inf',
]);

const UNICODE: Record<string, string> = {
  π: '\\pi ',
  '√': '\\sqrt',
  '×': '\\times ',
  '·': '\\cdot ',
  '⋅': '\\cdot ',
  '∞': '\\infty ',
  '−': '-',
  '–': '-',
  '÷': '\\div ',
};

class ParseError extends Error {}

function tokenize(src: string): Token[] {
  const s = src.replace(/[π√×·⋅∞−–÷]/g, (ch) => UNICODE[ch] ?? ch);
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (/[0-9.]/.test(ch)) {
      const m = /^(\d+(?:\.\d*)?|\.\d+)/.exec(s.slice(i));
      if (!m) throw new ParseError(`bad number at ${i}`);
      out.push({ t: 'num', v: m[1]! });
      i += m[1]!.length;
      continue;
    }
    if (/[a-zA-Z]/.test(ch)) {
      const m = /^[a-zA-Z]+/.exec(s.slice(i))![0];
      const lower = m.toLowerCase();
      if (WORDS.has(lower) && lower === m) out.push({ t: 'cmd', v: lower === 'infinity' ? 'infty' : m });
      else for (const l of m) out.push({ t: 'letter', v: l });
      i += m.length;
      continue;
    }
    if (ch === '\\') {
      const m = /^\\([a-zA-Z]+)/.exec(s.slice(i));
      if (m) {
        out.push({ t: 'cmd', v: m[1]! });
        i += m[0].length;
        continue;
      }
      const next = s[i + 1];
      if (next === '{' || next === '}') {
        out.push({ t: 'sym', v: next === '{' ? '(' : ')' });
        i += 2;
        continue;
      }
      if (next === ',' || next === ';' || next === '!' || next === ':' || next === ' ') {
        i += 2;
        continue;
      }
      throw new ParseError(`unexpected \\${next ?? ''}`);
    }
    if ('+-*/^_()[]{}!|,='.includes(ch)) {
      out.push({ t: 'sym', v: ch });
      i++;
      continue;
    }
    if (ch === "'") throw new ParseError('primes are not supported');
    throw new ParseError(`unexpected character ${ch}`);
  }
  return out;
}

const GREEK = new Set([
  'alpha',
  'beta',
  'gamma',
  'delta',
  'epsilon',
  'varepsilon',
  'zeta',
  'eta',
  'theta',
  'vartheta',
  'iota',
  'kappa',
  'lambda',
  'mu',
  'nu',
  'xi',
  'rho',
  'sigma',
  'tau',
  'upsilon',
  'phi',
  'varphi',
  'chi',
  'psi',
  'omega',
  'Gamma',
  'Delta',
  'Theta',
  'Lambda',
  'Xi',
  'Sigma',
  'Phi',
  'Psi',
  'Omega',
]);

const FUNCTION_CMDS = new Set([
  'sin',
  'cos',
  'tan',
  'cot',
  'sec',
  'csc',
  'arcsin',
  'arccos',
  'arctan',
  'sinh',
  'cosh',
  'tanh',
  'ln',
  'log',
  'exp',
]);

/** Commands that are only layout: dropped. */
const IGNORED_CMDS = new Set([
  'left',
  'right',
  'big',
  'Big',
  'bigg',
  'Bigg',
  'bigl',
  'bigr',
  'Bigl',
  'Bigr',
  'displaystyle',
  'textstyle',
  'quad',
  'qquad',
  'mathrm',
  'mathbf',
  'mathit',
  'text',
  'textbf',
  'mbox',
  'operatorname',
]);

/** Commands that end a factor or join two (never the start of an implicit product). */
const CLOSING_OR_OPERATOR_CMDS = new Set([
  'cdot',
  'times',
  'div',
  'pm',
  'mp',
  'rfloor',
  'rceil',
  'rvert',
  'vert',
]);

class Parser {
  private pos = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }
  private isSym(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.t === 'sym' && t.v === v;
  }
  private isCmd(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.t === 'cmd' && t.v === v;
  }
  private expectSym(v: string): void {
    if (!this.isSym(v)) throw new ParseError(`expected ${v}`);
    this.pos++;
  }

  parseAll(): Expr {
    const e = this.expr();
    if (this.pos < this.toks.length) throw new ParseError('trailing input');
    return e;
  }

  private expr(): Expr {
    let left = this.term();
    for (;;) {
      if (this.isSym('+')) {
        this.pos++;
        left = { kind: 'bin', op: '+', left, right: this.term() };
      } else if (this.isSym('-')) {
        this.pos++;
        left = { kind: 'bin', op: '-', left, right: this.term() };
      } else return left;
    }
  }

  private term(): Expr {
    let left = this.unary();
    for (;;) {
      if (this.isSym('*') || this.isCmd('cdot') || this.isCmd('times')) {
        this.pos++;
        left = { kind: 'bin', op: '*', left, right: this.unary() };
      } else if (this.isSym('/') || this.isCmd('div')) {
        this.pos++;
        left = { kind: 'bin', op: '/', left, right: this.unary() };
      } else if (this.startsPrimary()) {
        left = { kind: 'bin', op: '*', left, right: this.power() };
      } else return left;
    }
  }

  private unary(): Expr {
    if (this.isSym('-')) {
      this.pos++;
      return { kind: 'neg', arg: this.unary() };
    }
    if (this.isSym('+')) {
      this.pos++;
      return this.unary();
    }
    return this.power();
  }

  /** Whether the next token can start a factor of an implicit product. */
  private startsPrimary(): boolean {
    const t = this.peek();
    if (!t) return false;
    if (t.t === 'num' || t.t === 'letter') return true;
    if (t.t === 'sym') return t.v === '(' || t.v === '[' || t.v === '{';
    return !CLOSING_OR_OPERATOR_CMDS.has(t.v);
  }

  private power(): Expr {
    let base = this.postfix(this.primary());
    if (this.isSym('^')) {
      this.pos++;
      const exponent = this.exponent();
      base = { kind: 'bin', op: '^', left: base, right: exponent };
    }
    return base;
  }

  private exponent(): Expr {
    if (this.isSym('{')) return this.group('{', '}');
    if (this.isSym('-')) {
      this.pos++;
      return { kind: 'neg', arg: this.exponent() };
    }
    if (this.isSym('+')) {
      this.pos++;
      return this.exponent();
    }
    // `x^-1`, `2^10`, `e^x`, `x^(n+1)`, `2^\pi`: one primary (with its own powers: a^b^c)
    const base = this.postfix(this.primary());
    if (this.isSym('^')) {
      this.pos++;
      return { kind: 'bin', op: '^', left: base, right: this.exponent() };
    }
    return base;
  }

  private postfix(e: Expr): Expr {
    while (this.isSym('!')) {
      this.pos++;
      e = { kind: 'call', fn: 'fact', args: [e] };
    }
    return e;
  }

  private group(open: string, close: string): Expr {
    this.expectSym(open);
    const e = this.expr();
    this.expectSym(close);
    return e;
  }

  /** A braced argument `{...}` (after brace shorthand was expanded, every argument is braced). */
  private braced(): Expr {
    if (this.isSym('{')) return this.group('{', '}');
    return this.postfix(this.primary());
  }

  private primary(): Expr {
    const t = this.peek();
    if (!t) throw new ParseError('unexpected end');
    if (t.t === 'num') {
      this.pos++;
      if (this.isSym('_')) throw new ParseError('a subscripted number (a base) is not a value');
      const value: Expr = { kind: 'num', value: c(Number(t.v)) };
      const mixed = /^\d+$/.test(t.v) ? this.mixedFraction() : null;
      return mixed ? { kind: 'bin', op: '+', left: value, right: mixed } : value;
    }
    if (t.t === 'letter') {
      this.pos++;
      let name = t.v;
      if (this.isSym('_')) {
        this.pos++;
        name += `_${this.subscript()}`;
      }
      if (name === 'i') return { kind: 'num', value: c(0, 1) };
      return { kind: 'var', name };
    }
    if (t.t === 'sym') {
      if (t.v === '(') return this.group('(', ')');
      if (t.v === '[') return this.group('[', ']');
      if (t.v === '{') return this.group('{', '}');
      if (t.v === '|') {
        this.pos++;
        const e = this.expr();
        this.expectSym('|');
        return { kind: 'call', fn: 'abs', args: [e] };
      }
      throw new ParseError(`unexpected ${t.v}`);
    }
    return this.command(t.v);
  }

  /** `\frac{p}{q}` right after an integer, with integer p and q: the fraction part of a mixed number. */
  private mixedFraction(): Expr | null {
    const toks = this.toks;
    const p = this.pos;
    const isInt = (k: number) => toks[k]?.t === 'num' && /^\d+$/.test(toks[k]!.v);
    const sym = (k: number, v: string) => toks[k]?.t === 'sym' && toks[k]!.v === v;
    if (
      toks[p]?.t === 'cmd' &&
      toks[p]!.v === 'frac' &&
      sym(p + 1, '{') &&
      isInt(p + 2) &&
      sym(p + 3, '}') &&
      sym(p + 4, '{') &&
      isInt(p + 5) &&
      sym(p + 6, '}')
    ) {
      this.pos = p + 7;
      return {
        kind: 'bin',
        op: '/',
        left: { kind: 'num', value: c(Number(toks[p + 2]!.v)) },
        right: { kind: 'num', value: c(Number(toks[p + 5]!.v)) },
      };
    }
    return null;
  }

  private subscript(): string {
    const t = this.peek();
    if (!t) throw new ParseError('missing subscript');
    if (this.isSym('{')) {
      let depth = 0;
      let text = '';
      do {
        const x = this.peek();
        if (!x) throw new ParseError('unclosed subscript');
        if (x.t === 'sym' && x.v === '{') depth++;
        if (x.t === 'sym' && x.v === '}') depth--;
        text += x.v;
        this.pos++;
      } while (depth > 0);
      return text.slice(1, -1);
    }
    this.pos++;
    return t.v;
  }

  private command(name: string): Expr {
    this.pos++;
    if (IGNORED_CMDS.has(name)) {
      if (this.isSym('{') && ['mathrm', 'mathbf', 'mathit', 'text', 'textbf', 'mbox'].includes(name))
        return this.group('{', '}');
      if (name === 'operatorname') {
        const fn = this.subscriptName();
        return this.applyFunction(fn);
      }
      return this.primary();
    }
    if (name === 'frac' || name === 'dfrac' || name === 'tfrac' || name === 'cfrac') {
      const num = this.braced();
      const den = this.braced();
      return { kind: 'bin', op: '/', left: num, right: den };
    }
    if (name === 'binom' || name === 'dbinom' || name === 'tbinom') {
      const n = this.braced();
      const k = this.braced();
      return { kind: 'call', fn: 'binom', args: [n, k] };
    }
    if (name === 'sqrt') {
      if (this.isSym('[')) {
        const index = this.group('[', ']');
        return { kind: 'call', fn: 'root', args: [index, this.braced()] };
      }
      if (this.isSym('(')) return { kind: 'call', fn: 'sqrt', args: [this.group('(', ')')] };
      return { kind: 'call', fn: 'sqrt', args: [this.braced()] };
    }
    if (name === 'pi') return { kind: 'num', value: c(Math.PI) };
    if (name === 'infty' || name === 'inf') return { kind: 'num', value: c(Infinity) };
    if (name === 'lfloor' || name === 'lceil') {
      const e = this.expr();
      const close = name === 'lfloor' ? 'rfloor' : 'rceil';
      if (!this.isCmd(close)) throw new ParseError(`expected \\${close}`);
      this.pos++;
      return { kind: 'call', fn: name === 'lfloor' ? 'floor' : 'ceil', args: [e] };
    }
    if (name === 'lvert' || name === 'vert') {
      const e = this.expr();
      if (!this.isCmd('rvert') && !this.isCmd('vert')) throw new ParseError('expected \\rvert');
      this.pos++;
      return { kind: 'call', fn: 'abs', args: [e] };
    }
    if (GREEK.has(name)) return { kind: 'var', name: `\\${name}` };
    if (FUNCTION_CMDS.has(name)) return this.applyFunction(name);
    throw new ParseError(`unsupported command \\${name}`);
  }

  private subscriptName(): string {
    if (!this.isSym('{')) throw new ParseError('expected {name}');
    this.pos++;
    let name = '';
    while (!this.isSym('}')) {
      const t = this.peek();
      if (!t) throw new ParseError('unclosed name');
      name += t.v;
      this.pos++;
    }
    this.pos++;
    return name;
  }

  /** `\sin x`, `\sin^2 x`, `\sin(2x)`, `\log_2 8`, `\ln{x}`: the argument is a group or one implicit product. */
  private applyFunction(fn: string): Expr {
    let base: Expr | null = null;
    if (fn === 'log' && this.isSym('_')) {
      this.pos++;
      base = this.isSym('{') ? this.group('{', '}') : this.postfix(this.primary());
    }
    let power: Expr | null = null;
    if (this.isSym('^')) {
      this.pos++;
      power = this.exponent();
    }
    let arg: Expr;
    if (this.isSym('(') || this.isSym('{') || this.isSym('[')) {
      arg = this.power();
    } else {
      arg = this.power();
      while (this.startsPrimary() && !this.startsFunction()) {
        arg = { kind: 'bin', op: '*', left: arg, right: this.power() };
      }
    }
    let call: Expr = base
      ? { kind: 'call', fn: 'logb', args: [base, arg] }
      : { kind: 'call', fn: FUNCTIONS[fn] ? fn : 'log', args: [arg] };
    if (power) {
      // `\sin^{-1} x` is arcsin; other powers apply to the value
      const inverse = power.kind === 'neg' && power.arg.kind === 'num' && power.arg.value.re === 1;
      if (inverse && ['sin', 'cos', 'tan'].includes(fn)) call = { kind: 'call', fn: `arc${fn}`, args: [arg] };
      else call = { kind: 'bin', op: '^', left: call, right: power };
    }
    return call;
  }

  private startsFunction(): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'cmd' && FUNCTION_CMDS.has(t.v);
  }
}

/**
 * Rewrite TeX's brace-less arguments into braced ones: `\frac12` -> `\frac{1}{2}`, `\frac 59`,
 * `\frac{270}7`, `\frac\pi2`, `\sqrt2` -> `\sqrt{2}`, `\binom52`.
 */
export function braceShorthand(s: string): string {
  const re = /\\(d?frac|tfrac|cfrac|d?binom|tbinom|sqrt)(?![a-zA-Z])/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const argc = m[1] === 'sqrt' ? 1 : 2;
    let i = m.index + m[0].length;
    let rebuilt = m[0];
    for (let a = 0; a < argc; a++) {
      while (s[i] === ' ') i++;
      if (m[1] === 'sqrt' && s[i] === '[') {
        const close = matchingBracket(s, i, '[', ']');
        if (close < 0) break;
        rebuilt += s.slice(i, close + 1);
        i = close + 1;
        while (s[i] === ' ') i++;
      }
      if (s[i] === '{') {
        const close = matchingBracket(s, i, '{', '}');
        if (close < 0) break;
        rebuilt += s.slice(i, close + 1);
        i = close + 1;
      } else if (s[i] === '\\') {
        const cmd = /^\\[a-zA-Z]+/.exec(s.slice(i));
        const tok = cmd ? cmd[0] : s.slice(i, i + 2);
        rebuilt += `{${tok}}`;
        i += tok.length;
      } else if (i < s.length && (m[1] !== 'sqrt' || s[i] !== '(')) {
        rebuilt += `{${s[i]}}`;
        i++;
      }
    }
    out += s.slice(last, m.index) + rebuilt;
    last = i;
    re.lastIndex = i;
  }
  return out + s.slice(last);
}

/** Index of the bracket closing the one at `open` (nesting counted), or -1. */
export function matchingBracket(s: string, open: number, o: string, cl: string): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '\\' && (s[i + 1] === o || s[i + 1] === cl) && o !== '{') {
      i++;
      continue;
    }
    if (s[i] === o) depth++;
    else if (s[i] === cl) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Read an expression; null when it is not one this reader understands. */
export function parseExpression(text: string): Expr | null {
  try {
    const toks = tokenize(braceShorthand(text));
    if (toks.length === 0) return null;
    return new Parser(toks).parseAll();
  } catch (e) {
    if (e instanceof ParseError) return null;
    throw e;
  }
}

/** Deterministic value in [0.35, 2.35) for a variable at trial `k` (different names get different values). */
function variableValue(name: string, k: number): number {
  let h = 2166136261 ^ k;
  for (let j = 0; j < name.length; j++) h = Math.imul(h ^ name.charCodeAt(j), 16777619);
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
  return 0.35 + ((h >>> 0) % 1_000_003) / 500_001.5;
}

/** Two numbers agree: relative 1e-11 (plus a tiny absolute slack for rounding near zero). */
export function closeEnough(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-12 + 1e-11 * Math.max(Math.abs(a), Math.abs(b));
}

function complexClose(a: Complex, b: Complex): boolean {
  return closeEnough(a.re, b.re) && closeEnough(a.im, b.im);
}

const TRIALS = 4;

/**
 * Whether two expressions are equal: the same value (constants), or the same value at each of a few
 * pseudo-random assignments of their variables (both must use the same variables). An infinity only
 * equals the same infinity.
 */
export function expressionsEqual(a: Expr, b: Expr): boolean {
  const va = variablesOf(a);
  const vb = variablesOf(b);
  if (va.size !== vb.size || [...va].some((v) => !vb.has(v))) return false;
  const trials = va.size === 0 ? 1 : TRIALS;
  let compared = 0;
  for (let k = 0; k < trials; k++) {
    const vars = new Map<string, Complex>();
    for (const name of va) vars.set(name, c(variableValue(name, k)));
    const x = evaluate(a, vars);
    const y = evaluate(b, vars);
    const badX = Number.isNaN(x.re) || Number.isNaN(x.im);
    const badY = Number.isNaN(y.re) || Number.isNaN(y.im);
    if (badX || badY) {
      if (badX !== badY) return false;
      continue;
    }
    if (!Number.isFinite(x.re) || !Number.isFinite(y.re)) {
      if (x.re !== y.re || !isReal(x) || !isReal(y)) return false;
      compared++;
      continue;
    }
    if (!complexClose(x, y)) return false;
    compared++;
  }
  return compared > 0;
}

/** The value of a constant expression, or null (variables, or not a finite real number). */
export function constantValue(e: Expr): number | null {
  if (variablesOf(e).size > 0) return null;
  const v = evaluate(e, new Map());
  return isReal(v) && !Number.isNaN(v.re) ? v.re : null;
}
