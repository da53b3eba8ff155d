import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { detailText, jsonParseDetail, PulseloopError } from '../../errors/registry.js';
import { problemZh, typeboxProblem } from '../../errors/schema-errors.js';

/**
 * Parses a raw JSON body (the app hands bodies over as bytes) and validates it against a schema;
 * the error names the first wrong field.
 */
export function jsonBody<S extends TSchema>(schema: S, raw: unknown): Static<S> {
  let value: unknown = {};
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new PulseloopError('invalid_json', jsonParseDetail(error));
    }
  }
  return validated(schema, value, 'body');
}

/** Validates a value (a query string, a parsed body) against a schema. */
export function validated<S extends TSchema>(schema: S, value: unknown, where: string): Static<S> {
  const first = Value.Errors(schema, value).First();
  if (first) {
    const path = first.path.replace(/^\//, '').replace(/\//g, '.');
    const field = path || where;
    const fieldZh = path ? `字段 "${path}"` : (WHERE_ZH[where] ?? where);
    const problem = typeboxProblem(first);
    throw new PulseloopError('invalid_request', {
      ...detailText(`${field}: ${problem.message}`, `${fieldZh}：${problemZh(problem)}`),
    });
  }
  return value as Static<S>;
}

const WHERE_ZH: Record<string, string> = { body: '请求体', query: '查询参数' };
