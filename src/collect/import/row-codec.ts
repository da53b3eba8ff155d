import { canInsertRows, type FactsEngine, type InsertFormat } from '../../store/facts/engine.js';

/**
 * How imported rows travel to the store: one line of text per row, in TabSeparated when the engine
 * and the table allow it (no JSON to build in JavaScript, less for the engine to parse), else in
 * JSONEachRow. A row object goes in, a line comes out; `decode` reads a line back into the same
 * values, for the rare chunk whose keys are already stored and must be compared.
 *
 * TabSeparated lines hold every column of the table in order. A column the row leaves out gets the
 * type's default, which is what JSONEachRow stores for an omitted column too (the facts tables have
 * no DEFAULT expressions other than zeros; a table with one is written in JSONEachRow).
 */

export interface RowCodec {
  format: InsertFormat;
  /** The columns of each line, in order (TabSeparated only). */
  columns?: readonly string[];
  /** The row as one line, without the line break. */
  encode(row: Record<string, unknown>): string;
  /**
   * A line back into a row (columns at their defaults come back as defaults, not absent); only the
   * `wanted` columns when named (JSONEachRow reads them all anyway).
   */
  decode(line: string, wanted?: ReadonlySet<string>): Record<string, unknown>;
}

export const JSON_ROW_CODEC: RowCodec = {
  format: 'JSONEachRow',
  encode: (row) => JSON.stringify(row),
  decode: (line) => JSON.parse(line) as Record<string, unknown>,
};

export interface TableColumn {
  name: string;
  type: string;
  /** '' for a plain column; DEFAULT, MATERIALIZED, ALIAS or EPHEMERAL otherwise. */
  default_kind: string;
  default_expression: string;
}

interface ValueCodec {
  encode(value: unknown): string;
  decode(text: string): unknown;
}

const NEEDS_ESCAPE = /[\t\n\r\\]/;
const ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };
const UNESCAPES: Record<string, string> = {
  t: '\t',
  n: '\n',
  r: '\r',
  '\\': '\\',
  "'": "'",
  b: '\b',
  f: '\f',
  '0': '\0',
};

/** A text value as a TabSeparated field: tab, line breaks and backslash escaped. */
export function escapeField(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\t\n\r\\]/g, (c) => ESCAPES[c]!) : text;
}

function unescapeField(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/gs, (_, c: string) => UNESCAPES[c] ?? c) : text;
}

/** Any value as JSONEachRow would store it in a String column (objects as their JSON text). */
function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const stringCodec: ValueCodec = {
  encode: (value) => escapeField(asText(value)),
  decode: unescapeField,
};

const numberCodec: ValueCodec = {
  encode(value) {
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (value === null || value === undefined || value === '') return '0';
    return escapeField(String(value));
  },
  decode: Number,
};

const DAY_MS = 86_400_000;

const dateCodec: ValueCodec = {
  encode(value) {
    // JSONEachRow reads a number as days since the epoch; TabSeparated would refuse it.
    if (typeof value === 'number') return new Date(value * DAY_MS).toISOString().slice(0, 10);
    if (value === null || value === undefined || value === '') return '1970-01-01';
    return escapeField(asText(value));
  },
  decode: (text) => text,
};

const DIGITS = /^-?\d+$/;

const dateTimeCodec: ValueCodec = {
  encode(value) {
    // Milliseconds (or seconds for DateTime) since the epoch, read the same way in both formats.
    if (typeof value === 'number') return Number.isFinite(value) ? String(Math.round(value)) : '0';
    // The epoch, written out: best-effort parsing refuses a bare 0.
    if (value === null || value === undefined || value === '') return '1970-01-01 00:00:00';
    return escapeField(asText(value));
  },
  decode: (text) =>
    text === '1970-01-01 00:00:00' ? 0 : DIGITS.test(text) ? Number(text) : unescapeField(text),
};

function nullable(inner: ValueCodec): ValueCodec {
  return {
    encode: (value) => (value === null || value === undefined ? '\\N' : inner.encode(value)),
    decode: (text) => (text === '\\N' ? null : inner.decode(text)),
  };
}

/** Array(String) or an array of numbers, written as ClickHouse's text form `['a','b']` / `[1,2]`. */
function arrayCodec(quoted: boolean): ValueCodec {
  return {
    encode(value) {
      if (!Array.isArray(value) || value.length === 0) return '[]';
      let out = '[';
      for (let i = 0; i < value.length; i++) {
        if (i > 0) out += ',';
        const item = value[i];
        out += quoted
          ? `'${asText(item).replace(/[\\'\t\n\r]/g, (c) => (c === "'" ? "\\'" : ESCAPES[c]!))}'`
          : numberCodec.encode(item);
      }
      return `${out}]`;
    },
    decode(text) {
      const items: unknown[] = [];
      let i = 1; // past '['
      while (i < text.length && text[i] !== ']') {
        if (quoted) {
          let item = '';
          i++; // past the opening quote
          while (i < text.length && text[i] !== "'") {
            if (text[i] === '\\') {
              const c = text[i + 1]!;
              item += UNESCAPES[c] ?? c;
              i += 2;
            } else item += text[i++];
          }
          items.push(item);
          i++; // past the closing quote
        } else {
          let end = text.indexOf(',', i);
          if (end < 0) end = text.length - 1;
          items.push(Number(text.slice(i, end)));
          i = end;
        }
        if (text[i] === ',') i++;
      }
      return items;
    },
  };
}

/** The codec of a ClickHouse column type; undefined for types written only as JSON (Map, Tuple, JSON…). */
export function valueCodecOf(type: string): ValueCodec | undefined {
  const wrapped = /^(LowCardinality|Nullable)\((.*)\)$/.exec(type);
  if (wrapped) {
    const inner = valueCodecOf(wrapped[2]!);
    return inner && wrapped[1] === 'Nullable' ? nullable(inner) : inner;
  }
  if (/^(String|FixedString\(\d+\)|UUID|IPv4|IPv6|Enum(8|16)?\(.*\))$/.test(type)) return stringCodec;
  if (/^(U?Int\d+|Float\d+|Decimal(\d+)?\(.*\)|Bool)$/.test(type)) return numberCodec;
  if (/^Date(32)?$/.test(type)) return dateCodec;
  if (/^DateTime(64)?(\(.*\))?$/.test(type)) return dateTimeCodec;
  const array = /^Array\((.*)\)$/.exec(type);
  if (array) {
    const inner = array[1]!.replace(/^LowCardinality\((.*)\)$/, '$1');
    if (inner === 'String') return arrayCodec(true);
    if (/^(U?Int\d+|Float\d+)$/.test(inner)) return arrayCodec(false);
  }
  return undefined;
}

/** Columns whose DEFAULT is the type's own default, which TabSeparated writes for a missing value. */
const ZERO_DEFAULTS = new Set(['', '0', "''", '[]', 'false']);

/** A TabSeparated codec for the columns of a table, or undefined when one of them needs JSON. */
export function tabSeparatedCodec(columns: readonly TableColumn[]): RowCodec | undefined {
  const names: string[] = [];
  const codecs: ValueCodec[] = [];
  for (const column of columns) {
    if (['MATERIALIZED', 'ALIAS', 'EPHEMERAL'].includes(column.default_kind)) continue;
    if (column.default_kind !== '' && !ZERO_DEFAULTS.has(column.default_expression)) return undefined;
    const codec = valueCodecOf(column.type);
    if (!codec) return undefined;
    names.push(column.name);
    codecs.push(codec);
  }
  if (names.length === 0) return undefined;
  const count = names.length;
  return {
    format: 'TabSeparated',
    columns: names,
    encode: compiledEncoder(names, codecs),
    decode(line, wanted) {
      const fields = line.split('\t');
      const row: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        if (!wanted || wanted.has(names[i]!)) row[names[i]!] = codecs[i]!.decode(fields[i] ?? '');
      }
      return row;
    },
  };
}

/**
 * `row => [e[0](row["a"]), e[1](row["b"]), …].join('\t')`, compiled once per import: fixed property
 * reads and calls are several times faster per row than a loop over column names. The names are
 * written as JSON string literals, so any column name is safe in the generated source.
 */
function compiledEncoder(
  names: readonly string[],
  codecs: readonly ValueCodec[],
): (row: Record<string, unknown>) => string {
  const encoders = codecs.map((codec) => codec.encode);
  const fields = names.map((name, i) => `e[${i}](row[${JSON.stringify(name)}])`).join(', ');
  // join() writes one flat string; concatenation would build a chain the buffer write flattens.
  const compile = new Function('e', `return (row) => [${fields}].join('\\t');`);
  return compile(encoders) as (row: Record<string, unknown>) => string;
}

/** The codec imports into `table` use on this engine: TabSeparated when possible, else JSONEachRow. */
export async function rowCodecFor(facts: FactsEngine, table: string): Promise<RowCodec> {
  if (!canInsertRows(facts)) return JSON_ROW_CODEC;
  const columns = await facts.query<TableColumn>(
    `SELECT name, type, default_kind, default_expression FROM system.columns
     WHERE database = currentDatabase() AND table = {table:String} ORDER BY position`,
    { table },
  );
  return tabSeparatedCodec(columns) ?? JSON_ROW_CODEC;
}
