import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { signInCookies } from '../../bench/sign-in.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import {
  basicAuth,
  startTestServer,
  TEST_OWNER_EMAIL,
  TEST_OWNER_PASSWORD,
  type TestServer,
} from '../support/server.js';
import { type Cookies, openPage } from './dashboard-support.js';

// The write keys on the data-sources page in Debian's chromium, against a real server: a new key
// is created, a key is revoked only after a confirmation, and a refusal is shown, not swallowed.

let t: TestServer;
let browser: Browser;

interface KeysAnswer {
  sources: { id: string; writeKeys: { key: string; revokedAt: string | null }[] }[];
}
async function activeKeys(): Promise<string[]> {
  const answer = (await (await t.api(`/api/v1/projects/${t.projectId}/sources`)).json()) as KeysAnswer;
  return answer.sources.flatMap((s) => s.writeKeys.filter((k) => !k.revokedAt).map((k) => k.key));
}

/** A track call sent with this write key: its HTTP status. */
async function trackWith(key: string): Promise<number> {
  const response = await fetch(`${t.url}/v1/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: basicAuth(key),
    },
    body: JSON.stringify({ event: 'Key Checked', userId: 'u-keys' }),
  });
  await response.body?.cancel();
  return response.status;
}

async function openSources(cookies: Cookies) {
  const opened = await openPage(browser, `${t.url}/sources?project=${t.projectId}`, {
    locale: 'zh-CN',
    cookies,
  });
  await opened.page.locator('[data-testid="sources"] [data-testid="key-new"]').first().waitFor();
  return opened;
}

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('write keys on the data-sources page', () => {
  it('creates a key, and revokes one only once confirmed, after which senders using it are refused', async () => {
    const { page, errors } = await openSources(
      await signInCookies(t.url, TEST_OWNER_EMAIL, TEST_OWNER_PASSWORD),
    );
    const before = await activeKeys();
    await page.locator('[data-testid="key-new"]').first().click();
    await expect.poll(activeKeys).toHaveLength(before.length + 1);
    const created = (await activeKeys()).find((k) => !before.includes(k))!;
    const row = page.locator(`tr[data-row-key="${created}"]`);
    await row.waitFor();
    expect(await trackWith(created)).toBe(200);

    // Cancelled: the key stays active.
    await row.locator('[data-testid="key-revoke"]').click();
    const confirm = page.locator('.ant-popconfirm').filter({ hasText: '吊销此密钥？' });
    await confirm.waitFor();
    await confirm.locator('.ant-btn:not(.ant-btn-dangerous)').click();
    await confirm.waitFor({ state: 'hidden' });
    expect(await activeKeys()).toContain(created);

    // Confirmed: revoked, shown as such, and refused at the collection API; the other keys still work.
    await row.locator('[data-testid="key-revoke"]').click();
    await confirm.locator('.ant-btn-dangerous').click();
    await row.locator('.ant-tag', { hasText: '已吊销' }).waitFor();
    expect(await activeKeys()).not.toContain(created);
    expect(await trackWith(created)).toBe(401);
    expect(await trackWith(t.writeKey)).toBe(200);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows why a key could not be created, in the language of the page', async () => {
    const admin = await createUser(t.server.metadata, {
      email: 'admin@keys-page.example.com',
      password: 'admin page password',
    });
    await setProjectRole(t.server.metadata, t.projectId, admin.id, 'admin');
    const { page, errors } = await openSources(
      await signInCookies(t.url, admin.email, 'admin page password'),
    );
    // The admin is made a viewer while the page is open: the server refuses the next key.
    await setProjectRole(t.server.metadata, t.projectId, admin.id, 'viewer');
    const before = await activeKeys();
    await page.locator('[data-testid="key-new"]').first().click();
    const refusal = page.locator('[data-testid="key-error"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('没有 "keys.manage" 权限');
    expect(await activeKeys()).toEqual(before);
    // The browser's own line for the refused request, and no error of the page's.
    expect(errors).toEqual([expect.stringContaining('status of 403')]);
    await page.context().close();
  });
});
