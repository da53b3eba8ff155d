import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { signInCookies } from '../../bench/sign-in.js';
import {
  basicAuth,
  startTestServer,
  TEST_OWNER_EMAIL,
  TEST_OWNER_PASSWORD,
  type TestServer,
} from '../support/server.js';
import { openPage } from './dashboard-support.js';

// "Delete expired rows now" on the settings page in Debian's chromium, against a real server on
// chdb: it deletes for good, so it asks first, and it applies the saved periods, not the draft.

let t: TestServer;
let browser: Browser;
const DAY_MS = 86_400_000;

async function storedEvents(): Promise<number> {
  const [row] = await t.server.facts.query<{ n: string }>(
    'SELECT count() AS n FROM events WHERE project_id = {p:String}',
    { p: t.projectId },
  );
  return Number(row?.n);
}

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchChromium();
  // Ten events from 30 days ago and five from today.
  const now = Date.now();
  const batch = [
    ...Array.from({ length: 10 }, (_, i) => ({
      type: 'track',
      event: 'Old',
      userId: `old-${i}`,
      timestamp: new Date(now - 30 * DAY_MS).toISOString(),
    })),
    ...Array.from({ length: 5 }, (_, i) => ({
      type: 'track',
      event: 'New',
      userId: `new-${i}`,
      timestamp: new Date(now).toISOString(),
    })),
  ];
  const response = await fetch(`${t.url}/v1/batch`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: basicAuth(t.writeKey),
    },
    body: JSON.stringify({ batch }),
  });
  if (response.status !== 200) throw new Error(`batch refused: ${await response.text()}`);
  await t.settle();
  const saved = await t.api(`/api/v1/projects/${t.projectId}/retention`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: 7 }),
  });
  if (saved.status !== 200) throw new Error(`retention refused: ${await saved.text()}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('deleting expired rows from the settings page', () => {
  it('asks first, says that unsaved changes are not used, and deletes only once confirmed', async () => {
    const { page, errors } = await openPage(browser, `${t.url}/settings?project=${t.projectId}`, {
      locale: 'zh-CN',
      cookies: await signInCookies(t.url, TEST_OWNER_EMAIL, TEST_OWNER_PASSWORD),
    });
    const apply = page.locator('[data-testid="retention-apply"]');
    await apply.waitFor();
    expect(await storedEvents()).toBe(15);

    // An unsaved draft: the question says it is not used. Cancelled: nothing is deleted.
    const days = page
      .locator('input[data-testid="retention-events"], [data-testid="retention-events"] input')
      .first();
    await days.fill('1');
    await apply.click();
    const confirm = page.locator('.ant-popconfirm').filter({ hasText: '删除后无法恢复' });
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('尚未保存的修改不会生效');
    await confirm.locator('.ant-btn:not(.ant-btn-dangerous)').click();
    await confirm.waitFor({ state: 'hidden' });
    expect(await storedEvents()).toBe(15);

    // Confirmed: the saved 7 days apply (not the draft's 1), the 30-day-old events go.
    await apply.click();
    await confirm.waitFor();
    await confirm.locator('.ant-btn-dangerous').click();
    const message = page.locator('[data-testid="retention-message"]');
    await message.waitFor();
    expect(await message.textContent()).toContain('已删除行数');
    await expect.poll(storedEvents, { timeout: 30_000 }).toBe(5);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
