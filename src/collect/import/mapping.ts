import { detailText, listDetail, PulseloopError } from '../../errors/registry.js';
import { isCalendarDate } from '../../lib/calendar-date.js';
import { MAX_STORED_AMOUNT } from '../../store/facts/rows.js';
import { type Header, normaliseName, splitUnit } from './header.js';
import type { ImportKind } from './kinds/index.js';
import type { FieldType, KindSpec, ParsedValues } from './kinds/types.js';
import type { Preset } from './presets/index.js';
import { zonedClock } from './time.js';
import {
  type Cell,
  parseCount,
  parseDate,
  parseDuration,
  parseInteger,
  parseList,
  parseMoney,
  parseNumber,
  parseRate,
  parseWallTime,
  VALUE_REASONS,
  ValueProblem,
} from './values.js';

/**
 * The mapping of a file: which column holds which canonical field, in which unit. Columns are
 * matched by a custom mapping first, then the preset's names, then the kind's generic synonyms.
 */

export const UNITS = [
  'percent',
  'fraction',
  'seconds',
  'minutes',
  'hours',
  'milliseconds',
  'thousand',
  'wan',
  'yi',
  'fen',
  'CNY',
  'USD',
  'HKD',
  'EUR',
  'GBP',
  'JPY',
] as const;
export type Unit = (typeof UNITS)[number];

/** A custom mapping file: `{"columns": {"播放次数": "plays", "时长(分)": {"field": "duration_seconds", "unit": "minutes"}}, "defaults": {"platform": "douyin"}}`. */
export interface CustomMapping {
  kind?: ImportKind;
  preset?: string;
  columns: Record<string, string | { field: string; unit?: Unit }>;
  defaults?: Record<string, string>;
}

export interface ColumnPlan {
  field: string;
  index: number;
  /** The column's name in the file. */
  column: string;
  type: FieldType;
  unit?: Unit;
}

export interface MappingPlan {
  columns: ColumnPlan[];
  /** Parsed values of fields that have no column (or an empty cell). */
  defaults: ParsedValues;
  unmapped: Array<{ index: number; column: string }>;
}

const UNIT_WORDS: Record<string, Unit> = {
  '%': 'percent',
  百分比: 'percent',
  秒: 'seconds',
  s: 'seconds',
  sec: 'seconds',
  分钟: 'minutes',
  分: 'minutes',
  min: 'minutes',
  小时: 'hours',
  h: 'hours',
  毫秒: 'milliseconds',
  ms: 'milliseconds',
  千: 'thousand',
  k: 'thousand',
  万: 'wan',
  万次: 'wan',
  w: 'wan',
  亿: 'yi',
  分钱: 'fen',
  元: 'CNY',
  人民币: 'CNY',
  rmb: 'CNY',
  cny: 'CNY',
  '¥': 'CNY',
  美元: 'USD',
  usd: 'USD',
  $: 'USD',
};

/** The unit a header names, if it is one the parsers use (`(次)`, `(人)` name none). */
export function unitOfHeader(header: string): Unit | undefined {
  const { unit } = splitUnit(header);
  return unit === undefined ? undefined : UNIT_WORDS[unit.toLowerCase()];
}

/** Normalised names → field, in one tier of matching. */
type Tier = Map<string, string>;

function tierOf(entries: Iterable<[string, readonly string[]]>): Tier {
  const tier: Tier = new Map();
  for (const [field, names] of entries) {
    for (const name of names) if (!tier.has(normaliseName(name))) tier.set(normaliseName(name), field);
    if (!tier.has(normaliseName(field))) tier.set(normaliseName(field), field);
  }
  return tier;
}

export function tiersFor(spec: KindSpec, preset?: Preset, custom?: CustomMapping): Tier[] {
  const tiers: Tier[] = [];
  if (custom) {
    tiers.push(
      tierOf(
        Object.entries(custom.columns).map(([column, target]) => [
          typeof target === 'string' ? target : target.field,
          [column],
        ]),
      ),
    );
  }
  if (preset) tiers.push(tierOf(Object.entries(preset.columns)));
  tiers.push(tierOf(Object.entries(spec.fields).map(([field, f]) => [field, f.synonyms])));
  return tiers;
}

/** Whether a header name is known to any tier (header detection). */
export function knownNames(tiers: Tier[]): (name: string) => boolean {
  return (name) => {
    const key = normaliseName(name);
    return tiers.some((tier) => tier.has(key));
  };
}

function customUnit(custom: CustomMapping | undefined, column: string): Unit | undefined {
  const target = custom?.columns[column];
  return typeof target === 'object' ? target.unit : undefined;
}

/** Assigns columns to fields; refuses a file that lacks a required field with no fallback. */
export function planMapping(
  spec: KindSpec,
  header: Header,
  options: { preset?: Preset; custom?: CustomMapping; timeZone: string },
): MappingPlan {
  const tiers = tiersFor(spec, options.preset, options.custom);
  const matches: Array<{ tier: number; index: number; field: string; name: string }> = [];
  header.candidates.forEach((names, index) => {
    for (const name of names) {
      const keys = [normaliseName(name), normaliseName(splitUnit(name).name)];
      const tier = tiers.findIndex((t) => keys.some((k) => t.has(k)));
      if (tier >= 0) {
        const field = keys.map((k) => tiers[tier]!.get(k)).find((f) => f !== undefined)!;
        matches.push({ tier, index, field, name });
        return;
      }
    }
  });
  matches.sort((a, b) => a.tier - b.tier || a.index - b.index);
  const taken = new Set<string>();
  const usedColumns = new Set<number>();
  const columns: ColumnPlan[] = [];
  for (const m of matches) {
    if (taken.has(m.field) || usedColumns.has(m.index) || !spec.fields[m.field]) continue;
    taken.add(m.field);
    usedColumns.add(m.index);
    const column = header.names[m.index]!;
    const unit = customUnit(options.custom, column) ?? unitOfHeader(m.name);
    columns.push({
      field: m.field,
      index: m.index,
      column,
      type: spec.fields[m.field]!.type,
      ...(unit ? { unit } : {}),
    });
  }
  columns.sort((a, b) => a.index - b.index);

  const clock = zonedClock(options.timeZone);
  const defaults: ParsedValues = {};
  const given: Record<string, string> = { ...options.preset?.defaults, ...options.custom?.defaults };
  if (header.titleDate && spec.fields.date && !taken.has('date') && given.date === undefined)
    given.date = header.titleDate;
  for (const [field, value] of Object.entries(given)) {
    const fieldSpec = spec.fields[field];
    if (!fieldSpec) {
      throw new PulseloopError(
        'import_invalid_mapping',
        detailText(`"${field}" is not a field of ${spec.kind}`, `"${field}" 不是 ${spec.kind} 的字段`),
      );
    }
    try {
      const parsed = parseCell(fieldSpec.type, value, undefined, clock);
      if (parsed !== null) defaults[field] = parsed;
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      throw new PulseloopError(
        'import_invalid_mapping',
        detailText(
          `the default "${value}" of ${field} ${error.message}`,
          `${field} 的默认值 "${value}" ${VALUE_REASONS[error.reason].zh}`,
        ),
      );
    }
  }
  const lacking = Object.entries(spec.fields).filter(
    ([field, f]) =>
      f.required && !taken.has(field) && defaults[field] === undefined && !hasFallback(field, taken),
  );
  if (lacking.length > 0) {
    const dateLacking = lacking.some(([field]) => field === 'date');
    throw new PulseloopError('import_missing_columns', {
      // The fields' names for programs (the dashboard offers its date box when `date` is one).
      missing: lacking.map(([field]) => field).join(','),
      // Exports of cumulative numbers (a post list) often carry no date: the user knows the day.
      hint: dateLacking
        ? ' Or give the day the numbers are for: --date YYYY-MM-DD (an upload: date=YYYY-MM-DD).'
        : '',
      hint_zh: dateLacking ? '也可以指定数据所属的日期：--date YYYY-MM-DD（上传时：date=YYYY-MM-DD）。' : '',
      fields: lacking.map(([field, f]) => `${field} (${f.en} / ${f.zh})`).join(', '),
      // A description's own note in brackets becomes a clause: brackets are not nested.
      fields_zh: lacking.map(([field, f]) => `${field}（${f.zh.replace(/（(.*)）$/, '，$1')}）`).join('、'),
      ...listDetail('columns', header.names),
    });
  }
  return {
    columns,
    defaults,
    unmapped: header.names
      .map((column, index) => ({ column, index }))
      .filter((c) => !usedColumns.has(c.index)),
  };
}

/**
 * A mapping with the day the file's numbers are for as the default of `date` (`--date`, `date=`):
 * for exports without a date column or a dated title line. A date column in the file still wins.
 */
export function withDayOfNumbers(
  mapping: CustomMapping | undefined,
  day: string | undefined,
): CustomMapping | undefined {
  if (day === undefined) return mapping;
  if (!isCalendarDate(day)) throw new PulseloopError('import_invalid_date', { value: day.slice(0, 40) });
  return { ...mapping, columns: mapping?.columns ?? {}, defaults: { ...mapping?.defaults, date: day } };
}

/** Required fields a kind can fill from another column (documented in docs/import.md). */
function hasFallback(field: string, taken: Set<string>): boolean {
  if (field === 'content_id') return taken.has('title');
  if (field === 'campaign_id') return taken.has('campaign_name');
  return false;
}

const UNIT_SCALE: Partial<Record<Unit, number>> = { thousand: 1e3, wan: 1e4, yi: 1e8 };

/** The amount, refused when the store's Decimal(18, 4) columns cannot hold it. */
function storableMoney(amount: number, currency: string): { amount: number; currency: string } {
  if (Math.abs(amount) >= MAX_STORED_AMOUNT) throw new ValueProblem('amount_too_large');
  return { amount, currency };
}

/** One cell parsed as its field's type and unit; null when missing; throws ValueProblem. */
export function parseCell(
  type: FieldType,
  cell: Cell,
  unit: Unit | undefined,
  clock: ReturnType<typeof zonedClock>,
): string | number | string[] | { amount: number; currency: string } | null {
  switch (type) {
    case 'text':
      return cell === null || cell === undefined ? null : textOf(cell);
    case 'count':
    case 'integer':
    case 'number': {
      const scale = (unit && UNIT_SCALE[unit]) ?? 1;
      const value =
        type === 'count' ? parseCount(cell) : type === 'integer' ? parseInteger(cell) : parseNumber(cell);
      if (value === null) return null;
      return type === 'number' ? value * scale : Math.round(value * scale);
    }
    case 'rate':
      return parseRate(cell, unit === 'percent' || unit === 'fraction' ? unit : undefined);
    case 'money': {
      const money = parseMoney(cell);
      if (money === null) return null;
      if (unit === 'fen') return storableMoney(money.amount / 100, money.currency);
      const scale = (unit && UNIT_SCALE[unit]) ?? 1;
      const currency =
        money.currency || (unit && unit.length === 3 && unit === unit.toUpperCase() ? unit : '');
      return storableMoney(money.amount * scale, currency);
    }
    case 'duration':
      return parseDuration(
        cell,
        unit === 'minutes' || unit === 'hours' || unit === 'milliseconds' ? unit : 'seconds',
      );
    case 'date':
      return parseDate(cell);
    case 'datetime': {
      const wall = parseWallTime(cell);
      return wall === null ? null : clock(wall);
    }
    case 'list':
      return parseList(cell);
  }
}

function textOf(cell: Cell): string | null {
  if (cell instanceof Date) return cell.toISOString();
  const text = typeof cell === 'string' ? cell.trim() : String(cell);
  return text === '' || text === '-' || text === '--' ? null : text;
}
