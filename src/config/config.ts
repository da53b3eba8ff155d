import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

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
  ingest: Type.Object({
    /** Acknowledged but not yet stored bytes above which ingestion answers 503 (back-pressure). */
    maxPendingBytes: Type.Integer({ minimum: 1024 }),
    /** How often the batch writer moves acknowledged events into the facts store. */
    flushIntervalMs: Type.Integer({ minimum: 10 }),
    /** Requests per second per write key before 429. */
    rateLimitPerKey: Type.Integer({ minimum: 1 }),
    /** How long a messageId is remembered to recognise re-deliveries. */
    dedupeWindowHours: Type.Integer({ minimum: 24 }),
  }),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const defaults: Config = {
  dataDir: './data',
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
  clickhouseDatabase: 'pulseloop',
  apiRequestsPerMinute: 1200,
  ingest: {
    maxPendingBytes: 512 * 1024 * 1024,
    flushIntervalMs: 250,
    rateLimitPerKey: 5000,
    dedupeWindowHours: 48,
  },
};

type Env = Record<string, string | undefined>;

function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  set('dataDir', env.PULSELOOP_DATA);
  set('port', env.PORT === undefined || env.PORT === '' ? undefined : Number(env.PORT));
  set('host', env.HOST);
  set('logLevel', env.LOG_LEVEL);
  set('clickhouseUrl', env.CLICKHOUSE_URL);
  set('clickhouseDatabase', env.CLICKHOUSE_DATABASE);
  set('clickhouseUser', env.CLICKHOUSE_USER);
  set('clickhousePassword', env.CLICKHOUSE_PASSWORD);
  set('databaseUrl', env.DATABASE_URL);
  set(
    'apiRequestsPerMinute',
    env.PULSELOOP_API_RATE_LIMIT === undefined || env.PULSELOOP_API_RATE_LIMIT === ''
      ? undefined
      : Number(env.PULSELOOP_API_RATE_LIMIT),
  );
  set('piiKeys', env.PULSELOOP_PII_KEYS);
  set('demoPassword', env.PULSELOOP_DEMO_PASSWORD);
  const ingest: Record<string, unknown> = {};
  const number = (value: string | undefined) =>
    value === undefined || value === '' ? undefined : Number(value);
  for (const [key, name] of [
    ['maxPendingBytes', 'PULSELOOP_MAX_PENDING_BYTES'],
    ['flushIntervalMs', 'PULSELOOP_FLUSH_INTERVAL_MS'],
    ['rateLimitPerKey', 'PULSELOOP_RATE_LIMIT_PER_KEY'],
    ['dedupeWindowHours', 'PULSELOOP_DEDUPE_WINDOW_HOURS'],
  ] as const) {
    const value = number(env[name]);
    if (value !== undefined) ingest[key] = value;
  }
  if (Object.keys(ingest).length > 0) out.ingest = ingest;
  return out;
}

function readConfigFile(path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`Configuration file ${path} must hold a JSON object.`);
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`Cannot read configuration file ${path}: ${(error as Error).message}`);
  }
}

/**
 * Builds the configuration: defaults, then the JSON file (PULSELOOP_CONFIG or ./pulseloop.config.json),
 * then environment variables, then explicit overrides. Throws ConfigError naming each invalid field.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
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
    const lines = errors.map((e) => `  ${e.path || '/'}: ${e.message} (got ${JSON.stringify(e.value)})`);
    throw new ConfigError(
      `Invalid configuration${filePath ? ` (file ${filePath} and environment)` : ' (environment)'}:\n${lines.join('\n')}`,
    );
  }
  const config = Value.Clean(ConfigSchema, structuredClone(merged)) as Config;
  return { ...config, dataDir: resolve(config.dataDir) };
}
