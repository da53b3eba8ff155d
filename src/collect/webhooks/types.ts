import type { PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { CommentRow, OrderRow } from '../../store/facts/rows.js';

/** A platform as messages name it, in English and in Chinese. */
export interface PlatformTitle {
  title: string;
  titleZh: string;
}

/** One platform that pushes to Pulseloop: how it signs, and how its payloads become rows. */
export interface WebhookPlatform extends PlatformTitle {
  id: string;
  /** Whether the signature headers match the raw body bytes under the configured secret. */
  verify(raw: Buffer, headers: WebhookHeaders, secret: WebhookSecret): boolean;
  /** Maps a verified body to rows; throws webhook_invalid_payload when the body as a whole is unusable. */
  parse(raw: Buffer, context: WebhookContext): Promise<WebhookRows>;
  /** The answer the platform expects on success. */
  reply(result: WebhookResult): unknown;
}

export type WebhookHeaders = Record<string, string | string[] | undefined>;

export interface WebhookSecret {
  secret: string;
  appKey: string | null;
}

export interface WebhookContext {
  projectId: string;
  sourceId: string;
  receivedAt: number;
  /** Read access to stored facts, for platforms whose messages carry only what changed. */
  facts: FactsEngine;
}

export interface WebhookRows {
  orders: OrderRow[];
  comments: CommentRow[];
  rejected: Array<{ error: PulseloopError; raw: unknown }>;
}

export interface WebhookResult {
  accepted: number;
  quarantined: number;
  errors: Array<{ index: number; code: string; message: string; message_zh: string }>;
}

/** A header's single value (the first when repeated). */
export function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
