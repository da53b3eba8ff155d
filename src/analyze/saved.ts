import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { detailOf, detailText, PulseloopError } from '../errors/registry.js';
import type { MetadataStore } from '../store/metadata/open.js';
import type { MetadataDatabase } from '../store/metadata/schema.js';
import { findAnalysis } from './registry.js';

/**
 * Saved insights (an analysis kind with its query, named) and dashboards (named grids of insight
 * tiles), per project in the metadata store. A saved query is validated by its analysis's parser
 * when it is saved, so a saved insight always runs.
 */

export interface InsightsTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  kind: string;
  query: string;
  created_at: string;
  updated_at: string;
}

export interface DashboardsTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  tiles: string;
  created_at: string;
  updated_at: string;
}

type Db = Kysely<MetadataDatabase & { insights: InsightsTable; dashboards: DashboardsTable }>;
const dbOf = (store: MetadataStore): Db =>
  store.db.withTables<{ insights: InsightsTable; dashboards: DashboardsTable }>();

export interface InsightInput {
  name: string;
  description?: string;
  kind: string;
  query: unknown;
}

export interface Insight {
  id: string;
  projectId: string;
  name: string;
  description: string;
  kind: string;
  query: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface DashboardTile {
  insightId: string;
  /** Grid position and size (columns of a 12-column grid, rows). */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DashboardInput {
  name: string;
  description?: string;
  tiles: DashboardTile[];
}

export interface Dashboard extends Required<DashboardInput> {
  id: string;
  projectId: string;
  createdAt: string;
  updatedAt: string;
}

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_insight', { field, ...detailText(detail, detailZh) });
}

/** Validates the kind and the query (the analysis's own parser), returning the parsed query to store. */
function parsedQuery(input: InsightInput): unknown {
  const analysis = findAnalysis(input.kind);
  if (!analysis) {
    invalid(
      'kind',
      `unknown analysis "${input.kind.slice(0, 40)}"`,
      `未知的分析类型 "${input.kind.slice(0, 40)}"`,
    );
  }
  try {
    return analysis.parse(input.query);
  } catch (error) {
    if (error instanceof PulseloopError && error.code === 'invalid_query') {
      throw new PulseloopError('invalid_insight', {
        field: `query.${error.details.field}`,
        ...detailOf(error.details),
      });
    }
    throw error;
  }
}

const insightOf = (row: InsightsTable): Insight => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  description: row.description,
  kind: row.kind,
  query: JSON.parse(row.query),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const dashboardOf = (row: DashboardsTable): Dashboard => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  description: row.description,
  tiles: JSON.parse(row.tiles) as DashboardTile[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function listInsights(store: MetadataStore, projectId: string): Promise<Insight[]> {
  const rows = await dbOf(store)
    .selectFrom('insights')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at')
    .execute();
  return rows.map(insightOf);
}

export async function getInsight(
  store: MetadataStore,
  projectId: string,
  id: string,
): Promise<Insight | undefined> {
  const row = await dbOf(store)
    .selectFrom('insights')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && insightOf(row);
}

export async function createInsight(
  store: MetadataStore,
  projectId: string,
  input: InsightInput,
): Promise<Insight> {
  const query = parsedQuery(input);
  const at = new Date().toISOString();
  const row: InsightsTable = {
    id: randomUUID(),
    project_id: projectId,
    name: input.name,
    description: input.description ?? '',
    kind: input.kind,
    query: JSON.stringify(query),
    created_at: at,
    updated_at: at,
  };
  await dbOf(store).insertInto('insights').values(row).execute();
  return insightOf(row);
}

export async function updateInsight(
  store: MetadataStore,
  projectId: string,
  id: string,
  input: InsightInput,
): Promise<Insight | undefined> {
  const query = parsedQuery(input);
  const result = await dbOf(store)
    .updateTable('insights')
    .set({
      name: input.name,
      description: input.description ?? '',
      kind: input.kind,
      query: JSON.stringify(query),
      updated_at: new Date().toISOString(),
    })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0 ? getInsight(store, projectId, id) : undefined;
}

/** Deletes an insight and removes its tiles from the project's dashboards. */
export async function deleteInsight(store: MetadataStore, projectId: string, id: string): Promise<boolean> {
  return dbOf(store)
    .transaction()
    .execute(async (trx) => {
      const result = await trx
        .deleteFrom('insights')
        .where('project_id', '=', projectId)
        .where('id', '=', id)
        .executeTakeFirst();
      const dashboards = await trx
        .selectFrom('dashboards')
        .selectAll()
        .where('project_id', '=', projectId)
        .execute();
      for (const dashboard of dashboards) {
        const tiles = (JSON.parse(dashboard.tiles) as DashboardTile[]).filter((t) => t.insightId !== id);
        if (tiles.length !== JSON.parse(dashboard.tiles).length) {
          await trx
            .updateTable('dashboards')
            .set({ tiles: JSON.stringify(tiles), updated_at: new Date().toISOString() })
            .where('id', '=', dashboard.id)
            .execute();
        }
      }
      return Number(result.numDeletedRows) > 0;
    });
}

async function checkTiles(store: MetadataStore, projectId: string, tiles: DashboardTile[]): Promise<void> {
  const known = new Set((await listInsights(store, projectId)).map((i) => i.id));
  tiles.forEach((tile, i) => {
    if (!known.has(tile.insightId)) {
      invalid(
        `tiles[${i}].insightId`,
        `no insight "${tile.insightId}" in this project`,
        `该项目中没有洞察 "${tile.insightId}"`,
      );
    }
  });
}

export async function listDashboards(store: MetadataStore, projectId: string): Promise<Dashboard[]> {
  const rows = await dbOf(store)
    .selectFrom('dashboards')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at')
    .execute();
  return rows.map(dashboardOf);
}

export async function getDashboard(
  store: MetadataStore,
  projectId: string,
  id: string,
): Promise<Dashboard | undefined> {
  const row = await dbOf(store)
    .selectFrom('dashboards')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && dashboardOf(row);
}

export async function createDashboard(
  store: MetadataStore,
  projectId: string,
  input: DashboardInput,
): Promise<Dashboard> {
  await checkTiles(store, projectId, input.tiles);
  const at = new Date().toISOString();
  const row: DashboardsTable = {
    id: randomUUID(),
    project_id: projectId,
    name: input.name,
    description: input.description ?? '',
    tiles: JSON.stringify(input.tiles),
    created_at: at,
    updated_at: at,
  };
  await dbOf(store).insertInto('dashboards').values(row).execute();
  return dashboardOf(row);
}

export async function updateDashboard(
  store: MetadataStore,
  projectId: string,
  id: string,
  input: DashboardInput,
): Promise<Dashboard | undefined> {
  await checkTiles(store, projectId, input.tiles);
  const result = await dbOf(store)
    .updateTable('dashboards')
    .set({
      name: input.name,
      description: input.description ?? '',
      tiles: JSON.stringify(input.tiles),
      updated_at: new Date().toISOString(),
    })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0 ? getDashboard(store, projectId, id) : undefined;
}

export async function deleteDashboard(store: MetadataStore, projectId: string, id: string): Promise<boolean> {
  const result = await dbOf(store)
    .deleteFrom('dashboards')
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
