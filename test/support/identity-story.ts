import { expect } from 'vitest';
import type { TestServer } from './server.js';

/**
 * One small identity story, sent through the collection API as apps would send it:
 * - a shared tablet: Alice (`u-alice`) signs in on it, five minutes later Bob (`u-bob`) does too —
 *   a conflict, both kept apart;
 * - one WeChat user seen in the mini program and in Channels: two persons, merged by the unionid
 *   (with a nickname, a phone number and an e-mail among the mini program's traits).
 */
export const STORY_T0 = Date.parse('2026-11-20T08:00:00Z');

/** The story's time `minutes` after STORY_T0, as ISO text. */
export const storyAt = (minutes: number) => new Date(STORY_T0 + minutes * 60_000).toISOString();

export const STORY_TRAITS = {
  nickname: '爱喝茶的鱼',
  member: true,
  phone: '+86 138 0013 8000',
  email: 'Tea.Lover@Example.com',
};

export async function sendIdentityStory(t: TestServer): Promise<void> {
  const send = async (path: string, body: Record<string, unknown>) =>
    expect((await t.collect(path, body)).status).toBe(200);
  await send('/v1/page', { anonymousId: 'tablet-1', name: 'Home', timestamp: storyAt(0) });
  await send('/v1/identify', { anonymousId: 'tablet-1', userId: 'u-alice', timestamp: storyAt(1) });
  await send('/v1/identify', { anonymousId: 'tablet-1', userId: 'u-bob', timestamp: storyAt(5) });
  await send('/v1/identify', {
    anonymousId: 'mini-device',
    traits: { unionid: 'UNION-7', openid: 'o-mini-7', platform: 'wechat_miniprogram', ...STORY_TRAITS },
    timestamp: storyAt(2),
  });
  // Channels was used before it identified: its own person, which the unionid then merges.
  await send('/v1/screen', { anonymousId: 'channels-device', name: 'Live room', timestamp: storyAt(2.5) });
  await send('/v1/identify', {
    anonymousId: 'channels-device',
    traits: { unionid: 'UNION-7', openid: 'o-channels-7', platform: 'wechat_channels' },
    timestamp: storyAt(3),
  });
  await t.settle();
}
