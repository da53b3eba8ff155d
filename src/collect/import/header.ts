import type { RawRecord } from './records.js';
import { type Cell, cellText, isMissing } from './values.js';

/**
 * Finding the header: exports put title lines above it ("数据导出 2025-03-01"), spreadsheets merge
 * group titles over two header rows, and summary rows (合计/总计/Total) sit among the data.
 */

/** A column name made comparable: full-width folded, case and spaces and separators ignored. */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_\-.:：·/]+/g, '');
}

/** The unit a header carries in brackets or as a suffix: `消耗(元)`, `完播率(%)`, `时长（秒）`, `播放量(万)`. */
export function splitUnit(header: string): { name: string; unit?: string } {
  const folded = header.normalize('NFKC').trim();
  const bracket = /^(.*?)[([【]([^)\]】]{1,8})[)\]】]$/.exec(folded);
  if (bracket) return { name: bracket[1]!.trim(), unit: bracket[2]!.trim() };
  if (folded.length > 1 && folded.endsWith('%')) return { name: folded.slice(0, -1).trim(), unit: '%' };
  return { name: folded };
}

export interface Header {
  /** Index in the looked-at records of the (last) header row. */
  headerIndex: number;
  /** Index of the first data record. */
  dataIndex: number;
  /** Display name of each column. */
  names: string[];
  /** Names to try, most specific first, per column (two-row headers give several). */
  candidates: string[][];
  /** A single date written in the title lines above the header, as YYYY-MM-DD. */
  titleDate?: string;
  /** Row number of the header as the file shows it. */
  rowNumber: number;
}

function texts(cells: Cell[]): string[] {
  return cells.map((c) => cellText(c));
}

function nonEmpty(cells: Cell[]): number {
  let n = 0;
  for (const c of cells) if (!isMissing(c)) n++;
  return n;
}

/** Numbers, amounts, rates, durations and dates as exports write them (`1.2千万`, `2025-03-01`, `00:35`). */
const DATA_CELL = /^[-+¥$]?[\d.,%:\s/\-+年月日时分秒万亿千百wkm]+$/i;

/** A row that could be (part of) a header: some text, no numbers or dates among its cells. */
function headerLike(cells: Cell[]): boolean {
  let text = 0;
  for (const c of cells) {
    if (isMissing(c)) continue;
    if (typeof c !== 'string' || DATA_CELL.test(c.trim())) return false;
    text++;
  }
  return text >= 1;
}

const TITLE_DATE = /(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})/g;

function titleDateOf(rows: RawRecord[]): string | undefined {
  const dates = new Set<string>();
  for (const row of rows) {
    for (const cell of row.cells) {
      for (const m of cellText(cell).matchAll(TITLE_DATE)) {
        dates.add(`${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`);
      }
    }
  }
  return dates.size === 1 ? [...dates][0] : undefined;
}

/**
 * Picks the header among the first records: the row naming the most known columns (else the first
 * row of several text cells), merged with the row above or below when the header spans two rows.
 */
export function detectHeader(records: RawRecord[], known: (name: string) => boolean): Header | undefined {
  const score = (names: string[]) =>
    names.reduce((n, name) => (name && (known(name) || known(splitUnit(name).name)) ? n + 1 : n), 0);
  let best = -1;
  let bestScore = 0;
  for (let i = 0; i < records.length; i++) {
    const s = score(texts(records[i]!.cells));
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  if (best < 0) {
    best = records.findIndex((r) => headerLike(r.cells) && nonEmpty(r.cells) >= 2);
    if (best < 0) return undefined;
  }
  let upper: string[] | undefined;
  let lower = texts(records[best]!.cells);
  let headerIndex = best;
  const below = records[best + 1];
  if (below && headerLike(below.cells) && nonEmpty(below.cells) >= 2 && score(texts(below.cells)) > 0) {
    // The best row is the upper (group) row of a two-row header.
    upper = lower;
    lower = texts(below.cells);
    headerIndex = best + 1;
  } else if (best > 0 && headerLike(records[best - 1]!.cells)) {
    const above = texts(records[best - 1]!.cells);
    // Only a group row above: a column empty here but named above is a header cell merged over two rows.
    if (
      above.some((name, i) => name !== '' && (lower[i] ?? '') === '') &&
      nonEmpty(records[best - 1]!.cells) > 1
    )
      upper = above;
  }
  const width = Math.max(lower.length, upper?.length ?? 0);
  const names: string[] = [];
  const candidates: string[][] = [];
  let group = '';
  for (let i = 0; i < width; i++) {
    const own = lower[i] ?? '';
    // A merged group title fills the empty cells to its right.
    if (upper) group = upper[i] || (own ? group : '');
    const above = upper ? group : '';
    names.push(own || above || `column ${i + 1}`);
    candidates.push([own, above && own ? `${above}${own}` : '', above].filter((n) => n !== ''));
  }
  const firstHeader = upper ? headerIndex - 1 : headerIndex;
  const titleDate = titleDateOf(records.slice(0, firstHeader));
  return {
    headerIndex,
    dataIndex: headerIndex + 1,
    names,
    candidates,
    ...(titleDate ? { titleDate } : {}),
    rowNumber: records[headerIndex]!.rowNumber,
  };
}

const SUMMARY = /^(合计|总计|汇总|小计|总和|共计|total|grand total|sum|subtotal)[:：]?$/i;
const SUMMARY_STARTS = new Set(['合', '总', '汇', '小', '共', 't', 'T', 'g', 'G', 's', 'S']);

/** A summary row (合计/总计/Total in one of its first cells), which is not data. */
export function isSummaryRow(cells: Cell[]): boolean {
  for (let i = 0; i < cells.length && i < 3; i++) {
    const c = cells[i];
    if (typeof c !== 'string' || c.length > 16) continue;
    // Cheap first look: every summary word starts with one of these (cells are rarely padded).
    if (!SUMMARY_STARTS.has(c.charAt(0)) && c.trimStart() === c) continue;
    if (SUMMARY.test(c.trim())) return true;
  }
  return false;
}

/** A row with no value in any cell. */
export function isBlankRow(cells: Cell[]): boolean {
  for (const c of cells) if (!isMissing(c) && !(typeof c === 'string' && c.trim() === '')) return false;
  return true;
}
