/**
 * A small, safe arithmetic language for metric formulas: numbers, metric ids, + − × ÷ and
 * parentheses (ASCII `+ - * /` or `× ÷ −`). Formulas are parsed into a tree and evaluated in
 * JavaScript over values the database computed; no formula text ever reaches SQL.
 */

export type FormulaNode =
  | { type: 'number'; value: number }
  | { type: 'ref'; id: string }
  | { type: 'negate'; operand: FormulaNode }
  | { type: 'binary'; op: '+' | '-' | '*' | '/'; left: FormulaNode; right: FormulaNode };

/**
 * A formula that does not parse: what is wrong in English (the message) and Chinese (`zh`);
 * `position` is the character where the problem is.
 */
export class FormulaError extends Error {
  constructor(
    message: string,
    readonly zh: string,
    readonly position: number,
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'ref'; id: string; at: number }
  | { kind: 'op'; op: '+' | '-' | '*' | '/'; at: number }
  | { kind: 'paren'; open: boolean; at: number };

const MAX_LENGTH = 500;
const MAX_DEPTH = 32;
const OPS: Record<string, '+' | '-' | '*' | '/'> = {
  '+': '+',
  '-': '-',
  '−': '-',
  '*': '*',
  '×': '*',
  '/': '/',
  '÷': '/',
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (/[0-9.]/.test(c)) {
      const match = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
      if (!match) throw new FormulaError(`bad number at ${i}`, `位置 ${i} 处的数字无效`, i);
      tokens.push({ kind: 'number', value: Number(match[0]), at: i });
      i += match[0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const match = /^[A-Za-z_$][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'ref', id: match[0], at: i });
      i += match[0].length;
    } else if (OPS[c]) {
      tokens.push({ kind: 'op', op: OPS[c], at: i });
      i += 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: 'paren', open: c === '(', at: i });
      i += 1;
    } else {
      throw new FormulaError(`unexpected character "${c}" at ${i}`, `位置 ${i} 处有无法识别的字符 "${c}"`, i);
    }
  }
  return tokens;
}

/** Parses a formula; throws FormulaError saying where it went wrong. */
export function parseFormula(text: string): FormulaNode {
  if (text.length > MAX_LENGTH)
    throw new FormulaError(`longer than ${MAX_LENGTH} characters`, `超过 ${MAX_LENGTH} 个字符`, MAX_LENGTH);
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const endAt = () => peek()?.at ?? text.length;

  // expression := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ; unary := '-' unary | atom
  function expression(depth: number): FormulaNode {
    let left = term(depth);
    for (let t = peek(); t?.kind === 'op' && (t.op === '+' || t.op === '-'); t = peek()) {
      pos += 1;
      left = { type: 'binary', op: t.op, left, right: term(depth) };
    }
    return left;
  }
  function term(depth: number): FormulaNode {
    let left = unary(depth);
    for (let t = peek(); t?.kind === 'op' && (t.op === '*' || t.op === '/'); t = peek()) {
      pos += 1;
      left = { type: 'binary', op: t.op, left, right: unary(depth) };
    }
    return left;
  }
  function unary(depth: number): FormulaNode {
    if (depth > MAX_DEPTH)
      throw new FormulaError(`nested more than ${MAX_DEPTH} levels`, `嵌套超过 ${MAX_DEPTH} 层`, endAt());
    const t = peek();
    if (t?.kind === 'op' && t.op === '-') {
      pos += 1;
      return { type: 'negate', operand: unary(depth + 1) };
    }
    return atom(depth);
  }
  function atom(depth: number): FormulaNode {
    const t = peek();
    if (!t)
      throw new FormulaError(
        'formula ends where a number or metric was expected',
        '公式不完整：末尾缺少数字或指标',
        text.length,
      );
    pos += 1;
    if (t.kind === 'number') return { type: 'number', value: t.value };
    if (t.kind === 'ref') return { type: 'ref', id: t.id };
    if (t.kind === 'paren' && t.open) {
      const inner = expression(depth + 1);
      const close = peek();
      if (close?.kind !== 'paren' || close.open)
        throw new FormulaError(`missing ")" at ${endAt()}`, `位置 ${endAt()} 处缺少 ")"`, endAt());
      pos += 1;
      return inner;
    }
    throw new FormulaError(
      `unexpected "${t.kind === 'op' ? t.op : ')'}" at ${t.at}`,
      `位置 ${t.at} 处不应出现 "${t.kind === 'op' ? t.op : ')'}"`,
      t.at,
    );
  }

  const tree = expression(0);
  if (pos < tokens.length)
    throw new FormulaError(`unexpected text at ${endAt()}`, `位置 ${endAt()} 处有多余的内容`, endAt());
  return tree;
}

/** Every metric id (or `$variable`) a formula reads. */
export function formulaRefs(node: FormulaNode, into = new Set<string>()): Set<string> {
  if (node.type === 'ref') into.add(node.id);
  else if (node.type === 'negate') formulaRefs(node.operand, into);
  else if (node.type === 'binary') {
    formulaRefs(node.left, into);
    formulaRefs(node.right, into);
  }
  return into;
}

/**
 * Evaluates a formula. A missing value, a division by zero or a non-finite result gives null
 * (shown as "no data"), never Infinity or NaN.
 */
export function evaluateFormula(node: FormulaNode, value: (id: string) => number | null): number | null {
  switch (node.type) {
    case 'number':
      return node.value;
    case 'ref': {
      const v = value(node.id);
      return v === null || !Number.isFinite(v) ? null : v;
    }
    case 'negate': {
      const v = evaluateFormula(node.operand, value);
      return v === null ? null : -v;
    }
    case 'binary': {
      const left = evaluateFormula(node.left, value);
      const right = evaluateFormula(node.right, value);
      if (left === null || right === null) return null;
      let result: number;
      if (node.op === '+') result = left + right;
      else if (node.op === '-') result = left - right;
      else if (node.op === '*') result = left * right;
      else {
        if (right === 0) return null;
        result = left / right;
      }
      return Number.isFinite(result) ? result : null;
    }
  }
}
