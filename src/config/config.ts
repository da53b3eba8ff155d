import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PulseloopError } from '../errors/registry.js';
import { problemZh, typeboxProblem } from '../errors/schema-errors.js';
import { parsePiiKeys } from '../govern/pii/keys.js';

/** Every setting Pulseloop reads, validated once at start; nothing else reads process.env. */
export const ConfigSchema = Type.Object({
  dataDir: Type.String({ minLength: 1, description: 'Data directory (PULSELOOP_DATA)' }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
  ),
  clickhouseUrl: Type.Optional(Type.String({ minLength: 1 })),
  clickhouseDatabase: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  clickhouseUser: Type.Optional(Type.String()),
  clickhousePassword: Type.Optional(Type.String()),
  databaseUrl: Type.Optional(Type.String({ minLength: 1 })),
  /** Authenticated API requests per minute per client IP before 429 (PULSELOOP_API_RATE_LIMIT). */
  apiRequestsPerMinute: Type.Integer({ minimum: 1 }),
  /** PII key ring as JSON (PULSELOOP_PII_KEYS); else `<dataDir>/pii-keys.json`. */
  piiKeys: Type.Optional(Type.String({ minLength: 1 })),
  /** The demo owner's password (PULSELOOP_DEMO_PASSWORD); generated and printed once when unset. */
  demoPassword: Type.Optional(Type.String({ minLength: 10, maxLength: 1024 })),
  /** Minutes between rounds of scheduled retention deletes (docs/governance.md); 0 turns them off. */
  retentionIntervalMinutes: Type.Integer({ minimum: 0, maximum: 10_080 }),
  /** Seconds between the server's runs of due connector syncs (docs/connectors.md); 0 turns them off. */
  connectorPollSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
  ingest: Type.Object({
    /** Acknowledged but not yet stored bytes above which ingestion answers 503 (back-pressure). */
    maxPendingBytes: Type.Integer({ minimum: 1024 }),
    /** How often the batch writer moves acknowledged events into the facts store. */
    flushIntervalMs: Type.Integer({ minimum: 10 }),
    /** Under sustained load, the least time between two inserts into the facts store (bigger parts, fewer merges). */
    minInsertIntervalMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    /** Requests per second per write key before 429. */
    rateLimitPerKey: Type.Integer({ minimum: 1 }),
    /** How long a messageId is remembered to recognise re-deliveries (at most 10 days: the window's hour tags). */
    dedupeWindowHours: Type.Integer({ minimum: 24, maximum: 240 }),
    /** Memory limit of the dedupe window's compact tier; when full it keeps fewer hours (the store folds copies). */
    dedupeMemoryMb: Type.Integer({ minimum: 16, maximum: 1_048_576 }),
    /** Consent opt-outs, erased ids and PII encryption applied to collected events (docs/governance.md). */
    governance: Type.Boolean(),
    /** How often consent, erasures and PII field lists written by other processes are picked up. */
    governanceRefreshSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
    /** Under governance, also emit the unkeyed phone/e-mail hashes (while moving stored identities over). */
    legacyContactHashes: Type.Boolean(),
    /** Threads that prepare /v1/batch requests beside the serving thread (0: none); one per extra core, at most 3, when unset. */
    threads: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  }),
});
export type Config = Static<typeof ConfigSchema>;

/** Settings given in code (CLI options, tests): any of them, and any of the ingestion settings. */
export type ConfigOverrides = Partial<Omit<Config, 'ingest'>> & { ingest?: Partial<Config['ingest']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const defaults: Config = {
  dataDir: './data',
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
  clickhouseDatabase: 'pulseloop',
  apiRequestsPerMinute: 12_000,
  retentionIntervalMinutes: 360,
  connectorPollSeconds: 60,
  ingest: {
    maxPendingBytes: 512 * 1024 * 1024,
    flushIntervalMs: 250,
    minInsertIntervalMs: 1000,
    rateLimitPerKey: 5000,
    dedupeWindowHours: 48,
    dedupeMemoryMb: 1024,
    governance: true,
    governanceRefreshSeconds: 30,
    legacyContactHashes: false,
  },
};

/** The environment variable behind each setting, so an error names what the operator actually set. */
const ENV_NAMES: Record<string, string> = {
  '/dataDir': 'PULSELOOP_DATA',
  '/port': 'PORT',
  '/host': 'HOST',
  '/logLevel': 'LOG_LEVEL',
  '/clickhouseUrl': 'CLICKHOUSE_URL',
  '/clickhouseDatabase': 'CLICKHOUSE_DATABASE',
  '/clickhouseUser': 'CLICKHOUSE_USER',
  '/clickhousePassword': 'CLICKHOUSE_PASSWORD',
  '/databaseUrl': 'DATABASE_URL',
  '/piiKeys': 'PULSELOOP_PII_KEYS',
  '/retentionIntervalMinutes': 'PULSELOOP_RETENTION_INTERVAL_MINUTES',
  '/connectorPollSeconds': 'PULSELOOP_CONNECTOR_POLL_SECONDS',
  '/ingest/maxPendingBytes': 'PULSELOOP_MAX_PENDING_BYTES',
  '/ingest/flushIntervalMs': 'PULSELOOP_FLUSH_INTERVAL_MS',
  '/ingest/minInsertIntervalMs': 'PULSELOOP_MIN_INSERT_INTERVAL_MS',
  '/ingest/rateLimitPerKey': 'PULSELOOP_RATE_LIMIT_PER_KEY',
  '/ingest/dedupeWindowHours': 'PULSELOOP_DEDUPE_WINDOW_HOURS',
  '/ingest/dedupeMemoryMb': 'PULSELOOP_DEDUPE_MEMORY_MB',
  '/ingest/governance': 'PULSELOOP_INGEST_GOVERNANCE',
  '/ingest/governanceRefreshSeconds': 'PULSELOOP_GOVERNANCE_REFRESH_SECONDS',
  '/ingest/legacyContactHashes': 'PULSELOOP_LEGACY_CONTACT_HASHES',
  '/ingest/threads': 'PULSELOOP_INGEST_THREADS',
};

/** Settings whose values are secrets: an error names them but never shows what was given. */
const SECRET_PATHS = new Set(['/clickhousePassword', '/piiKeys', '/databaseUrl']);

/** on/off, true/false, 1/0 as a boolean; anything else is kept as given so validation names it. */
function switchValue(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '') return undefined;
  const normalised = value.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(normalised)) return true;
  if (['off', 'false', '0', 'no'].includes(normalised)) return false;
  return value;
}

type Env = Record<string, string | undefined>;

/**
 * A number as given, or undefined when the variable is unset or empty. Text that is not a number is
 * kept as text, so that validation quotes it ("got \"abc\"", not the "got null" of NaN).
 */
function numberValue(value: string | undefined): number | string | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isNaN(number) ? value : number;
}

function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  set('dataDir', env.PULSELOOP_DATA);
  set('port', numberValue(env.PORT));
  set('host', env.HOST);
  set('logLevel', env.LOG_LEVEL);
  set('clickhouseUrl', env.CLICKHOUSE_URL);
  set('clickhouseDatabase', env.CLICKHOUSE_DATABASE);
  set('clickhouseUser', env.CLICKHOUSE_USER);
  set('clickhousePassword', env.CLICKHOUSE_PASSWORD);
  set('databaseUrl', env.DATABASE_URL);
  set('apiRequestsPerMinute', numberValue(env.PULSELOOP_API_RATE_LIMIT));
  set('piiKeys', env.PULSELOOP_PII_KEYS);
  set('retentionIntervalMinutes', numberValue(env.PULSELOOP_RETENTION_INTERVAL_MINUTES));
  set('connectorPollSeconds', numberValue(env.PULSELOOP_CONNECTOR_POLL_SECONDS));
  set('demoPassword', env.PULSELOOP_DEMO_PASSWORD);
  const ingest: Record<string, unknown> = {};
  for (const [key, name] of [
    ['maxPendingBytes', 'PULSELOOP_MAX_PENDING_BYTES'],
    ['flushIntervalMs', 'PULSELOOP_FLUSH_INTERVAL_MS'],
    ['minInsertIntervalMs', 'PULSELOOP_MIN_INSERT_INTERVAL_MS'],
    ['rateLimitPerKey', 'PULSELOOP_RATE_LIMIT_PER_KEY'],
    ['dedupeWindowHours', 'PULSELOOP_DEDUPE_WINDOW_HOURS'],
    ['dedupeMemoryMb', 'PULSELOOP_DEDUPE_MEMORY_MB'],
    ['governanceRefreshSeconds', 'PULSELOOP_GOVERNANCE_REFRESH_SECONDS'],
    ['threads', 'PULSELOOP_INGEST_THREADS'],
  ] as const) {
    const value = numberValue(env[name]);
    if (value !== undefined) ingest[key] = value;
  }
  const governance = switchValue(env.PULSELOOP_INGEST_GOVERNANCE);
  if (governance !== undefined) ingest.governance = governance;
  const legacyContactHashes = switchValue(env.PULSELOOP_LEGACY_CONTACT_HASHES);
  if (legacyContactHashes !== undefined) ingest.legacyContactHashes = legacyContactHashes;
  if (Object.keys(ingest).length > 0) out.ingest = ingest;
  return out;
}

function readConfigFile(path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(
        `Configuration file ${path} must hold a JSON object.\n配置文件 ${path} 必须是 JSON 对象。`,
      );
    }
    checkKnownSettings(path, parsed as Record<string, unknown>);
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // The file system's or JSON.parse's own message is quoted as it is.
    const said = (error as Error).message;
    throw new ConfigError(
      `Cannot read configuration file ${path}: ${said}\n无法读取配置文件 ${path}：${said}`,
    );
  }
}

/**
 * Refuses a setting the file names that Pulseloop does not have (a misspelt "prot" would otherwise be
 * dropped silently and the default used), naming the settings it does have.
 */
function checkKnownSettings(path: string, file: Record<string, unknown>): void {
  const unknown: string[] = [];
  const known = (schema: { properties: Record<string, unknown> }, object: object, prefix: string) => {
    for (const key of Object.keys(object)) {
      if (!Object.hasOwn(schema.properties, key)) unknown.push(`${prefix}${key}`);
    }
  };
  known(ConfigSchema, file, '');
  const ingest = file.ingest;
  if (ingest !== null && typeof ingest === 'object' && !Array.isArray(ingest)) {
    known(ConfigSchema.properties.ingest, ingest, 'ingest.');
  }
  if (unknown.length === 0) return;
  // An environment variable's name where the file wants the setting's: say which one it is.
  const settingOf = (key: string) =>
    Object.entries(ENV_NAMES).find(([, name]) => name === key.replace(/^ingest\./, ''))?.[0];
  const listed = (hint: (setting: string) => string) =>
    unknown
      .map((key) => {
        const path = settingOf(key);
        return path
          ? `${JSON.stringify(key)} (${hint(path.slice(1).replace('/', '.'))})`
          : JSON.stringify(key);
      })
      .join(', ');
  const settings = [
    ...Object.keys(ConfigSchema.properties).filter((key) => key !== 'ingest'),
    ...Object.keys(ConfigSchema.properties.ingest.properties).map((key) => `ingest.${key}`),
  ].join(', ');
  throw new ConfigError(
    `Configuration file ${path} names settings Pulseloop does not have: ${listed((s) => `write it as ${s}`)}. The settings are: ${settings}.` +
      `\n配置文件 ${path} 含有不存在的设置：${listed((s) => `应写作 ${s}`)}。可用的设置：${settings}。`,
  );
}

/**
 * Builds the configuration: defaults, then the JSON file (PULSELOOP_CONFIG or ./pulseloop.config.json),
 * then environment variables, then explicit overrides. Throws ConfigError naming each invalid field.
 */
export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): Config {
  const filePath =
    env.PULSELOOP_CONFIG ?? (existsSync('pulseloop.config.json') ? 'pulseloop.config.json' : undefined);
  const file = filePath ? readConfigFile(filePath) : {};
  const merged = {
    ...defaults,
    ...file,
    ...fromEnv(env),
    ...overrides,
    ingest: {
      ...defaults.ingest,
      ...(file.ingest as object | undefined),
      ...(fromEnv(env).ingest as object | undefined),
      ...overrides.ingest,
    },
  };
  const errors = [...Value.Errors(ConfigSchema, merged)];
  if (errors.length > 0) {
    // Each setting once, said in both languages: its path (and variable), what is wrong, what was given.
    const said = errors.map((e) => {
      const env = ENV_NAMES[e.path];
      const problem = typeboxProblem(e);
      const value = SECRET_PATHS.has(e.path) ? undefined : JSON.stringify(e.value);
      return {
        en: `  ${env ? `${e.path} (${env})` : e.path || '/'}: ${problem.message} (got ${value ?? 'a value not shown'})`,
        zh: `  ${env ? `${e.path}（${env}）` : e.path || '/'}：${problemZh(problem)}（${value === undefined ? '值不显示' : `实际为 ${value}`}）`,
      };
    });
    const lines = said.map((line) => line.en);
    const linesZh = said.map((line) => line.zh);
    throw new ConfigError(
      `Invalid configuration${filePath ? ` (file ${filePath} and environment)` : ' (environment)'}:\n${lines.join('\n')}` +
        `\n配置无效（${filePath ? `文件 ${filePath} 和环境变量` : '环境变量'}）：\n${linesZh.join('\n')}`,
    );
  }
  const config = Value.Clean(ConfigSchema, structuredClone(merged)) as Config;
  if (config.piiKeys !== undefined) checkPiiKeys(config.piiKeys);
  return { ...config, dataDir: resolve(config.dataDir) };
}

/** Refuses a PII key ring that cannot be used, naming what is wrong without showing any key. */
function checkPiiKeys(value: string): void {
  try {
    parsePiiKeys(value, 'PULSELOOP_PII_KEYS');
  } catch (error) {
    const own = error instanceof PulseloopError ? error : undefined;
    const detail = own ? String(own.details.detail ?? own.message) : '';
    const zh = own?.details.detail_zh ?? 'PULSELOOP_PII_KEYS 不是可用的个人信息密钥。';
    throw new ConfigError(`Invalid configuration: ${detail}\n配置无效：${zh}格式见 docs/governance.md。`);
  }
}

/** `host:port` as URLs and messages write it: an IPv6 address in brackets. */
export function hostAndPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
