import { PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { toQuarantineRow } from '../segment/quarantine.js';
import { platformById } from './platforms.js';
import { findWebhookSecret } from './secrets.js';
import type { WebhookHeaders, WebhookResult } from './types.js';

/**
 * One inbound webhook: find the source's secret → verify the signature over the raw bytes → parse
 * and map → write the valid rows → quarantine the rest. A refused signature is quarantined too (with
 * the body, capped), so a misconfigured secret shows up in the data instead of vanishing; the caller
 * answers 401.
 */

export interface ReceiveDeps {
  metadata: MetadataStore;
  facts: FactsEngine;
}

export interface WebhookDelivery {
  sourceId: string;
  platform: string;
  raw: Buffer;
  headers: WebhookHeaders;
  receivedAt: number;
}

export interface Received {
  result: WebhookResult;
  /** The body the platform expects back. */
  reply: unknown;
}

export async function receiveWebhook(deps: ReceiveDeps, delivery: WebhookDelivery): Promise<Received> {
  const platform = platformById(delivery.platform);
  const secret = await findWebhookSecret(deps.metadata, delivery.sourceId, platform.id);
  if (!secret)
    throw new PulseloopError('webhook_not_configured', {
      sourceId: delivery.sourceId,
      platform: platform.id,
    });
  const env = {
    projectId: secret.projectId,
    sourceId: delivery.sourceId,
    receivedAt: delivery.receivedAt,
    origin: 'webhook' as const,
  };

  if (!platform.verify(delivery.raw, delivery.headers, secret)) {
    const error = new PulseloopError('webhook_bad_signature', {
      platform: platform.title,
      platform_zh: platform.titleZh,
      sourceId: delivery.sourceId,
    });
    await quarantine(deps.facts, [toQuarantineRow(error, delivery.raw, env)]);
    throw error;
  }

  let rows: Awaited<ReturnType<typeof platform.parse>>;
  try {
    rows = await platform.parse(delivery.raw, {
      projectId: secret.projectId,
      sourceId: delivery.sourceId,
      receivedAt: delivery.receivedAt,
      facts: deps.facts,
    });
  } catch (error) {
    if (error instanceof PulseloopError)
      await quarantine(deps.facts, [toQuarantineRow(error, delivery.raw, env)]);
    throw error;
  }
  if (rows.orders.length > 0) await deps.facts.insertJsonEachRow('orders', jsonLines(rows.orders));
  if (rows.comments.length > 0) await deps.facts.insertJsonEachRow('comments', jsonLines(rows.comments));
  await quarantine(
    deps.facts,
    rows.rejected.map((entry, index) =>
      toQuarantineRow(entry.error, entry.raw, { ...env, rowNumber: index }),
    ),
  );
  const result: WebhookResult = {
    accepted: rows.orders.length + rows.comments.length,
    quarantined: rows.rejected.length,
    errors: rows.rejected.map((entry, index) => ({
      index,
      code: entry.error.code,
      message: entry.error.message,
      message_zh: entry.error.zh,
    })),
  };
  return { result, reply: platform.reply(result) };
}

function jsonLines(rows: readonly object[]): string {
  return `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
}

async function quarantine(facts: FactsEngine, rows: QuarantineRow[]): Promise<void> {
  if (rows.length > 0) await facts.insertJsonEachRow('quarantine', jsonLines(rows));
}
