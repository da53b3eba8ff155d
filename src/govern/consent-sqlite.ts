import { Kysely, SqliteDialect } from 'kysely';
import { openSqliteConnection } from '../store/metadata/open.js';
import type { MetadataDatabase } from '../store/metadata/schema.js';
import { type ConsentChange, type ConsentRecord, consentRecordsOf, consentRow } from './consent.js';
import type { GovernTables } from './tables.js';

/**
 * Writes consent records on a SQLite connection of its own (the consent thread's), with one
 * statement prepared once and one transaction per call. Through Kysely each call compiled and
 * prepared its insert anew: ~270 µs of CPU for an identify's four records against ~100 µs here,
 * and under ingestion with consent traits that was most of governance's cost off the serving thread.
 */
export interface SqliteConsentRecorder {
  /** Validates, writes and returns the records of the changes, all or none. */
  record(projectId: string, changes: readonly ConsentChange[]): ConsentRecord[];
  close(): void;
}

export function openSqliteConsentRecorder(sqlitePath: string): SqliteConsentRecorder {
  const database = openSqliteConnection(sqlitePath);
  const db = new Kysely<MetadataDatabase>({
    dialect: new SqliteDialect({ database }),
  }).withTables<GovernTables>();
  // The statement is compiled by Kysely from a row of the real shape; each row's values are bound
  // in the order of its keys, which is the order of the statement's columns.
  const shape = consentRow({
    id: '',
    projectId: '',
    subjectId: '',
    purpose: 'analytics',
    granted: true,
    source: 'api',
    occurredAt: '',
    recordedAt: '',
  });
  const insert = database.prepare(db.insertInto('consent_records').values(shape).compile().sql);
  const insertAll = database.transaction((records: readonly ConsentRecord[]) => {
    for (const r of records) insert.run(Object.values(consentRow(r)));
  });
  return {
    record(projectId, changes) {
      const records = consentRecordsOf(projectId, changes);
      if (records.length > 0) insertAll(records);
      return records;
    },
    close() {
      database.close();
    },
  };
}
