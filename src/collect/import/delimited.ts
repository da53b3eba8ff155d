import type { RawRecord } from './records.js';

/**
 * An incremental CSV/TSV parser (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`, line breaks inside
 * quotes). Lines without a quote, nearly all of a large export, are split with one `split` call;
 * only quoted records go through the character scanner.
 */
export class DelimitedParser {
  private rest = '';
  private recordCount = 0;

  constructor(private readonly delimiter: string) {}

  /** Parses the complete records of `text` (appended to what was left over) into `out`. */
  push(text: string, out: RawRecord[]): void {
    const s = this.rest.length > 0 ? this.rest + text : text;
    if (s.indexOf('"') < 0) {
      this.pushUnquoted(s, out);
      return;
    }
    let pos = 0;
    // The next quote at or after `pos`, searched again only once passed: a linear scan overall.
    let quote = s.indexOf('"');
    for (;;) {
      const newline = s.indexOf('\n', pos);
      if (newline < 0) break;
      if (quote >= 0 && quote < pos) quote = s.indexOf('"', pos);
      if (quote < 0 || quote > newline) {
        const end = newline > pos && s.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        out.push({ rowNumber: ++this.recordCount, cells: s.slice(pos, end).split(this.delimiter) });
        pos = newline + 1;
        continue;
      }
      const quoted = this.scanQuoted(s, pos, false);
      if (!quoted) break;
      out.push({ rowNumber: ++this.recordCount, cells: quoted.cells });
      pos = quoted.next;
    }
    this.rest = s.slice(pos);
  }

  /** Text without any quote, nearly every chunk of a large export: one native split per line. */
  private pushUnquoted(s: string, out: RawRecord[]): void {
    const lines = s.split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) {
      const text = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
      out.push({ rowNumber: ++this.recordCount, cells: text.split(this.delimiter) });
    }
  }

  /** Parses what is left at the end of the input (a last line without a line break). */
  end(out: RawRecord[]): void {
    if (this.rest.length === 0) return;
    const quoted = this.scanQuoted(this.rest, 0, true);
    if (quoted) out.push({ rowNumber: ++this.recordCount, cells: quoted.cells });
    this.rest = '';
  }

  /** One record from `start`; null when it runs past the end of the text before the input ended. */
  private scanQuoted(s: string, start: number, atEnd: boolean): { cells: string[]; next: number } | null {
    const cells: string[] = [];
    const n = s.length;
    let i = start;
    for (;;) {
      let value = '';
      if (s[i] === '"') {
        i++;
        for (;;) {
          const close = s.indexOf('"', i);
          if (close < 0) {
            if (!atEnd) return null;
            // An unclosed quote at the end of the file: keep what is there.
            value += s.slice(i);
            i = n;
            break;
          }
          if (close + 1 === n && !atEnd) return null; // `""` might be split across chunks
          value += s.slice(i, close);
          if (s[close + 1] === '"') {
            value += '"';
            i = close + 2;
            continue;
          }
          i = close + 1;
          break;
        }
      }
      // Unquoted text, or stray text after a closing quote, up to the next delimiter or line end.
      let j = i;
      while (j < n && s[j] !== this.delimiter && s[j] !== '\n') j++;
      if (j === n && !atEnd) return null;
      value += s.slice(i, j);
      if (s[j] === '\n' && value.endsWith('\r')) value = value.slice(0, -1);
      cells.push(value);
      if (j >= n) return { cells, next: n };
      if (s[j] === '\n') return { cells, next: j + 1 };
      i = j + 1;
    }
  }
}

/** The delimiter of a text export: tab or semicolon when they split the first lines more than commas. */
export function detectDelimiter(sample: string, fileName?: string): string {
  if (fileName && /\.tsv$|\.tab$/i.test(fileName)) return '\t';
  const lines = sample.split('\n').slice(0, 30);
  const count = (d: string) => lines.reduce((sum, line) => sum + line.split(d).length - 1, 0);
  const candidates: Array<[string, number]> = [
    [',', count(',')],
    ['\t', count('\t')],
    [';', count(';')],
  ];
  candidates.sort((a, b) => b[1] - a[1]);
  return candidates[0]![1] > 0 ? candidates[0]![0] : ',';
}
