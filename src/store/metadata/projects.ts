import { randomUUID } from 'node:crypto';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from './open.js';
import { organisationExists } from './organisations.js';
import type { ProjectsTable } from './schema.js';

/** One brand or product whose data is analysed together, in its own time zone and currency. */
export interface Project {
  id: string;
  organisationId: string;
  name: string;
  /** IANA name, e.g. Asia/Shanghai. */
  timeZone: string;
  /** ISO 4217 code, e.g. CNY. */
  currency: string;
  /** ISO 8601 UTC. */
  createdAt: string;
}

export interface NewProject {
  organisationId: string;
  name: string;
  timeZone: string;
  currency: string;
}

export type ProjectPatch = Partial<Pick<Project, 'name' | 'timeZone' | 'currency'>>;

/** Creates a project; rejects an unknown time zone or currency and a missing organisation. */
export async function createProject(store: MetadataStore, input: NewProject): Promise<Project> {
  const row: ProjectsTable = {
    id: randomUUID(),
    organisation_id: input.organisationId,
    name: validName(input.name),
    time_zone: validTimeZone(input.timeZone),
    currency: validCurrency(input.currency),
    created_at: new Date().toISOString(),
  };
  if (!(await organisationExists(store, input.organisationId))) {
    throw new PulseloopError('not_found', {
      what: 'Organisation',
      what_zh: '组织',
      id: input.organisationId,
    });
  }
  await store.db.insertInto('projects').values(row).execute();
  return toProject(row);
}

/** The project with this id, or undefined. */
export async function getProject(store: MetadataStore, id: string): Promise<Project | undefined> {
  const row = await store.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toProject(row);
}

/** Every project, or those of one organisation, oldest first. */
export async function listProjects(store: MetadataStore, organisationId?: string): Promise<Project[]> {
  let query = store.db.selectFrom('projects').selectAll();
  if (organisationId !== undefined) query = query.where('organisation_id', '=', organisationId);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map(toProject);
}

/** Changes a project's name, time zone or currency (validated as on creation); not_found if it does not exist. */
export async function updateProject(store: MetadataStore, id: string, patch: ProjectPatch): Promise<Project> {
  const changes: Partial<ProjectsTable> = {
    ...(patch.name !== undefined && { name: validName(patch.name) }),
    ...(patch.timeZone !== undefined && { time_zone: validTimeZone(patch.timeZone) }),
    ...(patch.currency !== undefined && { currency: validCurrency(patch.currency) }),
  };
  if (Object.keys(changes).length > 0) {
    await store.db.updateTable('projects').set(changes).where('id', '=', id).execute();
  }
  const project = await getProject(store, id);
  if (!project) throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id });
  return project;
}

function validName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new PulseloopError(
      'invalid_request',
      detailText('the project needs a non-empty name.', '项目名称不能为空。'),
    );
  }
  return name.trim();
}

/**
 * The canonical spelling of an IANA time zone (`asia/shanghai` → `Asia/Shanghai`), so that every
 * engine reading it, ClickHouse included, understands it; invalid_time_zone if ICU does not know it.
 */
export function validTimeZone(timeZone: unknown): string {
  if (typeof timeZone !== 'string' || timeZone === '') {
    throw new PulseloopError('invalid_time_zone', { value: String(timeZone ?? '') });
  }
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch (error) {
    if (error instanceof RangeError) throw new PulseloopError('invalid_time_zone', { value: timeZone });
    throw error;
  }
  // Newer ICU versions accept offsets such as +08:00, which are not IANA names and ignore daylight saving.
  if (/^[+-]/.test(canonical)) throw new PulseloopError('invalid_time_zone', { value: timeZone });
  return canonical;
}

let currencies: Set<string> | undefined;

/** The upper-case ISO 4217 code (`cny` → `CNY`); invalid_currency if it is not one. */
export function validCurrency(currency: unknown): string {
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  const code = typeof currency === 'string' ? currency.toUpperCase() : '';
  if (!currencies.has(code)) throw new PulseloopError('invalid_currency', { value: String(currency ?? '') });
  return code;
}

function toProject(row: ProjectsTable): Project {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    name: row.name,
    timeZone: row.time_zone,
    currency: row.currency,
    createdAt: row.created_at,
  };
}
