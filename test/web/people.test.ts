import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { signInCookies } from '../../bench/sign-in.js';
import { sendIdentityStory } from '../support/identity-story.js';
import {
  startTestServer,
  TEST_OWNER_EMAIL,
  TEST_OWNER_PASSWORD,
  type TestServer,
} from '../support/server.js';
import { type Cookies, openPage, settled } from './dashboard-support.js';

// The people & identity page in Debian's chromium: a shared tablet on which two members signed in
// (a conflict), and one WeChat user seen in the mini program and in Channels (a merge), sent
// through the collection API as an app would.

let t: TestServer;
let browser: Browser;
let cookies: Cookies;

beforeAll(async () => {
  t = await startTestServer();
  await sendIdentityStory(t);
  cookies = await signInCookies(t.url, TEST_OWNER_EMAIL, TEST_OWNER_PASSWORD);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const cellTexts = (page: Awaited<ReturnType<typeof openPage>>['page'], table: string, column: number) =>
  page.locator(`[data-testid="${table}"] tbody tr.ant-table-row td:nth-child(${column})`).allInnerTexts();

describe('people & identity page', () => {
  it('finds a person from any of its ids and shows its ids, traits and the merge that joined them, in Chinese', async () => {
    const { page, errors } = await openPage(
      browser,
      `${t.url}/people?project=${t.projectId}&id=mini-device`,
      {
        locale: 'zh-CN',
        cookies,
      },
    );
    await settled(page);
    const ids = await cellTexts(page, 'person-ids', 1);
    expect(ids).toEqual(
      expect.arrayContaining([
        'mini-device',
        'channels-device',
        'unionid:UNION-7',
        'openid:wechat_channels:o-channels-7',
      ]),
    );
    const kinds = await cellTexts(page, 'person-ids', 2);
    expect(kinds).toContain('匿名 ID');
    expect(kinds).toContain('UnionID');
    expect(kinds).not.toContain('anonymous');
    const traits = await page.locator('[data-testid="person-traits"]').textContent();
    expect(traits).toContain('爱喝茶的鱼');
    // Values as people read them: the platform by name (the latest identify's), yes/no.
    expect(traits).toContain('platform视频号');
    expect(traits).toContain('member是');
    const history = page.locator('[data-testid="person-history"] tbody tr.ant-table-row');
    await expect.poll(() => history.count()).toBe(1);
    expect(await history.first().textContent()).toContain('合并');
    expect(await history.first().textContent()).toContain('同一条消息中同时出现的标识');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lists the persons seen in the period before any lookup, re-sorts them, and opens one with a click, in Chinese', async () => {
    const day = 'from=2026-11-20&to=2026-11-20';
    const { page, errors } = await openPage(browser, `${t.url}/people?project=${t.projectId}&${day}`, {
      locale: 'zh-CN',
      cookies,
    });
    await settled(page);
    expect(await page.getByText('本期出现的人员').count()).toBe(1);
    // Named by a name trait, else by the user id; the most recently seen first.
    expect(await cellTexts(page, 'persons-table', 1)).toEqual(['u-bob', '爱喝茶的鱼', 'u-alice']);
    expect(await page.locator('[data-testid="persons-table"]').textContent()).toContain('共 3 人');
    await page.locator('[data-testid="persons-sort"]').getByText('事件最多').click();
    await expect.poll(() => cellTexts(page, 'persons-table', 1)).toEqual(['爱喝茶的鱼', 'u-alice', 'u-bob']);
    expect(await cellTexts(page, 'persons-table', 3)).toEqual(['3', '2', '1']);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('events');
    // Only those who viewed a page: Alice, once.
    await page.locator('[data-testid="persons-did"] input').fill('$pageview');
    await page.locator('[data-testid="persons-did"] input').press('Enter');
    await expect.poll(() => cellTexts(page, 'persons-table', 1)).toEqual(['u-alice']);
    expect(await cellTexts(page, 'persons-table', 3)).toEqual(['1']);
    await page.locator('[data-testid="persons-did"] input').fill('');
    await page.locator('[data-testid="persons-did"] input').press('Enter');
    await expect.poll(() => cellTexts(page, 'persons-table', 1)).toEqual(['爱喝茶的鱼', 'u-alice', 'u-bob']);
    // A click opens the person: the WeChat user with both devices' ids.
    await page.locator('[data-testid="persons-table"] tbody tr.ant-table-row').first().click();
    await page.locator('[data-testid="person-ids"]').waitFor();
    expect(await cellTexts(page, 'person-ids', 1)).toEqual(
      expect.arrayContaining(['mini-device', 'channels-device']),
    );
    // Back returns to the list as it was.
    await page.goBack();
    await expect.poll(() => cellTexts(page, 'persons-table', 1)).toEqual(['爱喝茶的鱼', 'u-alice', 'u-bob']);
    expect(errors).toEqual([]);
    await page.context().close();

    // Nobody on a platform the story never used.
    const other = await openPage(browser, `${t.url}/people?project=${t.projectId}&${day}&platform=douyin`, {
      cookies,
    });
    await other.page.locator('[data-testid="persons-none"]').waitFor();
    expect(other.errors).toEqual([]);
    await other.page.context().close();
  });

  it("shows times and the default dates in the project's time zone, wherever the browser is", async () => {
    // 01:30 on 21 November in Shanghai, the project's zone; still 20 November in New York and in UTC.
    const { page, errors } = await openPage(browser, `${t.url}/people?project=${t.projectId}`, {
      locale: 'zh-CN',
      cookies,
      timezoneId: 'America/New_York',
      fixedTime: Date.parse('2026-11-20T17:30:00Z'),
    });
    await settled(page);
    expect(await page.locator('[data-testid="project-timezone"]').textContent()).toBe('Asia/Shanghai');
    // The last 30 days up to yesterday in Shanghai: the story's day is the last one (antd puts the
    // test id on both inputs).
    const range = page.locator('input[data-testid="date-range"]');
    expect(await range.nth(0).inputValue()).toBe('2026-10-22');
    expect(await range.nth(1).inputValue()).toBe('2026-11-20');
    // Bob was last seen at 08:05 UTC: 16:05 in Shanghai (03:05 in New York).
    const people = await cellTexts(page, 'persons-table', 1);
    const lastSeen = await cellTexts(page, 'persons-table', 2);
    expect(lastSeen[people.indexOf('u-bob')]).toBe('2026/11/20 16:05:00');

    // Bob's sign-in on the tablet, a conflict: on the page, and as spreadsheets read a time in the CSV.
    await page.goto(`${t.url}/people?project=${t.projectId}&tab=conflicts`);
    await settled(page);
    expect(await cellTexts(page, 'conflicts-table', 1)).toEqual(['2026/11/20 16:05:00']);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="conflicts-table"]').getByText('导出 CSV').click(),
    ]);
    const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
    expect(csv[1]).toMatch(/^2026-11-20 16:05:00,u-bob,tablet-1,/);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lists the conflicts with their count; an id in it leads to that person, and on to its events', async () => {
    const { page, errors } = await openPage(browser, `${t.url}/people?project=${t.projectId}&tab=conflicts`, {
      cookies,
    });
    await settled(page);
    expect(await page.locator('[data-testid="conflict-count"]').allInnerTexts()).toEqual(['1']);
    const row = page.locator('[data-testid="conflicts-table"] tbody tr.ant-table-row');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.allInnerTexts()).toEqual([
      expect.stringMatching(/u-bob\s+tablet-1\s+a new user id arrived/),
    ]);

    // The other side of the conflict: the tablet's person, Alice, with Bob kept off her ids.
    await row.getByText('tablet-1').click();
    await page.waitForSelector('[data-testid="person-ids"]');
    await settled(page);
    expect(page.url()).toContain('id=tablet-1');
    expect((await cellTexts(page, 'person-ids', 1)).sort()).toEqual(['tablet-1', 'u-alice']);
    expect(await cellTexts(page, 'person-history', 2)).toEqual(['Conflict']);

    const personId = (await page.locator('[data-testid="person-id"]').textContent()) ?? '';
    await page.getByText("This person's events").click();
    await page.waitForSelector('[data-testid="latest-events"]');
    await settled(page);
    expect(page.url()).toContain(`person=${personId}`);
    expect(page.url()).toContain(`project=${t.projectId}`);
    const senders = await cellTexts(page, 'latest-events', 3);
    expect(senders.length).toBeGreaterThan(0);
    expect(senders.every((s) => s === 'tablet-1' || s === 'u-alice')).toBe(true);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('finds a person by the e-mail typed into the search box, which is kept only as a join id', async () => {
    const { page, errors } = await openPage(browser, `${t.url}/people?project=${t.projectId}`, { cookies });
    await page.locator('[data-testid="person-search"] input').fill('tea.lover@example.com');
    await page.locator('[data-testid="person-search"] input').press('Enter');
    await page.waitForSelector('[data-testid="person-matched"]');
    await settled(page);
    expect(page.url()).toContain(`id=${encodeURIComponent('tea.lover@example.com')}`);
    expect(await page.locator('[data-testid="person-matched"]').textContent()).toMatch(
      /tea\.lover@example\.com → email(_k)?:/,
    );
    expect(await cellTexts(page, 'person-ids', 1)).toContain('mini-device');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('pages through more conflicts than one answer holds with "load older"', async () => {
    const busy = await t.newProject('Busy kiosk');
    const start = Date.parse('2026-11-01T00:00:00Z');
    const batch = [
      {
        type: 'identify',
        anonymousId: 'kiosk-x',
        userId: 'owner-x',
        timestamp: new Date(start).toISOString(),
      },
    ];
    for (let i = 1; i <= 230; i++) {
      batch.push({
        type: 'identify',
        anonymousId: 'kiosk-x',
        userId: `visitor-${i}`,
        timestamp: new Date(start + i * 60_000).toISOString(),
      });
    }
    const response = await t.collect('/v1/batch', { batch }, busy.writeKey);
    expect(response.status).toBe(200);
    await t.settle();
    const { page, errors } = await openPage(
      browser,
      `${t.url}/people?project=${busy.projectId}&tab=conflicts`,
      {
        cookies,
      },
    );
    await settled(page);
    const older = page.locator('[data-testid="conflicts-older"]');
    expect(await older.textContent()).toContain('(200 / 230)');
    await older.click();
    await expect.poll(() => older.count()).toBe(0);
    // Page by page through the table (20 rows a page): the oldest conflict is the first visitor's.
    await page.locator('[data-testid="conflicts-table"] .ant-pagination-item').last().click();
    const ids = await cellTexts(page, 'conflicts-table', 2);
    expect(ids[ids.length - 1]).toBe('visitor-1');
    expect(
      await page.locator('[data-testid="conflicts-table"] .ant-pagination-item').last().textContent(),
    ).toBe('12');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('merges the two persons of a conflict known to be one, after showing both, in Chinese', async () => {
    // One shopper with a web-shop and an app account, both with the same phone number.
    const shop = await t.newProject('Two accounts');
    const phone = '+86 139 1111 2222';
    for (const [path, body] of [
      ['/v1/identify', { userId: 'shop-88', anonymousId: 'web-88', traits: { phone, name: 'Lin' } }],
      ['/v1/identify', { userId: 'app-88', anonymousId: 'app-dev-88', traits: { phone, city: '杭州' } }],
    ] as const) {
      expect((await t.collect(path, body, shop.writeKey)).status).toBe(200);
    }
    await t.settle();
    const { page, errors } = await openPage(
      browser,
      `${t.url}/people?project=${shop.projectId}&tab=conflicts`,
      {
        locale: 'zh-CN',
        cookies,
      },
    );
    await settled(page);
    await page.locator('[data-testid="merge-button"]').click();
    const modal = page.locator('[data-testid="merge-modal"]');
    await modal.locator('[data-testid="merge-person-1"]').waitFor();
    expect(await modal.textContent()).toContain('此操作无法撤销');
    // Both persons side by side; the older (the web-shop account, first linked) is kept unless changed.
    expect(await modal.locator('[data-testid="merge-person-0"]').textContent()).toContain('app-88');
    const older = modal.locator('[data-testid="merge-person-1"]');
    expect(await older.textContent()).toContain('shop-88');
    expect(await older.locator('.ant-radio-wrapper-checked').count()).toBe(1);
    await page.locator('[data-testid="merge-ok"]').click();

    // The kept person, with every id of both and the merge in its history.
    await page.waitForSelector('[data-testid="merge-done"]');
    await settled(page);
    expect(await page.locator('[data-testid="merge-done"]').textContent()).toMatch(/已将 app-88 并入此人员/);
    expect((await cellTexts(page, 'person-ids', 1)).sort()).toEqual(
      expect.arrayContaining(['app-88', 'app-dev-88', 'shop-88', 'web-88']),
    );
    const history = await page.locator('[data-testid="person-history"]').textContent();
    expect(history).toContain('手动合并');
    expect(history).toContain('已合并');
    // The conflict no longer needs a look; among all, it says it was merged, and offers no merge.
    await page.getByRole('tab', { name: /冲突/ }).click();
    await page.locator('[data-testid="no-conflicts"]').waitFor();
    expect(await page.locator('[data-testid="no-conflicts"]').textContent()).toContain('没有待处理的冲突');
    await page.locator('[data-testid="conflicts-show"]').getByText(/全部/).click();
    await page.locator('[data-testid="conflicts-table"] [data-testid="merged-since"]').waitFor();
    expect(await page.locator('[data-testid="conflicts-table"] [data-testid="merge-button"]').count()).toBe(
      0,
    );
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('keeps two people of a shared device apart by decision, which takes the conflict off the open list, and reopens it', async () => {
    const shop = await t.newProject('Shared kiosk');
    for (const userId of ['owner-k', 'guest-k']) {
      expect(
        (await t.collect('/v1/identify', { userId, anonymousId: 'kiosk-k' }, shop.writeKey)).status,
      ).toBe(200);
    }
    await t.settle();
    const { page, errors } = await openPage(
      browser,
      `${t.url}/people?project=${shop.projectId}&tab=conflicts`,
      {
        cookies,
      },
    );
    await settled(page);
    const count = page.locator('[data-testid="conflict-count"]');
    expect(await count.allInnerTexts()).toEqual(['1']);
    await page.locator('[data-testid="keep-apart-button"]').click();
    await page.locator('[data-testid="no-conflicts"]').waitFor();
    await expect.poll(() => count.allInnerTexts()).toEqual(['0']);
    expect(page.url()).not.toContain('show=all');

    await page.locator('[data-testid="conflicts-show"]').getByText(/^All/).click();
    await page.locator('[data-testid="kept-apart"]').waitFor();
    expect(page.url()).toContain('show=all');
    expect(await page.locator('[data-testid="kept-apart"]').textContent()).toBe('Kept apart (decided)');
    await page.locator('[data-testid="reopen-button"]').click();
    await page.locator('[data-testid="keep-apart-button"]').waitFor();
    await expect.poll(() => count.allInnerTexts()).toEqual(['1']);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('merges another person into the one shown, found by any id typed, after showing both', async () => {
    const crm = await t.newProject('CRM duplicates');
    for (const body of [
      { userId: 'crm-77', anonymousId: 'web-77', traits: { name: 'Zhou' } },
      { userId: 'taobao-77', anonymousId: 'shop-77' },
    ]) {
      expect((await t.collect('/v1/identify', body, crm.writeKey)).status).toBe(200);
    }
    await t.settle();
    const { page, errors } = await openPage(browser, `${t.url}/people?project=${crm.projectId}&id=crm-77`, {
      cookies,
    });
    await settled(page);
    await page.locator('[data-testid="merge-other"]').click();
    await page.locator('[data-testid="merge-other-id"] input').fill('shop-77');
    await page.locator('[data-testid="merge-other-id"] input').press('Enter');
    const modal = page.locator('[data-testid="merge-modal"]');
    await modal.locator('[data-testid="merge-person-1"]').waitFor();
    expect(await modal.locator('[data-testid="merge-person-1"]').textContent()).toContain('taobao-77');
    // The person shown is kept when it is the older one (first linked).
    await modal.locator('[data-testid="merge-person-0"] .ant-radio-wrapper').click();
    await page.locator('[data-testid="merge-ok"]').click();
    await page.waitForSelector('[data-testid="merge-done"]');
    await settled(page);
    expect((await cellTexts(page, 'person-ids', 1)).sort()).toEqual([
      'crm-77',
      'shop-77',
      'taobao-77',
      'web-77',
    ]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('says so when no person has the id asked for', async () => {
    const { page, errors } = await openPage(
      browser,
      `${t.url}/people?project=${t.projectId}&id=nobody-here`,
      {
        cookies,
      },
    );
    await settled(page);
    expect(await page.locator('[data-testid="person-not-found"]').textContent()).toContain(
      'No person has this id in this project.',
    );
    // The browser itself logs the API's 404 for the id; the page logs nothing else.
    expect(errors.filter((e) => !e.endsWith('status of 404 (Not Found)'))).toEqual([]);
    expect(errors).toHaveLength(1);
    await page.context().close();
  });
});
