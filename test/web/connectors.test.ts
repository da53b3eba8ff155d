import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { signInCookies } from '../../bench/sign-in.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { type FakePlatforms, makeVideos, startFakePlatforms } from '../connectors/fake-platforms.js';
import {
  startTestServer,
  TEST_OWNER_EMAIL,
  TEST_OWNER_PASSWORD,
  type TestServer,
} from '../support/server.js';
import { ARTIFACTS, type Cookies, openPage } from './dashboard-support.js';

// The connectors section of the data-sources page in Debian's chromium, against a real server whose
// syncs call the local fake Douyin. The server's schedule keeps no timer (poll 0): a sync runs only
// because the page's "Sync now" asked for it.

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-web-connectors-'));
let t: TestServer;
let fake: FakePlatforms;
let browser: Browser;
let ownerCookies: Cookies;
let viewerCookies: Cookies;
let counter = 0;

const TEXT = {
  'en-US': {
    header: ['Name', 'Platform', 'Status', 'Last success', 'Next run'],
    platform: 'Douyin',
    succeeded: 'Succeeded',
    queued: 'Queued',
    failed: 'Failed',
    error: 'refused the access token',
    sync: 'Sync now',
    option: 'Douyin video statistics',
  },
  'zh-CN': {
    header: ['名称', '平台', '状态', '上次成功', '下次运行'],
    platform: '抖音',
    succeeded: '成功',
    queued: '排队中',
    failed: '失败',
    error: '访问令牌',
    sync: '立即同步',
    option: '抖音视频数据',
  },
} as const;
type Locale = keyof typeof TEXT;

/** Connects the fake Douyin account through the API, as the project's owner. */
async function addDouyin(name: string, token = fake.douyin.token): Promise<string> {
  const response = await t.api(`/api/v1/projects/${t.projectId}/connectors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      connector: 'douyin',
      name,
      config: { openId: fake.douyin.openId, baseUrl: fake.url },
      token,
    }),
  });
  const body = (await response.json()) as { connector: { id: string } };
  if (response.status !== 201) throw new Error(`adding ${name}: ${JSON.stringify(body)}`);
  return body.connector.id;
}

async function openSources(locale: Locale, cookies = ownerCookies) {
  const { page, errors } = await openPage(browser, `${t.url}/sources?project=${t.projectId}`, {
    locale,
    cookies,
  });
  await page.locator('[data-testid="connectors-table"]').waitFor();
  return { page, errors };
}

const row = (page: Page, id: string) =>
  page.locator(`[data-testid="connectors-table"] tr[data-row-key="${id}"]`);
const stateOf = (page: Page, id: string) =>
  row(page, id).locator('[data-testid="connector-state-video_list"]').getAttribute('data-state');

beforeAll(async () => {
  fake = await startFakePlatforms();
  fake.douyin.videos = makeVideos(45);
  t = await startTestServer({ connectorPollSeconds: 0 }, dataDir);
  const viewer = await createUser(t.server.metadata, {
    email: 'viewer@connectors-page.example.com',
    password: 'viewer page password',
  });
  await setProjectRole(t.server.metadata, t.projectId, viewer.id, 'viewer');
  ownerCookies = await signInCookies(t.url, TEST_OWNER_EMAIL, TEST_OWNER_PASSWORD);
  viewerCookies = await signInCookies(t.url, viewer.email, 'viewer page password');
  browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('connectors on the data-sources page', () => {
  it.each(Object.keys(TEXT) as Locale[])(
    'lists a connected account and syncs it on "Sync now" until it shows succeeded (%s)',
    async (locale) => {
      const text = TEXT[locale];
      const id = await addDouyin(`Brand account ${++counter}`);
      const { page, errors } = await openSources(locale);

      const headers = await page.locator('[data-testid="connectors-card"] th').allTextContents();
      expect(headers).toEqual(expect.arrayContaining([...text.header]));
      await row(page, id).waitFor();
      expect(await row(page, id).textContent()).toContain(text.platform);
      expect(await stateOf(page, id)).toBe('queued');
      expect(await row(page, id).locator('[data-testid="connector-state-video_list"]').textContent()).toBe(
        text.queued,
      );

      const sync = row(page, id).locator('[data-testid="connector-sync"]');
      expect(await sync.textContent()).toBe(text.sync);
      await sync.click();
      await page
        .locator(
          `tr[data-row-key="${id}"] [data-testid="connector-state-video_list"][data-state="succeeded"]`,
        )
        .waitFor({ timeout: 30_000 });
      expect(await row(page, id).locator('[data-testid="connector-state-video_list"]').textContent()).toBe(
        text.succeeded,
      );
      expect(await row(page, id).locator('[data-testid="connector-rows-video_list"]').textContent()).toBe(
        '45',
      );
      expect(await sync.isEnabled()).toBe(true);

      // The rows are in the facts store, attributed to the connector.
      const [stored] = await t.server.facts.query<{ n: number }>(
        'SELECT count() AS n FROM content_stats FINAL WHERE project_id = {p:String} AND source_id = {s:String}',
        { p: t.projectId, s: id },
      );
      expect(Number(stored?.n)).toBe(45);
      await page.screenshot({ path: join(ARTIFACTS, `connectors-${locale}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.context().close();
    },
  );

  it('shows why a sync failed, in the language of the page', async () => {
    const id = await addDouyin(`expired token ${++counter}`, 'act.expired-token');
    for (const locale of Object.keys(TEXT) as Locale[]) {
      const { page, errors } = await openSources(locale);
      await row(page, id).waitFor();
      if ((await stateOf(page, id)) !== 'failed') {
        await row(page, id).locator('[data-testid="connector-sync"]').click();
        await page
          .locator(`tr[data-row-key="${id}"] [data-testid="connector-state-video_list"][data-state="failed"]`)
          .waitFor({ timeout: 30_000 });
      }
      expect(await row(page, id).locator('[data-testid="connector-state-video_list"]').textContent()).toBe(
        TEXT[locale].failed,
      );
      expect(
        await row(page, id).locator('[data-testid="connector-error-video_list"]').textContent(),
      ).toContain(TEXT[locale].error);
      expect(errors).toEqual([]);
      await page.context().close();
    }
  });

  it('gives a failed account a new token in the form, and its next sync succeeds (zh-CN)', async () => {
    const id = await addDouyin(`new token ${++counter}`, 'act.expired-token');
    const { page, errors } = await openSources('zh-CN');
    await row(page, id).waitFor();
    // The answer to this "Sync now" is held back until the token has been replaced, as a slow
    // server's would be: the page must go on showing the outcome of the later action.
    let releaseSyncAnswer = () => {};
    const syncAnswerHeld = new Promise<void>((resolve) => {
      releaseSyncAnswer = resolve;
    });
    let syncAnswered = false;
    await page.route(`**/connectors/${id}/sync`, async (route) => {
      const response = await route.fetch();
      await syncAnswerHeld;
      await route.fulfill({ response });
      syncAnswered = true;
    });
    await row(page, id).locator('[data-testid="connector-sync"]').click();
    await page
      .locator(`tr[data-row-key="${id}"] [data-testid="connector-state-video_list"][data-state="failed"]`)
      .waitFor({ timeout: 30_000 });
    const retoken = row(page, id).locator('[data-testid="connector-retoken"]');
    expect(await retoken.textContent()).toBe('更换令牌');
    await retoken.click();
    const modal = page.locator('.ant-modal').filter({ hasText: '更换访问令牌' });
    await modal.locator('[data-testid="connector-token"]').fill(fake.douyin.token);
    await modal.locator('.ant-btn-primary').click();
    const replaced = page.locator('.ant-alert-success').filter({ hasText: '令牌已更换' });
    await replaced.waitFor();
    releaseSyncAnswer();
    await expect.poll(() => syncAnswered).toBe(true);
    await page.unroute(`**/connectors/${id}/sync`);
    // The button stops spinning once the page has handled the held answer; the message stays.
    await page
      .locator(`tr[data-row-key="${id}"] [data-testid="connector-sync"]:not(.ant-btn-loading)`)
      .waitFor();
    expect(await page.locator('[data-testid="connector-message"]').textContent()).toContain('令牌已更换');
    await row(page, id).locator('[data-testid="connector-sync"]').click();
    await page
      .locator(`tr[data-row-key="${id}"] [data-testid="connector-state-video_list"][data-state="succeeded"]`)
      .waitFor({ timeout: 30_000 });
    expect(await row(page, id).locator('[data-testid="connector-rows-video_list"]').textContent()).toBe('45');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('adds an account through the form and removes it after a confirmation', async () => {
    const { page, errors } = await openSources('zh-CN');
    await page.locator('[data-testid="connector-add"]').click();
    // On a loaded machine a click can land while the dropdown is still opening and choose nothing:
    // choose again until the select shows the kind (its fields appear only then).
    const kind = page.locator('.ant-modal .ant-select').first();
    await expect
      .poll(
        async () => {
          await kind.click();
          await page
            .locator('.ant-select-item-option', { hasText: TEXT['zh-CN'].option })
            .click({ timeout: 3_000 })
            .catch(() => undefined);
          return (await kind.textContent()) ?? '';
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain(TEXT['zh-CN'].option);
    const name = `表单添加的账号 ${++counter}`;
    const field = (testId: string) =>
      page.locator(`input[data-testid="${testId}"], [data-testid="${testId}"] input`).first();
    await field('connector-name').fill(name);
    await field('connector-config-openId').fill(fake.douyin.openId);
    await field('connector-config-baseUrl').fill(fake.url);
    await field('connector-token').fill(fake.douyin.token);
    await page.locator('.ant-modal-footer .ant-btn-primary').click();
    await page.locator('[data-testid="connector-message"]').waitFor();

    const listed = (await (await t.api(`/api/v1/projects/${t.projectId}/connectors`)).json()) as {
      connectors: { id: string; name: string; credentials: { source: string } }[];
    };
    const added = listed.connectors.find((c) => c.name === name);
    expect(added?.credentials).toEqual({ source: 'stored' });
    await row(page, added!.id).waitFor();
    expect(await page.content()).not.toContain(fake.douyin.token);

    await row(page, added!.id).locator('[data-testid="connector-remove"]').click();
    // The confirmation's own button (antd spaces out two-character Chinese labels, so not by its text).
    await page.locator('.ant-popover .ant-btn-primary').click();
    await row(page, added!.id).waitFor({ state: 'detached' });
    const after = (await (await t.api(`/api/v1/projects/${t.projectId}/connectors`)).json()) as {
      connectors: { id: string }[];
    };
    expect(after.connectors.some((c) => c.id === added!.id)).toBe(false);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('leaves no English label in Chinese and does not scroll sideways at 820 px with connectors listed', async () => {
    await addDouyin(`tablet ${++counter}`, 'act.expired-token');
    const { page, errors } = await openSources('en-US');
    await page.locator('[data-testid="connectors-table"] tr.ant-table-row').first().waitFor();
    const LABELS = '[data-testid="connectors-card"] :is(.ant-card-head-title, th, button, .ant-tag)';
    const labels = async () =>
      (await page.locator(LABELS).allTextContents())
        .map((t) => t.trim())
        .filter((t) => /[A-Za-z]{2,}/.test(t));
    const english = new Set(await labels());
    expect(english.size).toBeGreaterThan(5);
    await page.locator('[data-testid="lang-switch"]').getByText('中文').click();
    await page
      .locator('[data-testid="connectors-card"] .ant-card-head-title', { hasText: '连接器' })
      .waitFor();
    expect((await labels()).filter((t) => english.has(t))).toEqual([]);

    await page.setViewportSize({ width: 820, height: 1180 });
    await page.waitForTimeout(300);
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'connectors-tablet.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a viewer the connectors without the controls to add, sync or remove them', async () => {
    const id = await addDouyin(`viewer sees ${++counter}`);
    const { page, errors } = await openSources('en-US', viewerCookies);
    await row(page, id).waitFor();
    // The controls depend on the caller's role: wait until the page knows it.
    await page.locator('[data-testid="connectors-card"][data-role="viewer"]').waitFor();
    expect(await page.locator('[data-testid="connector-add"]').count()).toBe(0);
    expect(await page.locator('[data-testid="connector-sync"]').count()).toBe(0);
    expect(await page.locator('[data-testid="connector-remove"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
