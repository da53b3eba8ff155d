import { detailText, PulseloopError } from '../../errors/registry.js';
import { type FieldRef, fieldSql, parseField } from './fields.js';
import type { SqlParams } from './params.js';

/**
 * Typed filters: `{ field, op, value }`. Text operators compare the field as text, numeric ones
 * as a number; `is_set`/`is_not_set` take no value. Several filters combine with AND.
 */

export const TEXT_OPERATORS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'contains',
  'not_contains',
  'starts_with',
] as const;
export const NUMBER_OPERATORS = ['gt', 'gte', 'lt', 'lte', 'between'] as const;
export const PRESENCE_OPERATORS = ['is_set', 'is_not_set'] as const;
export const OPERATORS = [...TEXT_OPERATORS, ...NUMBER_OPERATORS, ...PRESENCE_OPERATORS] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Filter {
  field: string;
  op: Operator;
  value?: string | number | boolean | (string | number)[];
}

export interface CompiledFilters {
  /** `1` when there are no filters, so it can always follow AND. */
  sql: string;
  refs: FieldRef[];
}

const MAX_LIST = 1000;
const MAX_TEXT = 1000;

function invalid(at: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field: at, ...detailText(detail, detailZh) });
}

function textValue(value: unknown, at: string): string {
  if (typeof value === 'string') {
    if (value.length > MAX_TEXT)
      invalid(at, `text longer than ${MAX_TEXT} characters`, `文本超过 ${MAX_TEXT} 个字符`);
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return invalid(at, 'expected a text or number value', '必须是文本或数字');
}

function numberValue(value: unknown, at: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) invalid(at, 'expected a number', '必须是数字');
  return n;
}

function listValue(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0)
    invalid(at, 'expected a non-empty list of values', '必须是非空的值列表');
  if (value.length > MAX_LIST) invalid(at, `at most ${MAX_LIST} values`, `最多 ${MAX_LIST} 个值`);
  return value;
}

/** Compiles one filter; `at` is its position in the query (e.g. `filters[2]`). */
export function compileFilter(
  filter: unknown,
  params: SqlParams,
  at: string,
): { sql: string; ref: FieldRef } {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    invalid(at, 'expected an object { field, op, value }', '必须是对象 { field, op, value }');
  }
  const { field, op, value } = filter as Record<string, unknown>;
  const ref = parseField(field, `${at}.field`);
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    invalid(`${at}.op`, `expected one of ${OPERATORS.join(', ')}`, `必须是 ${OPERATORS.join('、')} 之一`);
  }
  const bind = params.add.bind(params);
  const text = () => fieldSql(ref, 'string', bind);
  const number = () => fieldSql(ref, 'number', bind);
  const v = `${at}.value`;
  switch (op as Operator) {
    case 'eq':
      return { ref, sql: `${text()} = ${params.add('String', textValue(value, v))}` };
    case 'neq':
      return { ref, sql: `${text()} != ${params.add('String', textValue(value, v))}` };
    case 'in':
      return {
        ref,
        sql: `${text()} IN ${params.add(
          'Array(String)',
          listValue(value, v).map((x, i) => textValue(x, `${v}[${i}]`)),
        )}`,
      };
    case 'not_in':
      return {
        ref,
        sql: `${text()} NOT IN ${params.add(
          'Array(String)',
          listValue(value, v).map((x, i) => textValue(x, `${v}[${i}]`)),
        )}`,
      };
    case 'contains':
      return { ref, sql: `positionUTF8(${text()}, ${params.add('String', textValue(value, v))}) > 0` };
    case 'not_contains':
      return { ref, sql: `positionUTF8(${text()}, ${params.add('String', textValue(value, v))}) = 0` };
    case 'starts_with':
      return { ref, sql: `startsWith(${text()}, ${params.add('String', textValue(value, v))})` };
    case 'gt':
      return { ref, sql: `${number()} > ${params.add('Float64', numberValue(value, v))}` };
    case 'gte':
      return { ref, sql: `${number()} >= ${params.add('Float64', numberValue(value, v))}` };
    case 'lt':
      return { ref, sql: `${number()} < ${params.add('Float64', numberValue(value, v))}` };
    case 'lte':
      return { ref, sql: `${number()} <= ${params.add('Float64', numberValue(value, v))}` };
    case 'between': {
      const list = listValue(value, v);
      if (list.length !== 2) invalid(v, 'expected [low, high]', '必须是 [low, high]');
      const low = numberValue(list[0], `${v}[0]`);
      const high = numberValue(list[1], `${v}[1]`);
      if (low > high) invalid(v, 'low is greater than high', '下限 low 大于上限 high');
      return {
        ref,
        sql: `${number()} BETWEEN ${params.add('Float64', low)} AND ${params.add('Float64', high)}`,
      };
    }
    case 'is_set':
      return { ref, sql: `${text()} != ''` };
    case 'is_not_set':
      return { ref, sql: `${text()} = ''` };
  }
}

/** Compiles a list of filters (AND); `at` is the list's name in the query (e.g. `filters`). */
export function compileFilters(filters: unknown, params: SqlParams, at = 'filters'): CompiledFilters {
  if (filters === undefined || filters === null) return { sql: '1', refs: [] };
  if (!Array.isArray(filters)) invalid(at, 'expected a list of filters', '必须是筛选条件列表');
  if (filters.length > 50) invalid(at, 'at most 50 filters', '最多 50 个筛选条件');
  const parts = filters.map((f, i) => compileFilter(f, params, `${at}[${i}]`));
  if (parts.length === 0) return { sql: '1', refs: [] };
  return { sql: parts.map((p) => `(${p.sql})`).join(' AND '), refs: parts.map((p) => p.ref) };
}
