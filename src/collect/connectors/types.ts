import type { TObject } from '@sinclair/typebox';
import type { PulseloopError } from '../../errors/registry.js';
import type { AdSpendRow, ContentStatsRow } from '../../store/facts/rows.js';
import type { ApiClient } from './http.js';

/**
 * What a connector is: the platform it pulls from and its streams. A stream reads one kind of data
 * page by page; its cursor says where the next page starts and is saved after every page.
 */

/** The facts tables a stream may write, with the row type of each. */
export interface StreamRows {
  ad_spend: AdSpendRow;
  content_stats: ContentStatsRow;
}
export type StreamTable = keyof StreamRows;

/** A row the platform returned that could not be mapped; it goes to quarantine with its reason. */
export interface RejectedRow {
  error: PulseloopError;
  raw: unknown;
}

export interface Page<Cursor, Row> {
  rows: Row[];
  rejected: RejectedRow[];
  /** Where the page after this one starts (or where the next run resumes from once `done`). */
  next: Cursor;
  /** True when this page ended the run. */
  done: boolean;
  /** A human-readable position, e.g. "2025-03-01 page 2/5". */
  position: string;
}

/** What a stream reads with. */
export interface StreamContext<Config> {
  projectId: string;
  /** The connector instance; also the `source_id` of every row it writes. */
  instanceId: string;
  /** The instance's name, for messages. */
  instanceName: string;
  config: Config;
  accessToken: string;
  api: ApiClient;
  /** When the current run started (resumed runs keep the time of their start): the rows' `updated_at`. */
  runStartedAt: number;
}

export interface StreamDefinition<Config, Cursor, Table extends StreamTable = StreamTable> {
  name: string;
  table: Table;
  /** How often a new run is scheduled after one finishes. */
  scheduleIntervalSeconds: number;
  /** Requests per second this stream sends at most. */
  rateLimitPerSecond: number;
  /** The cursor a new run starts from, given where the previous run ended (undefined on the first). */
  startCursor(context: StreamContext<Config>, previous: Cursor | undefined, now: Date): Cursor;
  readPage(context: StreamContext<Config>, cursor: Cursor): Promise<Page<Cursor, StreamRows[Table]>>;
}

/** What people read about one setting of a connector (the dashboard's form, the catalogue API). */
export interface ConfigFieldText {
  en: string;
  zh: string;
  hint?: { en: string; zh: string };
}

export interface ConnectorDefinition<Config = unknown> {
  /** Stable id used in the metadata store and the CLI, e.g. `oceanengine`. */
  id: string;
  platform: string;
  /** The platform as people name it in messages, e.g. "Ocean Engine". */
  displayName: string;
  /** The same in Chinese messages, e.g. "巨量引擎". */
  displayNameZh: string;
  title: { en: string; zh: string };
  /** The settings' schema: parseConnectorConfig validates against it, the catalogue describes its fields from it. */
  configSchema: TObject;
  /** A label (and a hint where one helps) for every setting, in both languages. */
  configLabels: { [Field in keyof Config]-?: ConfigFieldText };
  // biome-ignore lint/suspicious/noExplicitAny: each stream has its own cursor type
  streams: Array<StreamDefinition<Config, any>>;
}
