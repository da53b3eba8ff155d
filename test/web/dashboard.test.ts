import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_OWNER_EMAIL } from '../../src/cli/demo.js';
import { setAsideRows } from '../../src/collect/set-aside.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { FactsQueryError } from '../../src/store/facts/engine.js';
import { writeEventBinary } from '../../src/store/facts/event-binary.js';
import { EMPTY_EVENT } from '../support/event-rows.js';
import { basicAuth } from '../support/server.js';
import {
  ARTIFACTS,
  type DashboardHarness,
  DEMO_PASSWORD,
  settled,
  startDashboardHarness,
} from './dashboard-support.js';

// Every page of the dashboard in Debian's chromium against a real server on a small demo world.
let h: DashboardHarness;

beforeAll(async () => {
  h = await startDashboardHarness();
}, 120_000);
afterAll(() => h?.close());

const PAGES = [
  'overview',
  'content',
  'campaigns',
  'funnels',
  'retention',
  'paths',
  'heatmap',
  'distribution',
  'events',
  'people',
  'sources',
  'settings',
];

describe('dashboard', () => {
  it.each(PAGES)('opens %s without console errors, in both languages', async (path) => {
    for (const locale of ['en-US', 'zh-CN']) {
      const { page, errors, screenshot } = await h.open(`/${path}`, { locale });
      await settled(page);
      await screenshot(`${path}-${locale}`);
      expect(errors).toEqual([]);
      expect(await page.locator('[data-testid="state-error"]').count()).toBe(0);
      await page.context().close();
    }
  });

  it("runs under the server's content security policy without violations", async () => {
    const context = await h.browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies(h.cookies);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${h.server.url}/overview?project=${h.demoProjectId}`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('[data-testid="kpi-cards"]');
    await page.waitForSelector('[data-chart][data-rendered="true"]');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("lists as alerts the days far from a platform's usual plays, each with its usual day beside it", async () => {
    const range = { from: '2026-09-01', to: '2026-10-31' };
    const { page, errors } = await h.open('/overview', { query: range });
    await settled(page);
    const api = await h.api(`/api/v1/projects/${h.demoProjectId}/analyses/trends`, {
      method: 'POST',
      body: JSON.stringify({
        metrics: ['plays'],
        dimensions: ['platform'],
        dateRange: range,
        granularity: 'day',
        breakdownLimit: 8,
      }),
    });
    const { result } = (await api.json()) as {
      result: { series: { breakdown: string[] | null; points: { t: string; value: number | null }[] }[] };
    };
    const median = (values: number[]) => {
      const s = [...values].sort((a, b) => a - b);
      const mid = Math.floor(s.length / 2);
      return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    };
    // Plays as the page writes them: 1,234, or 1.6M from 100,000 on.
    const shown = (v: number) =>
      new Intl.NumberFormat(
        'en-US',
        v >= 1e5 ? { notation: 'compact', maximumFractionDigits: 1 } : {},
      ).format(Math.round(v));
    const alerts = await page.locator('[data-testid="alerts"] .ant-list-item').allInnerTexts();
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) {
      const [, day, value, typical] =
        /^(\d{4}-\d{2}-\d{2}) · .+ · ([\d.,KM]+) \(unusually (?:high|low), usually ([\d.,KM]+)\)$/.exec(
          alert.trim(),
        ) ?? [];
      expect(day, alert).toBeDefined();
      // The platform whose plays that day were the value shown; its usual day is its median day.
      const series = result.series.find(
        (s) => shown(s.points.find((p) => p.t === day)?.value ?? -1) === value,
      );
      expect(series, alert).toBeDefined();
      expect(typical, alert).toBe(shown(median(series!.points.map((p) => p.value ?? 0))));
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows on the overview the numbers the API answers for the same query', async () => {
    const range = { from: '2026-10-01', to: '2026-10-31' };
    const { page } = await h.open('/overview', { query: range });
    await settled(page);
    const api = await h.api(`/api/v1/projects/${h.demoProjectId}/analyses/trends`, {
      method: 'POST',
      body: JSON.stringify({
        metrics: [
          'plays',
          'completion_rate',
          'interaction_rate',
          'follower_growth',
          'gmv',
          'orders',
          'roi',
          'roas',
        ],
        dateRange: range,
        granularity: 'day',
        compare: 'previous_period',
      }),
    });
    const { result } = (await api.json()) as {
      result: { series: { metric: string; breakdown: unknown; total: number | null }[] };
    };
    for (const id of ['plays', 'gmv', 'orders', 'roas']) {
      const expected = result.series.find((s) => s.metric === id && !s.breakdown)?.total;
      expect(expected, id).toBeGreaterThan(0);
      const shown = await page.locator(`[data-testid="kpi-${id}"]`).getAttribute('data-value');
      expect(Number(shown), id).toBeCloseTo(expected!, 6);
    }
    await page.context().close();
  });

  it('lists the content leaderboard the API answers, sorted as asked', async () => {
    const range = { from: '2026-10-01', to: '2026-10-31' };
    const { page } = await h.open('/content', { query: { ...range, sort: 'shares' } });
    await settled(page);
    const api = await h.api(`/api/v1/projects/${h.demoProjectId}/analyses/content_leaderboard`, {
      method: 'POST',
      body: JSON.stringify({ dateRange: range, sort: { by: 'shares', direction: 'desc' }, limit: 20 }),
    });
    const { result } = (await api.json()) as {
      result: { rows: { title: string; publishedAt: string | null }[] };
    };
    const titles = await page
      .locator('[data-testid="content-leaderboard"] tbody tr.ant-table-row td:first-child')
      .allTextContents();
    expect(titles.slice(0, 5)).toEqual(result.rows.slice(0, 5).map((r) => r.title));
    expect(result.rows.slice(0, 5).every((r) => r.publishedAt !== null)).toBe(true);
    // Published to the minute in the project's time zone (Asia/Shanghai, UTC+8; the browser's is UTC).
    const published = await page
      .locator('[data-testid="content-leaderboard"] tbody tr.ant-table-row td:nth-child(3)')
      .allTextContents();
    const inShanghai = (iso: string) =>
      new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(published.slice(0, 5)).toEqual(
      result.rows.slice(0, 5).map((r) => (r.publishedAt ? inShanghai(r.publishedAt) : '')),
    );
    await page.context().close();
  });

  const CHANNELS_EN: Record<string, string> = {
    paid_social: 'Paid social',
    organic_social: 'Organic social',
    paid_search: 'Paid search',
    organic_search: 'Organic search',
    email: 'Email',
    sms: 'SMS',
    referral: 'Referral',
    direct: 'Direct',
    kol: 'KOL',
    share: 'Shared links',
    other: 'Other',
  };

  it('names platforms and channels as people say them, in Chinese too, not by their ids', async () => {
    const range = { from: '2026-10-01', to: '2026-10-31' };
    const overview = await h.open('/overview', { query: range, locale: 'zh-CN' });
    await settled(overview.page);
    const platformCells = await overview.page
      .locator('[data-testid="top-content"] tbody tr.ant-table-row td:nth-child(2)')
      .allTextContents();
    expect(platformCells.length).toBeGreaterThan(0);
    const chinesePlatforms = new Set([
      '抖音',
      '快手',
      '小红书',
      '视频号',
      '哔哩哔哩',
      '微博',
      '网站',
      '应用',
    ]);
    expect(platformCells.filter((cell) => !chinesePlatforms.has(cell))).toEqual([]);
    await overview.page.context().close();

    const events = await h.open('/events', { locale: 'zh-CN' });
    await settled(events.page);
    const rows = events.page.locator('tbody tr.ant-table-row');
    await rows.first().waitFor();
    const channels = await rows.locator('td:nth-child(5)').allTextContents();
    expect(channels.length).toBeGreaterThan(0);
    // No raw id such as organic_social is left; every channel reads in Chinese.
    expect(channels.filter((cell) => !/^[\u4e00-\u9fff（）A-Z]+$/.test(cell))).toEqual([]);
    await events.page.context().close();
  });

  it('shows on the campaigns page the attribution credits the API answers', async () => {
    const range = { from: '2026-10-01', to: '2026-10-31' };
    const { page } = await h.open('/campaigns', { query: { ...range, models: 'linear,shapley' } });
    await settled(page);
    const api = await h.api(`/api/v1/projects/${h.demoProjectId}/analyses/attribution`, {
      method: 'POST',
      body: JSON.stringify({
        dateRange: range,
        conversion: { source: 'orders' },
        touch: { dimension: 'channel' },
        lookbackDays: 30,
      }),
    });
    const { result } = (await api.json()) as {
      result: { rows: { value: string; models: Record<string, { conversions: number }> }[] };
    };
    const rows = await page.locator('[data-testid="attribution-table"] tbody tr.ant-table-row').all();
    expect(rows.length).toBe(result.rows.length);
    for (const [i, row] of rows.entries()) {
      const cells = await row.locator('td').allTextContents();
      const expected = result.rows[i]!;
      // The channel as marketers name it, not its id.
      expect(cells[0]).toBe(CHANNELS_EN[expected.value] ?? expected.value);
      // The page shows two decimals, rounded half up on the decimal value (58.765 → 58.77): within
      // half a hundredth of the API's number, the half included (toBeCloseTo(…, 2) excludes it).
      const shownAs = (shown: string | undefined, value: number) =>
        expect(Math.abs(Number(shown) - value)).toBeLessThanOrEqual(0.005 + 1e-9);
      shownAs(cells[2], expected.models.linear!.conversions);
      shownAs(cells[3], expected.models.shapley!.conversions);
    }
    await page.context().close();
  });

  it.each(PAGES)('shows no English label on %s once switched to Chinese', async (path) => {
    const { page } = await h.open(`/${path}`, {
      locale: 'en-US',
      query: { from: '2026-10-01', to: '2026-10-31' },
    });
    await settled(page);
    const LABELS =
      '.ant-card-head-title, th, .ant-tabs-tab, .ant-segmented-item-label, .ant-statistic-title, button, .ant-menu-title-content, .ant-select-selection-placeholder, .ant-empty-description, .ant-checkbox-wrapper';
    const labels = async () =>
      (await page.locator(LABELS).allTextContents())
        .map((t) => t.trim())
        .filter((t) => /[A-Za-z]{2,}/.test(t));
    const english = new Set(await labels());
    await page.locator('[data-testid="lang-switch"]').getByText('中文').click();
    await settled(page);
    // Names that stay as they are in Chinese interfaces (metric acronyms, file formats, the language itself).
    const universal = /^(English|ROAS|ROI|GMV|CTR|CPC|CPM|CPA|CSV|PNG|SDK|UTM|Shapley 值|\$other|[a-z_]+)$/;
    const untranslated = (await labels()).filter((t) => english.has(t) && !universal.test(t));
    expect(untranslated).toEqual([]);
    await page.context().close();
  });

  // One test a page: all pages in one test took 48 of its 60 s on a 2-core host.
  it.each(PAGES)('fits a tablet screen: %s does not scroll sideways at 820 px', async (path) => {
    const { page } = await h.open(`/${path}`, { query: { from: '2026-10-01', to: '2026-10-31' } });
    await page.setViewportSize({ width: 820, height: 1180 });
    await settled(page);
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow, path).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${ARTIFACTS}/${path}-tablet.png` });
    await page.context().close();
  });

  it('switches every navigation label between English and Chinese', async () => {
    const { page } = await h.open('/overview', { locale: 'en-US' });
    await settled(page);
    const labels = () => page.locator('[data-testid="nav"] .ant-menu-title-content').allInnerTexts();
    const english = await labels();
    expect(english).toContain('Overview');
    await page.locator('[data-testid="lang-switch"]').getByText('中文').click();
    const chinese = await labels();
    expect(chinese).toContain('概览');
    expect(chinese.every((label, i) => label !== english[i])).toBe(true);
    await page.context().close();
  });

  it('restores a filtered events view from a shared link', async () => {
    const first = await h.open('/events');
    await settled(first.page);
    await first.page.locator('[data-testid="filter-event"] input').fill('order_completed');
    await first.page.locator('[data-testid="filter-event"] input').press('Enter');
    await first.page.waitForURL(/event=order_completed/);
    const shared = first.page.url();
    await first.page.context().close();

    // Someone without a session opens the link: the sign-in page, then the same view.
    const context = await h.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(shared);
    await page.locator('[data-testid="login-form"]').waitFor();
    await page.locator('[data-testid="login-email"]').fill(DEMO_OWNER_EMAIL);
    await page.locator('[data-testid="login-password"]').fill(DEMO_PASSWORD);
    await page.locator('[data-testid="login-submit"]').click();
    await page.waitForURL(shared);
    await settled(page);
    expect(await page.locator('[data-testid="filter-event"] input').inputValue()).toBe('order_completed');
    const names = await page.locator('[data-testid="latest-events"] .ant-tag').allInnerTexts();
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names)).toEqual(new Set(['order_completed']));
    await context.close();
  });

  it('shows an event in the live stream as it arrives', async () => {
    const { page } = await h.open('/events');
    await settled(page);
    await page.getByRole('tab', { name: /Live stream/ }).click();
    const sources = (await (await h.api(`/api/v1/projects/${h.demoProjectId}/sources`)).json()) as {
      sources: { writeKeys: { key: string }[] }[];
    };
    const key = sources.sources[0]!.writeKeys[0]!.key;
    // The stream shows what arrives after it connects; the badge says when it has.
    await page.locator('[data-testid="live-state"][data-state="connected"]').waitFor();
    const response = await fetch(`${h.server.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(key) },
      body: JSON.stringify({ event: 'dashboard_live_check', userId: 'live-user' }),
    });
    expect(response.status).toBe(200);
    await page.locator('[data-testid="live-events"]').getByText('dashboard_live_check').waitFor();
    await page.context().close();
  });

  it('imports a platform export through the upload, with the row-error report', async () => {
    // A Douyin creator-centre export as people download it: title line, 万 numbers, a bad cell, a total row.
    const file = join(tmpdir(), `douyin-${Date.now()}.csv`);
    const lines = [
      '数据导出 2026-11-01',
      '作品名称,作品ID,日期,播放量,完播率,点赞量,评论量,分享量',
      '上传测试一,upload-v1,2026-11-01,1.2万,35%,300,12,5',
      '上传测试二,upload-v2,2026-11-01,lots,20%,10,1,0',
      '合计,,,12000,,310,13,5',
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const { page, errors } = await h.open('/sources');
    await settled(page);
    await page.locator('input[type="file"]').setInputFiles(file);
    await page.locator('[data-testid="import-summary"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="import-imported"]').textContent()).toBe('1');
    expect(await page.locator('[data-testid="import-quarantined"]').textContent()).toBe('1');
    expect(await page.locator('[data-testid="import-errors"]').textContent()).toContain('lots');
    expect(await page.locator('[data-testid="import-detected"]').textContent()).toContain('content_stats');
    const [stored] = await h.server.server.facts.query<{ plays: string }>(
      `SELECT plays FROM content_stats FINAL WHERE project_id = {p:String} AND content_id = 'upload-v1'`,
      { p: h.demoProjectId },
    );
    expect(Number(stored?.plays)).toBe(12_000);
    expect(errors).toEqual([]);
    await page.context().close();

    // The refused row waits in the quarantine, its reason in the reader's language.
    const zh = await h.open('/events', { locale: 'zh-CN' });
    await zh.page.getByRole('tab', { name: '隔离区' }).click();
    const reason = zh.page.locator('[data-testid="quarantine-table"] tr', { hasText: 'upload-v2' }).first();
    await reason.waitFor({ timeout: 30_000 });
    expect(await reason.textContent()).toContain('列“播放量”（plays）：“lots”');
    expect(await reason.textContent()).not.toContain('column "播放量"');
    expect(zh.errors).toEqual([]);
    await zh.page.context().close();
  });

  it('imports a post list without a date once the day of its numbers is picked', async () => {
    const file = join(tmpdir(), `douyin-list-${Date.now()}.csv`);
    writeFileSync(file, '作品名称,作品ID,播放量,点赞量\n日期测试,dated-v1,900,9\n');
    const { page, errors } = await h.open('/sources', { locale: 'zh-CN' });
    await settled(page);
    await page.locator('input[type="file"]').setInputFiles(file);
    // Refused, saying what is missing and how to give it.
    await page.locator('.ant-alert-error').waitFor({ timeout: 30_000 });
    expect(await page.locator('.ant-alert-error').textContent()).toBe(
      '文件中没有数据所属的日期：请在上方选择数据日期后重新上传。',
    );
    await page.locator('input[data-testid="import-day"]').click();
    await page.locator('input[data-testid="import-day"]').fill('2026-11-05');
    await page.locator('input[data-testid="import-day"]').press('Enter');
    await page.locator('input[type="file"]').setInputFiles(file);
    await page.locator('[data-testid="import-summary"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="import-imported"]').textContent()).toBe('1');
    const [stored] = await h.server.server.facts.query<{ date: string; plays: string }>(
      `SELECT toString(date) AS date, plays FROM content_stats FINAL WHERE project_id = {p:String} AND content_id = 'dated-v1'`,
      { p: h.demoProjectId },
    );
    expect(stored).toEqual({ date: '2026-11-05', plays: expect.anything() });
    expect(Number(stored?.plays)).toBe(900);
    // The refusal is an answer of the API (a 400), which the console reports; nothing else.
    expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
    await page.context().close();
  });

  it('stores again, with one click, the rows the store refused', async () => {
    const sink = new ByteSink(64);
    writeEventBinary(sink, {
      ...EMPTY_EVENT,
      project_id: h.demoProjectId,
      message_id: 'ui-refused',
      event: 'ui_retry',
    });
    const record = { table: 'events', rows: sink.copyAndReset(), rowCount: 1, format: 'RowBinary' } as const;
    const refusal = new FactsQueryError('Code: 6. Cannot parse text', 6, 'INSERT INTO events');
    await h.server.server.facts.insertJsonEachRow('quarantine', setAsideRows(record, 'ui', refusal).payload);

    const { page, errors, screenshot } = await h.open('/events');
    await page.getByRole('tab', { name: 'Quarantine' }).click();
    const button = page.locator('[data-testid="quarantine-retry"]');
    await button.waitFor({ timeout: 30_000 });
    await screenshot('events-quarantine-refused');
    await button.click();
    const message = page.locator('[data-testid="quarantine-retry-message"]');
    await message.waitFor({ timeout: 30_000 });
    expect(await message.textContent()).toContain('Stored: 1 · refused again: 0 · unreadable: 0.');
    await screenshot('events-quarantine-retried');
    const stored = await h.server.server.facts.query<{ message_id: string }>(
      "SELECT message_id FROM events WHERE project_id = {p:String} AND event = 'ui_retry'",
      { p: h.demoProjectId },
    );
    expect(stored).toEqual([{ message_id: 'ui-refused' }]);
    // Nothing refused is left, so the button goes.
    await button.waitFor({ state: 'detached', timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe('sign-in', () => {
  it('shows the retention periods and the audit log the API holds, and saves a changed period', async () => {
    const base = `/api/v1/projects/${h.demoProjectId}`;
    const before = (await (await h.api(`${base}/retention`)).json()) as {
      retention: Record<string, number | null>;
    };
    const { page, errors, screenshot } = await h.open('/settings');
    await page.locator('[data-testid="retention-events"]').waitFor();
    for (const [kind, days] of Object.entries(before.retention)) {
      expect(await page.locator(`[data-testid="retention-${kind}"]`).getAttribute('data-value'), kind).toBe(
        days === null ? '' : String(days),
      );
    }
    await page
      .locator('input[data-testid="retention-comments"], [data-testid="retention-comments"] input')
      .fill('730');
    await page.locator('[data-testid="retention-save"]').click();
    await page.locator('[data-testid="retention-message"]').waitFor();
    const after = (await (await h.api(`${base}/retention`)).json()) as {
      retention: Record<string, number | null>;
    };
    expect(after.retention.comments).toBe(730);

    const audit = (await (await h.api(`${base}/audit?limit=50`)).json()) as { entries: { action: string }[] };
    expect(audit.entries[0]?.action).toBe('retention.set');
    await page.reload();
    const firstAction = page
      .locator('[data-testid="audit-table"] tbody tr.ant-table-row')
      .first()
      .locator('td')
      .nth(2);
    await firstAction.waitFor();
    expect((await firstAction.textContent())?.trim()).toBe('retention.set');
    await screenshot('settings-en-US');
    expect(errors).toEqual([]);
    await page.context().close();
    // Leave the demo project as it was for the other tests.
    await h.api(`${base}/retention`, {
      method: 'PUT',
      body: JSON.stringify({ comments: before.retention.comments }),
    });
  });

  it('shows the sign-in page in both languages to a visitor, refuses a wrong password, and signs out', async () => {
    for (const [locale, title] of [
      ['en-US', 'Sign in'],
      ['zh-CN', '登录'],
    ] as const) {
      const { page, errors } = await h.open('/overview', { locale, signedIn: false });
      await page.locator('[data-testid="login-form"]').waitFor();
      expect(await page.locator('[data-testid="login-title"]').textContent()).toBe(title);
      expect(await page.locator('[data-testid="nav"]').count()).toBe(0);
      // A visitor's requests were refused (401) before the page showed the form.
      expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
      await page.context().close();
    }

    const { page } = await h.open('/overview', { signedIn: false });
    await page.locator('[data-testid="login-email"]').fill(DEMO_OWNER_EMAIL);
    await page.locator('[data-testid="login-password"]').fill('not the password');
    await page.locator('[data-testid="login-submit"]').click();
    await page.locator('[data-testid="login-error"]').waitFor();
    expect(await page.locator('[data-testid="login-error"]').textContent()).toMatch(/password|密码/i);

    await page.locator('[data-testid="login-password"]').fill(DEMO_PASSWORD);
    await page.locator('[data-testid="login-submit"]').click();
    await settled(page);
    expect(await page.locator('[data-testid="current-user"]').textContent()).toContain(DEMO_OWNER_EMAIL);
    await page.locator('[data-testid="logout"]').click();
    await page.locator('[data-testid="login-form"]').waitFor();
    // The session is gone on the server too.
    const me = await page.evaluate(`fetch('/api/v1/auth/me').then((r) => r.status)`);
    expect(me).toBe(401);
    await page.context().close();
  });
});
