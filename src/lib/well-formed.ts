/**
 * Text with each lone UTF-16 surrogate replaced by U+FFFD. A JSON sender can write one as `\ud800`;
 * UTF-8 has no encoding for it, and ClickHouse refuses a JSON row that escapes one, which would fail
 * a whole insert. (String.prototype.isWellFormed / toWellFormed, ES2024, are in Node.js 20.)
 */
export function wellFormed(text: string): string {
  const t = text as string & { isWellFormed(): boolean; toWellFormed(): string };
  return t.isWellFormed() ? text : t.toWellFormed();
}
