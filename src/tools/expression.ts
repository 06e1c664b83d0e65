/**
 * Arithmetic expressions for the calculator tool: a tokenizer and a recursive-descent parser that
 * computes as it parses (never `eval`, never `Function`). Grammar, loosest binding first:
 *
 *   expr    = term (("+" | "-") term)*
 *   term    = unary (("*" | "/" | "%") unary)*
 *   unary   = ("-" | "+") unary | power
 *   power   = primary (("^" | "**") unary)?        right-associative; -2^2 = -4 as in maths
 *   primary = number | constant | name "(" expr ("," expr)* ")" | "(" expr ")"
 *
 * Numbers: 12, 3.5, .5, 1e-3, 1_000. Constants: pi, e, tau. Functions below. Errors name the
 * position, so the model can fix its input.
 */

const functions: Record<string, { arity: [number, number]; fn: (...a: number[]) => number }> = {
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  cbrt: { arity: [1, 1], fn: Math.cbrt },
  abs: { arity: [1, 1], fn: Math.abs },
  round: { arity: [1, 2], fn: (x, d = 0) => Math.round(x * 10 ** d) / 10 ** d },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  trunc: { arity: [1, 1], fn: Math.trunc },
  sign: { arity: [1, 1], fn: Math.sign },
  exp: { arity: [1, 1], fn: Math.exp },
  ln: { arity: [1, 1], fn: Math.log },
  log: {
    arity: [1, 2],
    fn: (x, base) => (base === undefined ? Math.log10(x) : Math.log(x) / Math.log(base)),
  },
  log2: { arity: [1, 1], fn: Math.log2 },
  log10: { arity: [1, 1], fn: Math.log10 },
  sin: { arity: [1, 1], fn: Math.sin },
  cos: { arity: [1, 1], fn: Math.cos },
  tan: { arity: [1, 1], fn: Math.tan },
  asin: { arity: [1, 1], fn: Math.asin },
  acos: { arity: [1, 1], fn: Math.acos },
  atan: { arity: [1, 1], fn: Math.atan },
  atan2: { arity: [2, 2], fn: Math.atan2 },
  pow: { arity: [2, 2], fn: Math.pow },
  min: { arity: [1, 100], fn: Math.min },
  max: { arity: [1, 100], fn: Math.max },
  hypot: { arity: [1, 100], fn: Math.hypot },
};

const constants: Record<string, number> = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };

export class ExpressionError extends Error {
  constructor(message: string, at?: number) {
    super(at === undefined ? message : `${message} at position ${at + 1}`);
    this.name = 'ExpressionError';
  }
}

type Token = { kind: 'num'; value: number; at: number } | { kind: 'op' | 'name'; text: string; at: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/.exec(src.slice(i));
    if (num) {
      const value = Number(num[0].replaceAll('_', ''));
      if (Number.isNaN(value)) throw new ExpressionError(`bad number "${num[0]}"`, i);
      tokens.push({ kind: 'num', value, at: i });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      tokens.push({ kind: 'name', text: name[0].toLowerCase(), at: i });
      i += name[0].length;
      continue;
    }
    if (src.startsWith('**', i)) {
      tokens.push({ kind: 'op', text: '^', at: i });
      i += 2;
      continue;
    }
    const op = { '×': '*', '÷': '/', '−': '-' }[c] ?? c;
    if ('+-*/%^(),'.includes(op)) {
      tokens.push({ kind: 'op', text: op, at: i });
      i++;
      continue;
    }
    throw new ExpressionError(`unexpected character "${c}"`, i);
  }
  return tokens;
}

/** Evaluates an arithmetic expression; throws `ExpressionError` saying what is wrong and where. */
export function evaluateExpression(src: string): number {
  if (src.length > 2000) throw new ExpressionError('expression is longer than 2000 characters');
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const isOp = (text: string) => {
    const t = tokens[pos];
    return t?.kind === 'op' && t.text === text;
  };
  const expect = (text: string) => {
    const t = tokens[pos];
    if (!(t?.kind === 'op' && t.text === text)) {
      throw new ExpressionError(`expected "${text}"`, t?.at ?? src.length);
    }
    pos++;
  };
  // Deep nesting is refused rather than allowed to exhaust the stack.
  const nest = <T>(f: () => T): T => {
    if (++depth > 200) throw new ExpressionError('expression is nested too deeply');
    try {
      return f();
    } finally {
      depth--;
    }
  };

  const expr = (): number =>
    nest(() => {
      let v = term();
      while (isOp('+') || isOp('-')) {
        const plus = isOp('+');
        pos++;
        const r = term();
        v = plus ? v + r : v - r;
      }
      return v;
    });
  const term = (): number => {
    let v = unary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = (tokens[pos++] as { text: string }).text;
      const r = unary();
      if ((op === '/' || op === '%') && r === 0) throw new ExpressionError('division by zero');
      v = op === '*' ? v * r : op === '/' ? v / r : v % r;
    }
    return v;
  };
  const unary = (): number =>
    nest(() => {
      if (isOp('-')) {
        pos++;
        return -unary();
      }
      if (isOp('+')) {
        pos++;
        return unary();
      }
      return power();
    });
  const power = (): number => {
    const base = primary();
    if (!isOp('^')) return base;
    pos++;
    return base ** unary();
  };
  const primary = (): number => {
    const t = peek();
    if (!t) throw new ExpressionError('unexpected end of expression');
    pos++;
    if (t.kind === 'num') return t.value;
    if (t.kind === 'op' && t.text === '(') {
      const v = expr();
      expect(')');
      return v;
    }
    if (t.kind === 'name') {
      if (isOp('(')) {
        // Own properties only: `constructor` or `__proto__` must not reach Object.prototype.
        const f = Object.hasOwn(functions, t.text) ? functions[t.text] : undefined;
        if (!f) throw new ExpressionError(`unknown function "${t.text}"`, t.at);
        pos++;
        const args = [expr()];
        while (isOp(',')) {
          pos++;
          args.push(expr());
        }
        expect(')');
        const [lo, hi] = f.arity;
        if (args.length < lo || args.length > hi) {
          throw new ExpressionError(`${t.text} takes ${lo === hi ? lo : `${lo} to ${hi}`} arguments`, t.at);
        }
        return f.fn(...args);
      }
      const c = Object.hasOwn(constants, t.text) ? constants[t.text] : undefined;
      if (c === undefined) throw new ExpressionError(`unknown name "${t.text}"`, t.at);
      return c;
    }
    throw new ExpressionError(`unexpected "${t.text}"`, t.at);
  };

  if (tokens.length === 0) throw new ExpressionError('expression is empty');
  const value = expr();
  if (pos < tokens.length) {
    const t = tokens[pos]!;
    throw new ExpressionError(`unexpected "${t.kind === 'num' ? t.value : t.text}"`, t.at);
  }
  if (!Number.isFinite(value)) throw new ExpressionError('the result is not a finite number');
  return value;
}
