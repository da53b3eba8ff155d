import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { PiiKeyring } from '../../govern/pii/keys.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { getProject } from '../../store/metadata/projects.js';
import { parseConnectorConfig } from './config.js';
import { connectorById } from './registry.js';
import { readStoredToken, storeToken } from './secrets.js';
import {
  type CollectDatabase,
  type ConnectorCheckpointsTable,
  type ConnectorInstancesTable,
  collectDb,
} from './tables.js';

/**
 * Connector instances (one platform account connected to one project), where their access token
 * comes from, and the per-stream checkpoints of their syncs.
 */

export interface ConnectorInstance {
  id: string;
  projectId: string;
  connector: string;
  name: string;
  /** The connector's settings, as validated by parseConnectorConfig. */
  config: unknown;
  credentialsRef: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * Where the access token comes from: an environment variable read at sync time, or a token to store,
 * encrypted with the key ring's active key (secrets.ts).
 */
export type CredentialsSource = { env: string } | { token: string; keyring: PiiKeyring };

export interface NewConnectorInstance {
  projectId: string;
  connector: string;
  name: string;
  config: unknown;
  credentials: CredentialsSource;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Adds a connector instance; validates the connector, its settings and the project. */
export async function addConnectorInstance(
  store: MetadataStore,
  input: NewConnectorInstance,
): Promise<ConnectorInstance> {
  const connector = connectorById(input.connector);
  const config = parseConnectorConfig(connector, input.config);
  const name = input.name.trim();
  if (name === '')
    throw new PulseloopError(
      'invalid_request',
      detailText('the connector needs a name.', '连接器需要一个名称。'),
    );
  if (!(await getProject(store, input.projectId))) {
    throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: input.projectId });
  }
  const db = collectDb(store);
  const taken = await db
    .selectFrom('connector_instances')
    .select('id')
    .where('project_id', '=', input.projectId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (taken) throw new PulseloopError('connector_name_taken', { name });
  const now = new Date().toISOString();
  const id = randomUUID();
  const row: ConnectorInstancesTable = {
    id,
    project_id: input.projectId,
    connector: connector.id,
    name,
    config: JSON.stringify(config),
    credentials_ref: '',
    created_at: now,
    updated_at: now,
  };
  await db.transaction().execute(async (trx) => {
    row.credentials_ref = await credentialsRefOf(trx, name, input.credentials, now);
    await trx.insertInto('connector_instances').values(row).execute();
  });
  return toInstance(row);
}

/** Where an instance's token comes from, as its `credentials_ref`: `env:NAME`, or a token stored now. */
async function credentialsRefOf(
  trx: Kysely<CollectDatabase>,
  instance: string,
  credentials: CredentialsSource,
  now: string,
): Promise<string> {
  if ('env' in credentials) {
    if (!ENV_NAME.test(credentials.env)) {
      throw new PulseloopError('connector_credentials_missing', {
        instance,
        ...detailText(
          `"${credentials.env}" is not an environment variable name.`,
          `"${credentials.env}" 不是合法的环境变量名。`,
        ),
      });
    }
    return `env:${credentials.env}`;
  }
  if (credentials.token.trim() === '') {
    throw new PulseloopError('connector_credentials_missing', {
      instance,
      ...detailText('the access token is empty.', '访问令牌为空。'),
    });
  }
  return `secret:${await storeToken(trx, credentials.keyring, credentials.token.trim(), now)}`;
}

/** A `credentials_ref` read back: `env:NAME` (a variable) or `secret:ID` (a stored token). */
export function parseCredentialsRef(credentialsRef: string): { kind: string; reference: string } {
  const [kind = '', ...rest] = credentialsRef.split(':');
  return { kind, reference: rest.join(':') };
}

/** Deletes the stored token a `credentials_ref` points to, if it is a stored one. */
async function forgetStoredToken(trx: Kysely<CollectDatabase>, credentialsRef: string): Promise<void> {
  const { kind, reference } = parseCredentialsRef(credentialsRef);
  if (kind === 'secret') await trx.deleteFrom('connector_secrets').where('id', '=', reference).execute();
}

/**
 * Gives an instance new credentials (platform tokens expire: a Douyin access token lasts 15 days)
 * while it keeps its settings, checkpoints and jobs; the old stored token is deleted. Answers the
 * updated instance, or undefined when none has this id.
 */
export async function replaceConnectorCredentials(
  store: MetadataStore,
  id: string,
  credentials: CredentialsSource,
): Promise<ConnectorInstance | undefined> {
  return collectDb(store)
    .transaction()
    .execute(async (trx) => {
      const row = await trx
        .selectFrom('connector_instances')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      const now = new Date().toISOString();
      const credentialsRef = await credentialsRefOf(trx, row.name, credentials, now);
      await trx
        .updateTable('connector_instances')
        .set({ credentials_ref: credentialsRef, updated_at: now })
        .where('id', '=', id)
        .execute();
      await forgetStoredToken(trx, row.credentials_ref);
      return toInstance({ ...row, credentials_ref: credentialsRef, updated_at: now });
    });
}

/** The instance with this id, or the one of this name in any project; not_found otherwise. */
export async function findConnectorInstance(
  store: MetadataStore,
  idOrName: string,
): Promise<ConnectorInstance> {
  const rows = await collectDb(store)
    .selectFrom('connector_instances')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .execute();
  const exact = rows.find((r) => r.id === idOrName) ?? (rows.length === 1 ? rows[0] : undefined);
  if (!exact) {
    if (rows.length > 1) {
      throw new PulseloopError('invalid_request', {
        ...detailText(
          `several connectors are named "${idOrName}": use the id (see \`pulseloop connectors list\`).`,
          `有多个连接器名为 "${idOrName}"：请使用其 ID（见 \`pulseloop connectors list\`）。`,
        ),
      });
    }
    throw new PulseloopError('not_found', { what: 'Connector', what_zh: '连接器', id: idOrName });
  }
  return toInstance(exact);
}

/** The instance with this id, or undefined (callers check the project: tenant isolation). */
export async function getConnectorInstance(
  store: MetadataStore,
  id: string,
): Promise<ConnectorInstance | undefined> {
  const row = await collectDb(store)
    .selectFrom('connector_instances')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toInstance(row);
}

/**
 * Removes an instance with its checkpoints, its stored token and every job of its syncs (queued or
 * finished). The rows it already wrote to the facts store stay. Answers whether it existed.
 */
export async function removeConnectorInstance(store: MetadataStore, id: string): Promise<boolean> {
  return collectDb(store)
    .transaction()
    .execute(async (trx) => {
      const row = await trx
        .selectFrom('connector_instances')
        .select('credentials_ref')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return false;
      // Sync job keys are `connector:<instance id>:<stream>` (sync.ts); ids are UUIDs, no LIKE wildcards.
      await trx.deleteFrom('jobs').where('singleton_key', 'like', `connector:${id}:%`).execute();
      await trx.deleteFrom('connector_checkpoints').where('instance_id', '=', id).execute();
      await trx.deleteFrom('connector_instances').where('id', '=', id).execute();
      await forgetStoredToken(trx, row.credentials_ref);
      return true;
    });
}

/** Every instance, or those of one project, oldest first. */
export async function listConnectorInstances(
  store: MetadataStore,
  projectId?: string,
): Promise<ConnectorInstance[]> {
  let query = collectDb(store).selectFrom('connector_instances').selectAll();
  if (projectId) query = query.where('project_id', '=', projectId);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map(toInstance);
}

/**
 * The access token of an instance: from the environment given (never process.env directly), or
 * stored and decrypted with the key ring.
 */
export async function resolveAccessToken(
  store: MetadataStore,
  instance: ConnectorInstance,
  env: Record<string, string | undefined>,
  keyring: PiiKeyring,
): Promise<string> {
  const { kind, reference } = parseCredentialsRef(instance.credentialsRef);
  if (kind === 'env') {
    const value = env[reference];
    if (value && value.trim() !== '') return value.trim();
    throw new PulseloopError('connector_credentials_missing', {
      instance: instance.name,
      ...detailText(`the environment variable ${reference} is not set.`, `环境变量 ${reference} 未设置。`),
    });
  }
  if (kind === 'secret') {
    const token = await readStoredToken(store, keyring, reference, instance.name);
    if (token !== undefined) return token;
  }
  throw new PulseloopError('connector_credentials_missing', {
    instance: instance.name,
    ...detailText(
      `the stored credentials reference "${instance.credentialsRef}" leads nowhere.`,
      `已存储的凭证引用 "${instance.credentialsRef}" 指向的凭证不存在。`,
    ),
  });
}

/** Where a stream stands: the cursor to resume from and whether a run is part-way through. */
export interface Checkpoint<Cursor = unknown> {
  instanceId: string;
  stream: string;
  state: RunState<Cursor>;
  inProgress: boolean;
  /** Pages and rows of the run in progress, or of the last run once it finished. */
  pagesWritten: number;
  rowsWritten: number;
  updatedAt: string;
}

/** The saved state of a run: its cursor and when the run began (the rows' version). */
export interface RunState<Cursor = unknown> {
  cursor: Cursor;
  runStartedAt: number;
}

export async function getCheckpoint<Cursor>(
  store: MetadataStore,
  instanceId: string,
  stream: string,
): Promise<Checkpoint<Cursor> | undefined> {
  const row = await collectDb(store)
    .selectFrom('connector_checkpoints')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where('stream', '=', stream)
    .executeTakeFirst();
  return row && toCheckpoint<Cursor>(row);
}

/** Saves a stream's state (insert or replace). */
export async function saveCheckpoint(
  store: MetadataStore,
  checkpoint: Omit<Checkpoint, 'updatedAt'>,
): Promise<void> {
  const row: ConnectorCheckpointsTable = {
    instance_id: checkpoint.instanceId,
    stream: checkpoint.stream,
    cursor: JSON.stringify(checkpoint.state),
    in_progress: checkpoint.inProgress ? 1 : 0,
    pages_written: checkpoint.pagesWritten,
    rows_written: checkpoint.rowsWritten,
    updated_at: new Date().toISOString(),
  };
  await collectDb(store)
    .insertInto('connector_checkpoints')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['instance_id', 'stream']).doUpdateSet({
        cursor: row.cursor,
        in_progress: row.in_progress,
        pages_written: row.pages_written,
        rows_written: row.rows_written,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function listCheckpoints(store: MetadataStore, instanceId: string): Promise<Checkpoint[]> {
  const rows = await collectDb(store)
    .selectFrom('connector_checkpoints')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .orderBy('stream')
    .execute();
  return rows.map((row) => toCheckpoint(row));
}

function toCheckpoint<Cursor>(row: ConnectorCheckpointsTable): Checkpoint<Cursor> {
  return {
    instanceId: row.instance_id,
    stream: row.stream,
    state: JSON.parse(row.cursor) as RunState<Cursor>,
    inProgress: Number(row.in_progress) === 1,
    pagesWritten: Number(row.pages_written),
    rowsWritten: Number(row.rows_written),
    updatedAt: row.updated_at,
  };
}

function toInstance(row: ConnectorInstancesTable): ConnectorInstance {
  return {
    id: row.id,
    projectId: row.project_id,
    connector: row.connector,
    name: row.name,
    config: JSON.parse(row.config) as unknown,
    credentialsRef: row.credentials_ref,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
