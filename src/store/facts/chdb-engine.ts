import { mkdirSync } from 'node:fs';
import { Session } from 'chdb';
import {
  type FactsEngine,
  FactsQueryError,
  INSERT_SETTINGS,
  type InsertOptions,
  type InsertRowsOptions,
  QUERY_SETTINGS,
  type QueryParams,
} from './engine.js';

interface ChdbError extends Error {
  clickhouseCode?: number;
}

function wrap(error: unknown, sql: string): FactsQueryError {
  const e = error as ChdbError;
  return new FactsQueryError(e.message ?? String(error), e.clickhouseCode, sql);
}

const connectionArgs = Object.entries(QUERY_SETTINGS).map(([k, v]) => `--${k}=${v}`);

/**
 * Writes the parameter values that chdb's binder formats differently from @clickhouse/client the
 * way the client does, so a parameter means the same on both engines: chdb would drop a Date's
 * milliseconds and bind `true` as text that UInt8 refuses.
 */
function bindable(params: QueryParams): QueryParams {
  const out: QueryParams = {};
  for (const [name, value] of Object.entries(params)) {
    if (value instanceof Date) out[name] = unixSeconds(value);
    else if (typeof value === 'boolean') out[name] = value ? 1 : 0;
    else out[name] = value;
  }
  return out;
}

/** Unix seconds with milliseconds (ClickHouse reads it without a time zone), padded as the client pads it. */
function unixSeconds(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  const millis = date.getUTCMilliseconds();
  const whole = String(seconds).padStart(10, '0');
  return millis === 0 ? whole : `${whole}.${String(millis).padStart(3, '0')}`;
}

/** The in-process ClickHouse engine. chdb allows one data directory per process. */
export async function openChdbEngine(dataDir: string, database: string): Promise<FactsEngine> {
  mkdirSync(dataDir, { recursive: true });
  const session = new Session(dataDir, { connectionArgs });
  await session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await session.queryAsync(`USE ${database}`);
  let closed = false;

  async function insert(table: string, rows: Buffer | string, options: InsertRowsOptions): Promise<void> {
    const settings: Record<string, string | number> = { ...INSERT_SETTINGS };
    if (options.deduplicationToken) settings.insert_deduplication_token = options.deduplicationToken;
    try {
      await session.insert({
        table,
        values: rows,
        format: options.format,
        settings,
        ...(options.columns ? { columns: options.columns } : {}),
      });
    } catch (error) {
      throw wrap(error, `INSERT INTO ${table}`);
    }
  }

  return {
    kind: 'chdb',
    database,
    async query<Row>(sql: string, params: QueryParams = {}): Promise<Row[]> {
      try {
        const result = await session.queryBindAsync(sql, bindable(params), { format: 'JSONEachRow' });
        const text = result.text();
        if (text.length === 0) return [];
        return text
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as Row);
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async command(sql: string, params: QueryParams = {}): Promise<void> {
      try {
        await session.queryBindAsync(sql, bindable(params), { format: 'Null' });
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async insertJsonEachRow(
      table: string,
      rows: Buffer | string,
      options: InsertOptions = {},
    ): Promise<void> {
      await insert(table, rows, { ...options, format: 'JSONEachRow' });
    },
    insertRows: insert,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      session.close();
    },
  };
}
