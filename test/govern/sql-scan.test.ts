import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSafeByConstruction, scanSqlInterpolations } from './sql-scan.js';

/**
 * A static check that no SQL is built from values. Every `${…}` inside a SQL-looking template
 * literal in src/ must be safe by construction (the bound-parameter helper, a literal, a module
 * constant, a variable holding a `params.add(…)` placeholder) or listed in
 * sql-interpolations.baseline.json: the identifiers and compiled fragments that were present when
 * this check was introduced, each built from allow-lists or from the parameter helper. A new entry
 * there needs a reviewer's look; a value belongs in a bound parameter instead.
 */

const root = new URL('../../', import.meta.url).pathname;
const baseline = JSON.parse(
  readFileSync(new URL('./sql-interpolations.baseline.json', import.meta.url), 'utf8'),
) as Record<string, string[]>;
const fixtures = mkdtempSync(join(tmpdir(), 'pulseloop-sql-scan-'));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

const unreviewed = (dir: string, allowed: Record<string, string[]>) =>
  scanSqlInterpolations(dir, dir === fixtures ? fixtures : root).filter(
    (f) =>
      !f.boundVariable &&
      !isSafeByConstruction(f.expression) &&
      !(allowed[f.file] ?? []).includes(f.expression),
  );

describe('no SQL built from values', () => {
  it('flags a value interpolated into a query, and accepts placeholders, literals and constants', () => {
    mkdirSync(join(fixtures, 'src'), { recursive: true });
    // A sample of unsafe and safe interpolations (kept as .txt so the check over src/ and the linter skip it).
    copyFileSync(
      new URL('./fixtures/sql-scan-sample.ts.txt', import.meta.url),
      join(fixtures, 'src', 'sample.ts'),
    );
    expect(unreviewed(fixtures, {}).map((f) => `${f.line}: ${f.expression}`)).toEqual([
      '2: id',
      '3: request.query.user',
    ]);
  });

  it('finds no unreviewed interpolation in src/', () => {
    const findings = unreviewed(join(root, 'src'), baseline);
    expect(
      findings.map((f) => `${f.file}:${f.line} \${${f.expression}}`),
      'bind values with params.add(…); identifiers only from allow-lists (then add them to the baseline with review)',
    ).toEqual([]);
  });
});
