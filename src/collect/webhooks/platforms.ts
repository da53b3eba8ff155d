import { listDetail, PulseloopError } from '../../errors/registry.js';
import { doudianPlatform } from './doudian.js';
import { genericPlatform } from './generic.js';
import { shopifyPlatform } from './shopify.js';
import type { WebhookPlatform } from './types.js';

/** Every platform whose pushes Pulseloop accepts. */
export const WEBHOOK_PLATFORMS: WebhookPlatform[] = [shopifyPlatform, doudianPlatform, genericPlatform];

export function platformById(id: string): WebhookPlatform {
  const platform = WEBHOOK_PLATFORMS.find((p) => p.id === id);
  if (!platform) {
    throw new PulseloopError('webhook_unknown_platform', {
      platform: id,
      ...listDetail(
        'known',
        WEBHOOK_PLATFORMS.map((p) => p.id),
      ),
    });
  }
  return platform;
}
