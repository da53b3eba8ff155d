import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { getSource } from '../../store/metadata/sources.js';
import { collectDb } from '../connectors/tables.js';
import { platformById } from './platforms.js';
import type { WebhookSecret } from './types.js';

/** Webhook secrets, one per source and platform, kept in the metadata store (migration 0002). */

export interface WebhookSecretInput {
  sourceId: string;
  platform: string;
  secret: string;
  /** Douyin shop: the app key the pushes name in their `app-id` header and sign with. */
  appKey?: string;
}

/** Sets (or replaces) the secret a source's webhook of one platform is verified with. */
export async function setWebhookSecret(store: MetadataStore, input: WebhookSecretInput): Promise<void> {
  const platform = platformById(input.platform);
  const source = await getSource(store, input.sourceId);
  if (!source)
    throw new PulseloopError('not_found', { what: 'Source', what_zh: '数据源', id: input.sourceId });
  if (input.secret.length < 8) {
    throw new PulseloopError(
      'invalid_request',
      detailText('a webhook secret needs at least 8 characters.', 'Webhook 密钥至少需要 8 个字符。'),
    );
  }
  if (platform.id === 'doudian' && !input.appKey) {
    throw new PulseloopError(
      'invalid_request',
      detailText(
        'a Douyin shop webhook needs the app key (--app-key).',
        '抖店 Webhook 需要 app key（--app-key）。',
      ),
    );
  }
  const now = new Date().toISOString();
  await collectDb(store)
    .insertInto('webhook_secrets')
    .values({
      source_id: source.id,
      platform: platform.id,
      project_id: source.projectId,
      secret: input.secret,
      app_key: input.appKey ?? null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['source_id', 'platform'])
        .doUpdateSet({ secret: input.secret, app_key: input.appKey ?? null, updated_at: now }),
    )
    .execute();
}

/** The secret and project of a source's webhook, or undefined when none is configured. */
export async function findWebhookSecret(
  store: MetadataStore,
  sourceId: string,
  platform: string,
): Promise<(WebhookSecret & { projectId: string }) | undefined> {
  const row = await collectDb(store)
    .selectFrom('webhook_secrets')
    .select(['secret', 'app_key', 'project_id'])
    .where('source_id', '=', sourceId)
    .where('platform', '=', platform)
    .executeTakeFirst();
  return row && { secret: row.secret, appKey: row.app_key, projectId: row.project_id };
}
