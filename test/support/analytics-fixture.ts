import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import type { EventRow, IdentityRow, PersonRow } from '../../src/store/facts/rows.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { DEMO_TABLES } from './demo-checksums.js';

/**
 * A real facts engine (chdb) and metadata store (SQLite) in a temporary directory, with one project,
 * for analytics tests on small hand-made fixtures. One per test file: chdb binds one data directory
 * per process.
 */
export interface AnalyticsFixture {
  facts: FactsEngine;
  metadata: MetadataStore;
  projectId: string;
  timeZone: string;
  /** Inserts events; unspecified columns take neutral defaults, `at` is an ISO time or UTC ms. */
  events(rows: FixtureEvent[]): Promise<void>;
  identities(rows: Partial<IdentityRow>[]): Promise<void>;
  persons(rows: Partial<PersonRow>[]): Promise<void>;
  /** Inserts rows of any facts table as given (JSONEachRow). */
  insert(table: string, rows: object[]): Promise<void>;
  /** Removes every fact of the project (between tests). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export type FixtureEvent = Partial<Omit<EventRow, 'timestamp' | 'properties'>> & {
  event: string;
  distinct_id: string;
  /** ISO 8601 time (with offset or Z) or UTC milliseconds. */
  at: string | number;
  properties?: Record<string, unknown>;
};

const toMs = (at: string | number) => (typeof at === 'number' ? at : Date.parse(at));

export async function openAnalyticsFixture(timeZone = 'Asia/Shanghai'): Promise<AnalyticsFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-analytics-'));
  const facts = await openChdbEngine(join(dir, 'facts'), 'pulseloop');
  await migrateFacts(facts);
  const metadata = await openMetadataStore(loadConfig({ PULSELOOP_DATA: dir }));
  await migrateMetadata(metadata);
  const organisation = await createOrganisation(metadata, { name: 'Fixture org' });
  const project = await createProject(metadata, {
    organisationId: organisation.id,
    name: 'Fixture',
    timeZone,
    currency: 'CNY',
  });
  const projectId = project.id;
  const insert = async (table: string, rows: object[]) => {
    if (rows.length === 0) return;
    await facts.insertJsonEachRow(table, rows.map((r) => JSON.stringify(r)).join('\n'));
  };
  return {
    facts,
    metadata,
    projectId,
    timeZone,
    insert,
    async events(rows) {
      await insert(
        'events',
        rows.map(({ at, properties, ...row }) => ({
          project_id: projectId,
          message_id: randomUUID(),
          type: 'track',
          timestamp: toMs(at),
          received_at: toMs(at),
          person_id: '',
          properties: properties === undefined ? '' : JSON.stringify(properties),
          ...row,
        })),
      );
    },
    async identities(rows) {
      await insert(
        'identities',
        rows.map((row) => ({
          project_id: projectId,
          id_type: 'anonymous',
          version: 1,
          is_deleted: 0,
          updated_at: Date.now(),
          ...row,
        })),
      );
    },
    async persons(rows) {
      await insert(
        'persons',
        rows.map((row) => ({
          project_id: projectId,
          traits: '{}',
          consent: '{}',
          created_at: Date.now(),
          updated_at: Date.now(),
          version: 1,
          is_deleted: 0,
          ...row,
        })),
      );
    },
    async clear() {
      // The tables a project's facts live in: the ones the demo world writes.
      for (const table of DEMO_TABLES) {
        await facts.command(
          `ALTER TABLE ${table} DELETE WHERE project_id = {project:String} SETTINGS mutations_sync = 2`,
          {
            project: projectId,
          },
        );
      }
    },
    async close() {
      await metadata.close();
      await facts.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
