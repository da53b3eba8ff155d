import type { FactsTable } from '../../../store/facts/schema.js';
import type { Money } from '../values.js';

/** What sort of value a canonical field holds, which decides how its cells are parsed. */
export type FieldType =
  | 'text'
  | 'count'
  | 'integer'
  | 'number'
  | 'rate'
  | 'money'
  | 'duration'
  | 'date'
  | 'datetime'
  | 'list';

export interface FieldSpec {
  type: FieldType;
  /** A row without it is quarantined (after fallbacks the kind documents). */
  required?: boolean;
  en: string;
  zh: string;
  /** Column names that mean this field in any export (presets add platform-specific ones). */
  synonyms: readonly string[];
}

/** Parsed values of one row, by canonical field. Missing cells are absent. */
export interface ParsedValues {
  [field: string]: string | number | string[] | Money | undefined;
}

export interface BuildContext {
  projectId: string;
  sourceId: string;
  /** The project's currency, for amounts whose cell and columns name none. */
  currency: string;
  /** When this import wrote the row (the ReplacingMergeTree version of the facts tables). */
  updatedAt: number;
  /** Columns the mapping did not assign, as header → cell text (events keep them as properties, persons as traits). */
  extras?: Record<string, string | number | boolean>;
}

/** A row that cannot be stored: which field, and why (en and zh). */
export class RowProblem extends Error {
  override name = 'RowProblem';
  constructor(
    readonly field: string,
    readonly en: string,
    readonly zh: string,
  ) {
    super(en);
  }
}

/** How the importer compares a stored column with a new value to tell "updated" from "unchanged". */
export type CompareAs = 'text' | 'number' | 'ms' | 'list';

/** What an engine build's SQL can refer to (engine-import.ts gives each a meaning). */
export interface EngineBuildSql {
  /** A field's parsed value: its cell's, else the mapping's default; NULL when neither has one. */
  field(name: string): string;
  projectId: string;
  sourceId: string;
  /** The project's currency (BuildContext.currency). */
  currency: string;
  /** `updated_at` of the rows this import writes. */
  updatedAt: string;
}

/**
 * The import fast path's build (engine-import.ts): the same row as `build`, in SQL, for the rows it
 * can decide. Rows it does not accept go through `build` in JavaScript, which stores or refuses them.
 */
export interface EngineBuild {
  /** Fields only `build` can read (types the engine does not parse): a file mapping them is imported in JavaScript. */
  javascriptOnly: readonly string[];
  /** SQL per facts column. */
  columns(sql: EngineBuildSql): Record<string, string>;
  /** The condition under which `columns` gives what `build` would. */
  accepts(sql: EngineBuildSql): string;
}

export interface KindSpec {
  kind: string;
  table: FactsTable;
  en: string;
  zh: string;
  fields: Record<string, FieldSpec>;
  /** Facts columns that identify a row (after project_id); a re-import with the same key replaces it. */
  naturalKey: readonly string[];
  /** The most selective key column: existing rows are looked up with `IN {ids:Array(String)}` on it. */
  idColumn: string;
  /** Narrows the look-up to the chunk's range of this column (partition pruning). */
  rangeColumn?: { column: string; type: 'date' | 'datetime' };
  /** Stored columns compared with new values (besides the key); select expression per column. */
  compare: Record<string, CompareAs>;
  /** Columns the mapping leaves unassigned are kept (events: properties, persons: traits). */
  keepsExtras?: boolean;
  /** Builds the facts row (only non-default columns need be set); throws RowProblem. */
  build(values: ParsedValues, context: BuildContext): Record<string, unknown>;
  /** The same build in SQL, for files the engine reads (optional: kinds without it import in JavaScript). */
  engineBuild?: EngineBuild;
  /** Adjusts a new row against the stored one before comparing (persons merge traits). */
  reconcile?(row: Record<string, unknown>, stored: Record<string, unknown>): void;
}

export function text(values: ParsedValues, field: string): string {
  const value = values[field];
  return typeof value === 'string' ? value : value === undefined ? '' : String(value);
}

export function num(values: ParsedValues, field: string): number | undefined {
  const value = values[field];
  return typeof value === 'number' ? value : undefined;
}

export function money(values: ParsedValues, field: string): Money | undefined {
  const value = values[field];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

/** Amounts are stored as Decimal(18, 4): round the same way so a re-import compares equal. */
export function decimal4(amount: number): number {
  return Math.round(amount * 10_000) / 10_000;
}

export function missing(field: string, spec: FieldSpec): RowProblem {
  return new RowProblem(
    field,
    `the required field "${field}" (${spec.en}) is empty`,
    `必填字段“${field}”（${spec.zh}）为空`,
  );
}

/** Sets `row[column] = value` unless the value is the column's default, which the store fills in. */
export function setIf(row: Record<string, unknown>, column: string, value: unknown): void {
  if (value === undefined || value === null || value === '' || value === 0) return;
  if (Array.isArray(value) && value.length === 0) return;
  row[column] = value;
}
