import { createHash } from 'node:crypto';
import { PulseloopError } from '../../errors/registry.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import { toQuarantineRow } from '../segment/quarantine.js';
import type { Header } from './header.js';
import { type BuildContext, type KindSpec, type ParsedValues, RowProblem } from './kinds/types.js';
import { type MappingPlan, parseCell } from './mapping.js';
import type { RawRecord } from './records.js';
import type { zonedClock } from './time.js';
import { cellText, VALUE_REASONS, ValueProblem } from './values.js';

/** One thing wrong with one row, as the summary reports it. */
export interface RowError {
  row: number;
  column: string;
  field: string;
  value: string;
  code: 'import_invalid_value' | 'import_invalid_row';
  message: string;
  message_zh: string;
}

export interface RowEnv {
  spec: KindSpec;
  /** Scratch object the row's parsed values are written to (see rowEnv). */
  values: ParsedValues;
  fieldNames: string[];
  plan: MappingPlan;
  header: Header;
  clock: ReturnType<typeof zonedClock>;
  context: BuildContext;
  kind: string;
}

export type RowOutcome =
  | { ok: true; row: Record<string, unknown> }
  | { ok: false; errors: RowError[]; raw: string };

/** The environment rows of one import are converted in. */
export function rowEnv(fields: Omit<RowEnv, 'values' | 'fieldNames'>): RowEnv {
  const fieldNames = Object.keys(fields.spec.fields);
  const values: ParsedValues = {};
  for (const field of fieldNames) values[field] = undefined;
  return { ...fields, values, fieldNames };
}

/** The row as the file wrote it, for quarantine: column name → text (or the NDJSON line). */
export function rawOf(record: RawRecord, header: Header): string {
  if (record.rawText !== undefined) return record.rawText;
  const raw: Record<string, string> = {};
  record.cells.forEach((cell, i) => {
    const text = cellText(cell);
    if (text !== '') raw[header.names[i] ?? `column ${i + 1}`] = text;
  });
  return JSON.stringify(raw);
}

/** Parses one record into a facts row, or says every reason it cannot be one. */
export function convertRecord(record: RawRecord, env: RowEnv): RowOutcome {
  const { plan, spec, clock } = env;
  const row = record.rowNumber;
  if (record.problem) {
    const error = new PulseloopError('import_invalid_row', {
      row,
      reason: record.problem.en,
      reason_zh: record.problem.zh,
    });
    return { ok: false, errors: [rowError(error, row, '', '', '')], raw: rawOf(record, env.header) };
  }
  // One values object per import, reset per row: a stable shape and no allocation per row.
  const values = env.values;
  for (const field of env.fieldNames) values[field] = plan.defaults[field];
  let errors: RowError[] | undefined;
  const cells = record.cells;
  for (let i = 0; i < plan.columns.length; i++) {
    const column = plan.columns[i]!;
    const cell = cells[column.index];
    try {
      const value = parseCell(column.type, cell, column.unit, clock);
      if (value !== null) values[column.field] = value;
    } catch (problem) {
      if (!(problem instanceof ValueProblem)) throw problem;
      const details = {
        row,
        column: column.column,
        field: column.field,
        value: cellText(cell),
        reason: VALUE_REASONS[problem.reason].en,
        reason_zh: VALUE_REASONS[problem.reason].zh,
      };
      errors ??= [];
      errors.push(
        rowError(
          new PulseloopError('import_invalid_value', details),
          row,
          column.column,
          column.field,
          details.value,
        ),
      );
    }
  }
  if (errors) return { ok: false, errors, raw: rawOf(record, env.header) };
  let context = env.context;
  if (spec.keepsExtras && plan.unmapped.length > 0) {
    const extras: Record<string, string | number | boolean> = {};
    for (const { index, column } of plan.unmapped) {
      const cell = cells[index];
      if (cell === null || cell === undefined || cell === '') continue;
      extras[column] =
        cell instanceof Date ? cell.toISOString() : typeof cell === 'string' ? cell.trim() : cell;
    }
    context = { ...context, extras };
  }
  try {
    return { ok: true, row: spec.build(values, context) };
  } catch (problem) {
    if (!(problem instanceof RowProblem)) throw problem;
    const error = new PulseloopError('import_invalid_row', {
      row,
      reason: problem.en,
      reason_zh: problem.zh,
    });
    const column = plan.columns.find((c) => c.field === problem.field)?.column ?? '';
    return {
      ok: false,
      errors: [rowError(error, row, column, problem.field, '')],
      raw: rawOf(record, env.header),
    };
  }
}

function rowError(
  error: PulseloopError,
  row: number,
  column: string,
  field: string,
  value: string,
): RowError {
  return {
    row,
    column,
    field,
    value,
    code: error.code as RowError['code'],
    message: error.message,
    message_zh: error.zh,
  };
}

/** Quarantine rows of a refused row: one per problem; ids derive from the row so a re-import adds none. */
export function quarantineRows(
  errors: RowError[],
  raw: string,
  env: { projectId: string; sourceId: string; receivedAt: number; kind: string },
): QuarantineRow[] {
  return errors.map((e) => {
    const error = new PulseloopError(e.code, {});
    const row = toQuarantineRow(error, raw, {
      projectId: env.projectId,
      sourceId: env.sourceId,
      receivedAt: env.receivedAt,
      origin: 'import',
      rowNumber: e.row,
    });
    row.reason = e.message;
    row.reason_zh = e.message_zh;
    row.field = e.field;
    row.id = createHash('sha256')
      .update([env.projectId, env.kind, String(e.row), e.field, e.code, raw].join('\u0000'))
      .digest('hex')
      .slice(0, 32);
    return row;
  });
}
