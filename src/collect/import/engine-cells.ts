import type { FieldType } from './kinds/types.js';
import type { Unit } from './mapping.js';

/**
 * Cells read by the engine instead of JavaScript, for the import fast path: SQL that reads a raw
 * cell (a String column of the file) exactly as the parsers in values.ts would, for the common,
 * canonical spellings only (`1234`, `1.2万`, `12.5%`, `00:35`, `2025-03-01`, text without padding).
 * Any other spelling is not guessed at: the cell is flagged and its row handed to JavaScript, which
 * parses it (or quarantines it) as every import does. So the engine never decides anything the
 * JavaScript parsers would decide differently; test/import/engine-import.test.ts compares both.
 *
 * The SQL holds identifiers only (`cell` is a column name the importer generates); patterns and the
 * spellings of "no value" are bound parameters (ENGINE_CELL_PARAMS).
 */

export interface CellSql {
  /** The parsed value (NULL for a missing value); meaningless where `ok` is 0. */
  value: string;
  /** 1 when the engine read the cell as JavaScript would, 0 when the row must go to JavaScript. */
  ok: string;
}

/** values.ts MISSING: the spellings of "no value" (isMissing). */
const MISSING = ['', '-', '--', '—', '——', '/', 'N/A', 'n/a', 'NA', 'null', 'NULL', '无', '暂无'];
/** The characters String.prototype.trim() removes, as an RE2 class. */
const TRIMMED =
  '[\\t\\n\\x0B\\f\\r \\x{00A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]';

/** Bound parameters every engine-read import query needs. */
export const ENGINE_CELL_PARAMS = {
  cell_missing: MISSING,
  cell_text_missing: ['', '-', '--'],
  // At most 10 integer digits: with the largest magnitude (亿) a count still fits UInt64 and Int64.
  cell_magnitude: '^(\\d{1,10}(?:\\.\\d{1,6})?)(百万|千万|万|亿|千|[wWkKmM])?\\+?$',
  cell_signed_magnitude: '^([+-]?)(\\d{1,10}(?:\\.\\d{1,6})?)(百万|千万|万|亿|千|[wWkKmM])?\\+?$',
  cell_plain_integer: '^\\d{1,15}$',
  cell_signed_integer: '^-?\\d{1,15}$',
  cell_percent: '^(-?\\d{1,6}(?:\\.\\d{1,6})?)%$',
  cell_clock: '^(?:\\d{1,6}:)?\\d{1,2}:\\d{1,2}(?:\\.\\d{1,6})?$',
  cell_plain_number: '^\\d{1,10}(?:\\.\\d{1,6})?$',
  cell_plain_amount: '^\\d{1,12}(?:\\.\\d{1,4})?$',
  cell_iso_day: '^(19[7-9]\\d|20\\d\\d|210[0-5])-\\d\\d-\\d\\d$',
  cell_padded: `^${TRIMMED}|${TRIMMED}$`,
} as const;

/** Multiplier of a magnitude suffix (values.ts MAGNITUDES); '' is none. */
function magnitude(suffix: string): string {
  return `transform(${suffix}, ['', '万', 'w', 'W', '亿', 'k', 'K', '千', 'm', 'M', '百万', '千万'], [1, 1e4, 1e4, 1e4, 1e8, 1e3, 1e3, 1e3, 1e6, 1e6, 1e6, 1e7], 0)`;
}

/** Math.round: halves go up (towards +∞), whatever the sign; exact, as x - floor(x) is. */
function roundHalfUp(x: string): string {
  return `(floor(${x}) + ((${x}) - floor(${x}) >= 0.5))`;
}

const missing = (cell: string) => `(${cell} IN {cell_missing:Array(String)})`;

/**
 * How the engine reads a cell of this type and unit, or undefined when only JavaScript can. The SQL
 * uses functions that never throw (the value of a cell that is not `ok` is never used), and takes
 * the cheap branch for the common spelling first (plain integers before magnitudes).
 */
export function cellSql(type: FieldType, unit: Unit | undefined, cell: string): CellSql | undefined {
  switch (type) {
    case 'text':
      // textOf: trimmed; '', '-' and '--' are no value. Padded or invalid UTF-8 text goes to JavaScript.
      return {
        value: `if(${cell} IN {cell_text_missing:Array(String)}, NULL, ${cell})`,
        ok: `(isValidUTF8(${cell}) AND NOT match(${cell}, {cell_padded:String}))`,
      };
    case 'count': {
      if (unit !== undefined) return undefined;
      const groups = `extractGroups(${cell}, {cell_magnitude:String})`;
      const number = `(toFloat64OrZero(${groups}[1]) * ${magnitude(`${groups}[2]`)})`;
      return {
        // Plain integers and `万` (most cells of Chinese exports) without the regex groups.
        value: `multiIf(${missing(cell)}, NULL, match(${cell}, {cell_plain_integer:String}), toUInt64OrZero(${cell}),
          endsWith(${cell}, '万') AND NOT endsWith(${cell}, '千万') AND NOT endsWith(${cell}, '百万'), toUInt64(${roundHalfUp(`(toFloat64OrZero(substring(${cell}, 1, length(${cell}) - 3)) * 1e4)`)}),
          toUInt64(${roundHalfUp(number)}))`,
        ok: `(${missing(cell)} OR match(${cell}, {cell_plain_integer:String}) OR match(${cell}, {cell_magnitude:String}))`,
      };
    }
    case 'integer':
    case 'number': {
      if (unit !== undefined) return undefined;
      const groups = `extractGroups(${cell}, {cell_signed_magnitude:String})`;
      const number = `(if(${groups}[1] = '-', -1, 1) * (toFloat64OrZero(${groups}[2]) * ${magnitude(`${groups}[3]`)}))`;
      const plain = `match(${cell}, {cell_signed_integer:String})`;
      return {
        value:
          type === 'integer'
            ? `multiIf(${missing(cell)}, NULL, ${plain}, toInt64OrZero(${cell}), toInt64(${roundHalfUp(number)}))`
            : `multiIf(${missing(cell)}, NULL, ${plain}, toFloat64OrZero(${cell}), ${number})`,
        ok: `(${missing(cell)} OR ${plain} OR match(${cell}, {cell_signed_magnitude:String}))`,
      };
    }
    case 'rate':
      // parseRate's fast path: `12.5%` is Number('12.5e-2'); bare numbers depend on their size: JavaScript.
      if (unit !== undefined) return undefined;
      return {
        value: `if(${missing(cell)}, NULL, toFloat64OrZero(concat(substring(${cell}, 1, length(${cell}) - 1), 'e-2')))`,
        ok: `(${missing(cell)} OR match(${cell}, {cell_percent:String}))`,
      };
    case 'duration': {
      if (unit !== undefined && unit !== 'seconds') return undefined;
      // clockSeconds: the same float operations in the same order (hours are 0 when absent).
      const parts = `splitByChar(':', ${cell})`;
      const seconds = `(toFloat64OrZero(if(length(${parts}) = 3, ${parts}[1], '0')) * 3600 + toFloat64OrZero(${parts}[-2]) * 60 + toFloat64OrZero(${parts}[-1]))`;
      const plain = `match(${cell}, {cell_plain_number:String})`;
      return {
        value: `multiIf(${missing(cell)}, NULL, ${plain}, toFloat64OrZero(${cell}), ${seconds})`,
        ok: `(${missing(cell)} OR ${plain} OR match(${cell}, {cell_clock:String}))`,
      };
    }
    case 'date':
      // parseDate's fast path: an ISO day that is a real calendar day (and fits the engine's Date).
      return {
        value: `if(${missing(cell)}, NULL, ${cell})`,
        ok: `(${missing(cell)} OR (match(${cell}, {cell_iso_day:String}) AND parseDateTimeOrNull(${cell}, '%Y-%m-%d') IS NOT NULL))`,
      };
    case 'money':
      // parseMoney of a plain amount (no currency mark, no separator): the amount, exactly, as the
      // Decimal(18, 4) the store keeps (at most 4 decimals, so rounding to them changes nothing).
      if (unit !== undefined) return undefined;
      return {
        value: `if(${missing(cell)}, NULL, toDecimal64OrZero(${cell}, 4))`,
        ok: `(${missing(cell)} OR match(${cell}, {cell_plain_amount:String}))`,
      };
    default:
      // datetime (time zones), list: JavaScript only.
      return undefined;
  }
}
