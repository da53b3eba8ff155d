/**
 * What a JSON-schema check found wrong, said in Chinese as well as in the checker's English:
 * TypeBox's errors (request bodies, connector settings, the configuration) and ajv's (should
 * Fastify refuse a request by a route's schema). Both become one shape, a JSON-schema keyword with
 * its parameters, so each kind of problem is worded once.
 */

import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';

/** One problem: the JSON-schema keyword that failed, at `path`, with that keyword's parameters. */
export interface SchemaProblem {
  /** Where, as the messages show it: `body/event`, `/port`. */
  path: string;
  keyword: string;
  params: Record<string, unknown>;
  /** What is wrong in English, without the path: the checker's own words ("must be string"). */
  message: string;
}

/** The part of an ajv error that is read here (Fastify hands these over as `error.validation`). */
export interface AjvProblem {
  instancePath?: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const TYPE_ZH: Record<string, string> = {
  string: '字符串',
  integer: '整数',
  number: '数字',
  boolean: '布尔值（true 或 false）',
  object: '对象',
  array: '数组',
  null: 'null',
};

const FORMAT_ZH: Record<string, string> = {
  date: '日期（如 2025-06-30）',
  'date-time': '带时区的时间（如 2025-06-30T08:00:00Z）',
  time: '时间',
  email: '电子邮箱地址',
  uri: 'URI',
  uuid: 'UUID',
};

const quoted = (value: unknown) => JSON.stringify(value);
const list = (values: unknown[], separator: string) => values.map(quoted).join(separator);

/**
 * What is wrong, in Chinese, without the path (the callers name the place their own way): "应为整数".
 * The checker's English in parentheses where no wording fits.
 */
export function problemZh(problem: Pick<SchemaProblem, 'keyword' | 'params' | 'message'>): string {
  const { keyword, params } = problem;
  const limit = String(params.limit);
  switch (keyword) {
    case 'type':
      return `应为${String(params.type)
        .split(',')
        .map((t) => TYPE_ZH[t] ?? t)
        .join('或')}`;
    case 'required':
      return `缺少必填字段 ${quoted(params.missingProperty)}`;
    case 'missing':
      return '为必填项，不能省略';
    case 'additionalProperties':
      return `不能有字段 ${quoted(params.additionalProperty)}`;
    case 'unexpected':
      return '不是可用的字段';
    case 'minimum':
      return `不能小于 ${limit}`;
    case 'maximum':
      return `不能大于 ${limit}`;
    case 'exclusiveMinimum':
      return `应大于 ${limit}`;
    case 'exclusiveMaximum':
      return `应小于 ${limit}`;
    case 'minLength':
      return `至少应有 ${limit} 个字符`;
    case 'maxLength':
      return `最多 ${limit} 个字符`;
    case 'minItems':
      return `至少应有 ${limit} 项`;
    case 'maxItems':
      return `最多 ${limit} 项`;
    case 'minProperties':
      return `至少应有 ${limit} 个字段`;
    case 'maxProperties':
      return `最多 ${limit} 个字段`;
    case 'pattern':
      return `应符合格式 ${String(params.pattern)}`;
    case 'format': {
      const format = String(params.format);
      return `应为${FORMAT_ZH[format] ?? `${format} 格式`}`;
    }
    case 'enum':
    case 'oneOfConst':
      return `应为以下之一：${list(params.allowedValues as unknown[], '、')}`;
    case 'const':
      return `应为 ${quoted(params.allowedValue)}`;
    case 'anyOf':
    case 'oneOf':
      return '不符合任何一种允许的形式';
    case 'multipleOf':
      return `应为 ${String(params.multipleOf)} 的倍数`;
    case 'uniqueItems':
      return `不能有重复项（第 ${String(params.j)} 项与第 ${String(params.i)} 项相同）`;
    default:
      return `不符合要求（${problem.message}）`;
  }
}

/**
 * ajv's errors for one part of a request (`body`, `querystring`, `params`, `headers`) as an error's
 * `detail` in both languages. No route of ours lets ajv refuse a request today (bodies are read raw
 * and checked with TypeBox); this keeps a future schema's refusal bilingual too.
 */
export function ajvDetail(
  errors: readonly AjvProblem[],
  part: string,
): { detail: string; detail_zh: string } {
  const problems = errors.map((error) => ({
    path: `${part}${error.instancePath ?? ''}`,
    keyword: error.keyword,
    params: error.params,
    message: error.message ?? '',
  }));
  return {
    detail: problems.map((p) => `${p.path} ${p.message}`).join('; '),
    detail_zh: problems.map((p) => `${p.path} ${problemZh(p)}`).join('；'),
  };
}

/** TypeBox's "Expected <type>" errors, by the type they expected. */
const WRONG_TYPE = new Map<ValueErrorType, string>([
  [ValueErrorType.Integer, 'integer'],
  [ValueErrorType.Number, 'number'],
  [ValueErrorType.String, 'string'],
  [ValueErrorType.Boolean, 'boolean'],
  [ValueErrorType.Object, 'object'],
  [ValueErrorType.Array, 'array'],
]);

/** TypeBox's errors of a bound, by the keyword that sets it (the schema's field of the same name). */
const BOUND = new Map<ValueErrorType, string>([
  [ValueErrorType.IntegerMinimum, 'minimum'],
  [ValueErrorType.NumberMinimum, 'minimum'],
  [ValueErrorType.IntegerMaximum, 'maximum'],
  [ValueErrorType.NumberMaximum, 'maximum'],
  [ValueErrorType.IntegerExclusiveMinimum, 'exclusiveMinimum'],
  [ValueErrorType.NumberExclusiveMinimum, 'exclusiveMinimum'],
  [ValueErrorType.IntegerExclusiveMaximum, 'exclusiveMaximum'],
  [ValueErrorType.NumberExclusiveMaximum, 'exclusiveMaximum'],
  [ValueErrorType.StringMinLength, 'minLength'],
  [ValueErrorType.StringMaxLength, 'maxLength'],
]);

/** A TypeBox error as a problem, in ajv's keywords. */
export function typeboxProblem(error: ValueError): SchemaProblem {
  const schema = error.schema as Record<string, unknown>;
  const base = { path: error.path, message: error.message };
  const type = WRONG_TYPE.get(error.type);
  if (type) return { ...base, keyword: 'type', params: { type } };
  const bound = BOUND.get(error.type);
  if (bound) return { ...base, keyword: bound, params: { limit: schema[bound] } };
  switch (error.type) {
    case ValueErrorType.StringPattern:
      return { ...base, keyword: 'pattern', params: { pattern: schema.pattern } };
    case ValueErrorType.StringFormat:
      return { ...base, keyword: 'format', params: { format: schema.format } };
    case ValueErrorType.ObjectRequiredProperty:
      // TypeBox names the missing property itself as the path.
      return { ...base, keyword: 'missing', params: {} };
    case ValueErrorType.ObjectAdditionalProperties:
      return { ...base, keyword: 'unexpected', params: {} };
    case ValueErrorType.Literal:
      return { ...base, keyword: 'const', params: { allowedValue: schema.const } };
    case ValueErrorType.Union: {
      const choices = (schema.anyOf as Record<string, unknown>[] | undefined) ?? [];
      if (choices.length === 0 || !choices.every((choice) => 'const' in choice))
        return { ...base, keyword: 'anyOf', params: {} };
      const allowedValues = choices.map((choice) => choice.const);
      // TypeBox's own "Expected union value" does not say which values.
      const message = `Expected one of ${list(allowedValues, ', ')}`;
      return { ...base, message, keyword: 'oneOfConst', params: { allowedValues } };
    }
    default:
      return { ...base, keyword: 'unknown', params: {} };
  }
}
