import { randomUUID } from 'node:crypto';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from './open.js';
import type { OrganisationsTable } from './schema.js';

/** A company or team; it owns projects. */
export interface Organisation {
  id: string;
  name: string;
  /** ISO 8601 UTC. */
  createdAt: string;
}

/** Creates an organisation. */
export async function createOrganisation(
  store: MetadataStore,
  input: { name: string },
): Promise<Organisation> {
  const row: OrganisationsTable = {
    id: randomUUID(),
    name: requireName(input.name),
    created_at: new Date().toISOString(),
  };
  await store.db.insertInto('organisations').values(row).execute();
  return toOrganisation(row);
}

/** Every organisation, oldest first. */
export async function listOrganisations(store: MetadataStore): Promise<Organisation[]> {
  const rows = await store.db
    .selectFrom('organisations')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toOrganisation);
}

/** Whether an organisation with this id exists. */
export async function organisationExists(store: MetadataStore, id: string): Promise<boolean> {
  const row = await store.db.selectFrom('organisations').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

function requireName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new PulseloopError(
      'invalid_request',
      detailText('the organisation needs a non-empty name.', '组织名称不能为空。'),
    );
  }
  return name.trim();
}

function toOrganisation(row: OrganisationsTable): Organisation {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}
