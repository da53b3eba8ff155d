import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { redactedUrl } from '../../config/redact.js';
import { PulseloopError } from '../../errors/registry.js';
import {
  checkInsertOptions,
  type FactsEngine,
  FactsQueryError,
  INSERT_SETTINGS,
  type InsertOptions,
  type InsertPayload,
  type InsertRowsOptions,
  QUERY_SETTINGS,
  type QueryParams,
} from './engine.js';

export interface HttpEngineOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
}

function wrap(error: unknown, sql: string): FactsQueryError {
  const e = error as Error & { code?: string };
  const code = e.code !== undefined && /^\d+$/.test(e.code) ? Number(e.code) : undefined;
  return new FactsQueryError(e.message ?? String(error), code, sql);
}

/**
 * The user and password given apart from the URL; when none are, the client takes them from the URL
 * or uses its defaults (`default`, no password) without warning that the URL overrides them.
 */
function credentialsOf(options: HttpEngineOptions): { username?: string; password?: string } {
  return {
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
  };
}

/** A ClickHouse server (or cluster front) over its HTTP interface through the official client. */
export async function openHttpEngine(options: HttpEngineOptions): Promise<FactsEngine> {
  let bootstrap: ClickHouseClient | undefined;
  try {
    // Inside the try: the client refuses a malformed URL as it is created.
    bootstrap = createClient({
      url: options.url,
      ...credentialsOf(options),
      // A failure here is reported once, as the error below, not also by the client's own logger.
      log: { level: ClickHouseLogLevel.OFF },
    });
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${options.database}` });
  } catch (error) {
    throw new PulseloopError('facts_unreachable', {
      url: redactedUrl(options.url),
      detail: error instanceof Error ? error.message : String(error),
    });
  } finally {
    await bootstrap?.close();
  }
  const client: ClickHouseClient = createClient({
    url: options.url,
    database: options.database,
    ...credentialsOf(options),
    clickhouse_settings: { ...QUERY_SETTINGS },
  });

  async function insert(table: string, rows: InsertPayload, options: InsertRowsOptions): Promise<void> {
    checkInsertOptions(table, options);
    const columns = options.columns ? ` (${options.columns.join(', ')})` : '';
    try {
      // The payload goes through as bytes: the WAL record is already the insert body.
      const result = await client.exec({
        query: `INSERT INTO ${table}${columns} FORMAT ${options.format}`,
        values: Readable.from(
          typeof rows === 'string' ? [Buffer.from(rows)] : Buffer.isBuffer(rows) ? [rows] : rows,
        ),
        clickhouse_settings: {
          ...INSERT_SETTINGS,
          ...(options.deduplicationToken ? { insert_deduplication_token: options.deduplicationToken } : {}),
          ...(options.parallelParsing === false ? { input_format_parallel_parsing: 0 } : {}),
        },
      });
      result.stream.resume();
      await finished(result.stream);
    } catch (error) {
      throw wrap(error, `INSERT INTO ${table}`);
    }
  }

  return {
    kind: 'http',
    database: options.database,
    async query<Row>(sql: string, params: QueryParams = {}): Promise<Row[]> {
      try {
        const result = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
        return await result.json<Row>();
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async command(sql: string, params: QueryParams = {}): Promise<void> {
      try {
        await client.command({ query: sql, query_params: params });
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async insertJsonEachRow(table: string, rows: InsertPayload, options: InsertOptions = {}): Promise<void> {
      await insert(table, rows, { ...options, format: 'JSONEachRow' });
    },
    insertRows: insert,
    async close(): Promise<void> {
      await client.close();
    },
  };
}
