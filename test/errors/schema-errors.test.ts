import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { ajvDetail, problemZh, typeboxProblem } from '../../src/errors/schema-errors.js';

/** The first TypeBox error for `value`, as English and Chinese. */
function said(schema: Parameters<typeof Value.Errors>[0], value: unknown) {
  const first = Value.Errors(schema, value).First();
  if (!first) throw new Error('the value passed');
  const problem = typeboxProblem(first);
  return { path: problem.path, en: problem.message, zh: problemZh(problem) };
}

describe('schema problems in both languages', () => {
  const Settings = Type.Object({
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    name: Type.String({ minLength: 2, maxLength: 5, pattern: '^[a-z]+$' }),
    level: Type.Union([Type.Literal('info'), Type.Literal('warn')]),
    ratio: Type.Number({ exclusiveMinimum: 0 }),
    on: Type.Boolean(),
  });
  const good = { port: 80, name: 'ab', level: 'info', ratio: 1, on: true };

  it.each([
    ['a text where a whole number goes', { port: 'abc' }, '/port', 'Expected integer', '应为整数'],
    [
      'a number above the maximum',
      { port: 70000 },
      '/port',
      'Expected integer to be less or equal to 65535',
      '不能大于 65535',
    ],
    [
      'a number below the minimum',
      { port: -1 },
      '/port',
      'Expected integer to be greater or equal to 0',
      '不能小于 0',
    ],
    [
      'a text too short',
      { name: 'a' },
      '/name',
      'Expected string length greater or equal to 2',
      '至少应有 2 个字符',
    ],
    [
      'a text too long',
      { name: 'abcdef' },
      '/name',
      'Expected string length less or equal to 5',
      '最多 5 个字符',
    ],
    [
      'a text off the pattern',
      { name: 'AB' },
      '/name',
      "Expected string to match '^[a-z]+$'",
      '应符合格式 ^[a-z]+$',
    ],
    [
      'a value not among the choices',
      { level: 'loud' },
      '/level',
      'Expected one of "info", "warn"',
      '应为以下之一："info"、"warn"',
    ],
    [
      'zero where only more is allowed',
      { ratio: 0 },
      '/ratio',
      'Expected number to be greater than 0',
      '应大于 0',
    ],
    ['a text for a switch', { on: 'yes' }, '/on', 'Expected boolean', '应为布尔值（true 或 false）'],
  ])('%s', (_case, change, path, en, zh) => {
    expect(said(Settings, { ...good, ...change })).toEqual({ path, en, zh });
  });

  it('names a missing field and a field that is not there to be set', () => {
    const { name: _omitted, ...withoutName } = good;
    expect(said(Settings, withoutName)).toEqual({
      path: '/name',
      en: 'Expected required property',
      zh: '为必填项，不能省略',
    });
    const strict = Type.Object({ a: Type.String() }, { additionalProperties: false });
    expect(said(strict, { a: 'x', b: 1 })).toMatchObject({ path: '/b', zh: '不是可用的字段' });
  });

  it('words the errors ajv gives Fastify, keeping ajv’s English', () => {
    // ajv's error objects as it reports them for these keywords (instancePath, keyword, params, message).
    const detail = ajvDetail(
      [
        {
          instancePath: '/from',
          keyword: 'format',
          params: { format: 'date' },
          message: 'must match format "date"',
        },
        {
          instancePath: '',
          keyword: 'required',
          params: { missingProperty: 'to' },
          message: "must have required property 'to'",
        },
        { instancePath: '/limit', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
        {
          instancePath: '/kind',
          keyword: 'enum',
          params: { allowedValues: ['a', 'b'] },
          message: 'must be equal to one of the allowed values',
        },
        {
          instancePath: '/x',
          keyword: 'dependentRequired',
          params: {},
          message: 'must have property y when property x is present',
        },
      ],
      'querystring',
    );
    expect(detail.detail).toBe(
      'querystring/from must match format "date"; querystring must have required property \'to\'; querystring/limit must be integer; querystring/kind must be equal to one of the allowed values; querystring/x must have property y when property x is present',
    );
    expect(detail.detail_zh).toBe(
      'querystring/from 应为日期（如 2025-06-30）；querystring 缺少必填字段 "to"；querystring/limit 应为整数；querystring/kind 应为以下之一："a"、"b"；querystring/x 不符合要求（must have property y when property x is present）',
    );
  });
});

/** The message of the ConfigError that loading the configuration from `env` throws. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('an invalid configuration', () => {
  it('says each wrong setting in English and in Chinese, naming its variable and what was given', () => {
    const load = () =>
      loadConfig({
        PULSELOOP_DATA: '/tmp/pulseloop-config-test',
        PORT: '99999',
        PULSELOOP_FLUSH_INTERVAL_MS: 'soon',
      });
    expect(load).toThrowError(ConfigError);
    let message = '';
    try {
      load();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Invalid configuration (environment):',
      '  /port (PORT): Expected integer to be less or equal to 65535 (got 99999)',
      '  /ingest/flushIntervalMs (PULSELOOP_FLUSH_INTERVAL_MS): Expected integer (got "soon")',
      '配置无效（环境变量）：',
      '  /port（PORT）：不能大于 65535（实际为 99999）',
      '  /ingest/flushIntervalMs（PULSELOOP_FLUSH_INTERVAL_MS）：应为整数（实际为 "soon"）',
    ]);
  });

  it('does not show the value of a secret setting in either language', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulseloop-config-secret-'));
    try {
      const path = join(dir, 'pulseloop.config.json');
      // A password written as a number: wrong, and still not to be printed.
      writeFileSync(path, JSON.stringify({ clickhousePassword: 918273645 }));
      const message = configError({ PULSELOOP_DATA: dir, PULSELOOP_CONFIG: path });
      expect(message).toContain(
        '/clickhousePassword (CLICKHOUSE_PASSWORD): Expected string (got a value not shown)',
      );
      expect(message).toContain('/clickhousePassword（CLICKHOUSE_PASSWORD）：应为字符串（值不显示）');
      expect(message).not.toContain('918273645');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
