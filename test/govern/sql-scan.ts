import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** An interpolation `${…}` inside a template literal that reads as SQL. */
export interface SqlInterpolation {
  file: string;
  line: number;
  expression: string;
  /** The expression is a variable initialised from the bound-parameter helper (`const x = params.add(…)`). */
  boundVariable: boolean;
}

const SQL_WORDS =
  /\b(SELECT|INSERT INTO|ALTER TABLE|CREATE TABLE|DELETE FROM|UPDATE|WHERE|FROM|GROUP BY|ORDER BY|JOIN|PREWHERE|SETTINGS|UNION ALL|HAVING|LIMIT)\b/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every interpolation in a SQL-looking template literal under `root` (Kysely's sql`` tag binds, so it is skipped). */
export function scanSqlInterpolations(root: string, base: string): SqlInterpolation[] {
  const found: SqlInterpolation[] = [];
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const bound = new Set<string>();
    const collect = (node: ts.Node): void => {
      if (
        ts.isVariableDeclaration(node) &&
        ts.isIdentifier(node.name) &&
        node.initializer &&
        ts.isCallExpression(node.initializer) &&
        ts.isPropertyAccessExpression(node.initializer.expression) &&
        node.initializer.expression.name.text === 'add'
      ) {
        bound.add(node.name.text);
      }
      ts.forEachChild(node, collect);
    };
    collect(source);
    const visit = (node: ts.Node): void => {
      if (ts.isTaggedTemplateExpression(node) && node.tag.getText(source) === 'sql') return;
      if (ts.isTemplateExpression(node)) {
        const literal = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ');
        if (SQL_WORDS.test(literal)) {
          for (const span of node.templateSpans) {
            const expression = span.expression.getText(source).replace(/\s+/g, ' ');
            found.push({
              file: relative(base, file),
              line: source.getLineAndCharacterOfPosition(span.expression.getStart(source)).line + 1,
              expression,
              boundVariable: bound.has(expression),
            });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/**
 * Interpolations that are safe by construction: the bound-parameter helper (`params.add(…)`, which
 * returns a `{pN:Type}` placeholder), literals, module constants (UPPER_SNAKE), and a choice
 * between literals.
 */
export function isSafeByConstruction(expression: string): boolean {
  const e = expression.trim();
  if (/^\w+\.add\(/.test(e)) return true;
  if (/^(\d+|'[^'$]*'|"[^"$]*")$/.test(e)) return true;
  if (/^[A-Z][A-Z0-9_]*(\.[a-z]\w*\([^$]*\))?$/.test(e)) return true;
  const literal = String.raw`('[^'$]*'|"[^"$]*"|\x60[^\x60$]*\x60)`;
  return new RegExp(`^[^?]+\\?\\s*${literal}\\s*:\\s*${literal}$`).test(e);
}
