import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daysBackFrom } from '../support/project-days.js';
import { ARTIFACTS, type DashboardHarness, openPage, startDashboardHarness } from './dashboard-support.js';

// The analysis pages (funnels, retention, paths, heatmap, distributions) in Debian's chromium
// against a real server on a small demo world: what they show equals what the API answers for the
// same query, a copied link restores the view, and nothing writes to the console.
let h: DashboardHarness;

beforeAll(async () => {
  h = await startDashboardHarness();
}, 120_000);
afterAll(() => h?.close());

// The dashboard's default range (state.ts): the 30 days up to yesterday in the project's time zone
// (the demo's, Asia/Shanghai), spelled out so the test sends the API exactly the range the page uses.
const day = daysBackFrom('Asia/Shanghai');
const TO = day(1);
const FROM = day(30);
const RANGE = { from: FROM, to: TO };

async function api<T>(kind: string, body: unknown): Promise<T> {
  const response = await h.api(`/api/v1/projects/${h.demoProjectId}/analyses/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: T }).result;
}

/** `data-value` of every element matching `selector`, in document order, as numbers. */
async function values(page: Page, selector: string): Promise<number[]> {
  const raw = await page.locator(selector).evaluateAll((els) => els.map((e) => e.getAttribute('data-value')));
  return raw.map(Number);
}

async function dataValue(page: Page, testId: string): Promise<number> {
  return Number(await page.locator(`[data-testid="${testId}"]`).getAttribute('data-value'));
}

/** Opens a copied link in a fresh browser context (nothing shared but a signed-in colleague's session). */
async function openShared(url: string, locale: string) {
  const opened = await openPage(h.browser, url, { locale, cookies: h.cookies });
  await settled(opened.page);
  return opened;
}

/**
 * Waits until every data view has loaded and every chart has drawn. Polls with locators rather
 * than a string predicate: the dashboard's Content-Security-Policy forbids evaluating strings.
 */
async function settled(page: Page): Promise<void> {
  await page
    .locator('[data-testid="state-ready"], [data-testid="state-empty"], [data-testid="state-error"]')
    .first()
    .waitFor();
  const deadline = performance.now() + 30_000;
  for (;;) {
    const busy = await page
      .locator('[data-testid="state-loading"], [data-testid="state-refreshing"]')
      .count();
    const drawing = await page.locator('[data-chart]:not([data-rendered="true"])').count();
    if (busy === 0 && drawing === 0) return;
    if (performance.now() > deadline) throw new Error(`${page.url()} did not settle within 30 s`);
    await page.waitForTimeout(50);
  }
}

/** Charts animate in; screenshots wait for the end. */
const calm = (page: Page) => page.waitForTimeout(700);

interface FunnelStep {
  count: number;
  droppedFromPrevious: number;
}

describe('analysis pages', () => {
  it('funnels: step counts and dropped persons equal the API; the builder and a shared link keep the funnel', async () => {
    const steps = [
      { event: 'product_viewed', filters: [{ field: 'platform', op: 'eq', value: 'web' }] },
      { event: 'add_to_cart' },
      { event: 'order_completed' },
    ];
    // The link names the steps without the filter; the filter is added in the builder.
    const unfiltered = steps.map((s) => ({ event: s.event }));
    const { page, errors, screenshot } = await h.open('/funnels', {
      locale: 'en-US',
      query: { ...RANGE, steps: JSON.stringify(unfiltered), window: String(7 * 86_400) },
    });
    await settled(page);
    await page.locator('[data-testid="funnel-step-filter-1"]').click();
    await page.getByPlaceholder('Value').fill('web');
    await page.locator('[data-testid="funnel-step-filter-1-add"]').click();
    await page.waitForURL(/platform/);
    await settled(page);
    const body = {
      dateRange: RANGE,
      steps,
      order: 'sequential',
      windowSeconds: 7 * 86_400,
      conversionOverTime: { granularity: 'day' },
    };
    const expected = await api<{
      steps: FunnelStep[];
      conversionOverTime: { periods: { period: string; complete: boolean }[] };
    }>('funnels', body);
    expect(expected.steps[0]!.count).toBeGreaterThan(0);
    // The range ends yesterday: the entrants of its last week are still within the 7-day window,
    // which the page says under the chart (the dashed part of the line).
    const periods = expected.conversionOverTime.periods;
    // Final: the days whose last entrants' 7 days had passed by the start of today (read now: the
    // file may have started before midnight in Shanghai).
    const lastFinal = daysBackFrom('Asia/Shanghai')(8);
    expect(periods.map((p) => p.complete)).toEqual(periods.map((p) => p.period <= lastFinal));
    expect(periods.at(-1)?.complete).toBe(false);
    expect(await page.locator('[data-testid="funnel-not-final"]').textContent()).toContain(
      'still within the conversion window',
    );
    // The view refreshes after the URL changes: wait until it shows the filtered funnel.
    const counts = expected.steps.map((s) => s.count);
    await expect
      .poll(() => values(page, '[data-testid^="funnel-count-"]'), { timeout: 20_000 })
      .toEqual(counts);
    const shown = counts;
    // The step filter shows in the builder.
    await expect(page.locator('[data-testid="funnel-step-1"]').textContent()).resolves.toContain(
      'platform = web',
    );

    // Clicking step 2's drop-off lists the persons who viewed but did not add to cart.
    await page.locator('[data-testid="funnel-drop-2"]').click();
    await page.waitForURL(/dropStep=2/);
    await page.locator('[data-testid="dropped-persons"]').waitFor();
    await settled(page);
    const dropped = await api<{ dropped: { total: number; persons: string[] } }>('funnels', {
      ...body,
      dropped: { step: 2, limit: 500 },
    });
    expect(await dataValue(page, 'dropped-persons')).toBe(expected.steps[1]!.droppedFromPrevious);
    expect(dropped.dropped.total).toBe(expected.steps[1]!.droppedFromPrevious);
    const firstRows = await page
      .locator('[data-testid="dropped-persons"] tbody tr.ant-table-row')
      .evaluateAll((rows) => rows.map((r) => (r.textContent ?? '').trim()));
    expect(firstRows.length).toBeGreaterThan(0);
    expect(firstRows).toEqual(dropped.dropped.persons.slice(0, firstRows.length));
    await calm(page);
    await screenshot('analysis-funnels-en-US');

    // A shared link, in Chinese, shows the same funnel and the same drop-off list.
    const shared = await openShared(page.url(), 'zh-CN');
    expect(await values(shared.page, '[data-testid^="funnel-count-"]')).toEqual(shown);
    expect(await dataValue(shared.page, 'dropped-persons')).toBe(expected.steps[1]!.droppedFromPrevious);
    expect(await shared.page.locator('[data-testid="funnel-chart"]').count()).toBe(1);
    await expect(shared.page.getByText('漏斗步骤').count()).resolves.toBeGreaterThan(0);
    await calm(shared.page);
    await shared.page.screenshot({ path: join(ARTIFACTS, 'analysis-funnels-zh-CN.png'), fullPage: true });

    // The builder: moving step 3 up swaps it with step 2, in the URL and in the result.
    await shared.page.locator('[data-testid="funnel-step-3"] button[aria-label="上移"]').click();
    await shared.page.waitForURL(/order_completed.*add_to_cart/);
    await settled(shared.page);
    const swapped = await api<{ steps: FunnelStep[] }>('funnels', {
      ...body,
      steps: [steps[0], steps[2], steps[1]],
    });
    await expect
      .poll(() => values(shared.page, '[data-testid^="funnel-count-"]'), { timeout: 20_000 })
      .toEqual(swapped.steps.map((s) => s.count));
    expect(await shared.page.locator('[data-testid="funnel-step-2"]').textContent()).toContain(
      'order_completed',
    );
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await page.context().close();
    await shared.page.context().close();
  });

  it('retention: cohort sizes and the average equal the API, and a shared link restores the options', async () => {
    const query = { ...RANGE, start: 'app_opened', ret: 'video_played', n: '4', mode: 'unbounded' };
    const { page, errors, screenshot } = await h.open('/retention', { locale: 'zh-CN', query });
    await settled(page);
    const expected = await api<{
      cohorts: { cohort: string; size: number; values: number[]; ended: number }[];
      average: { size: number };
    }>('retention', {
      dateRange: RANGE,
      startEvent: { event: 'app_opened' },
      returnEvent: { event: 'video_played' },
      period: 'week',
      periods: 4,
      mode: 'unbounded',
      cohortType: 'first_time',
    });
    expect(expected.average.size).toBeGreaterThan(0);
    const sizes = await values(page, '[data-testid^="retention-size-"]');
    expect(sizes).toEqual([expected.average.size, ...expected.cohorts.map((c) => c.size)]);
    // The range ends yesterday: recent cohorts have values that are not final (unbounded: every
    // period until the cohort's last one has ended), each cell of them marked dashed.
    const inProgress = expected.cohorts.reduce((n, c) => n + c.values.length - c.ended, 0);
    expect(inProgress).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="retention-table"] td[data-in-progress="true"]').count()).toBe(
      inProgress,
    );
    expect(await page.getByText('虚线框：尚未最终的数据').count()).toBe(1);
    // Four periods after period 0, as asked.
    await expect(page.locator('[data-testid="retention-table"] thead th').allInnerTexts()).resolves.toContain(
      '第 4 周',
    );
    await calm(page);
    await screenshot('analysis-retention-zh-CN');

    const shared = await openShared(page.url(), 'en-US');
    expect(await values(shared.page, '[data-testid^="retention-size-"]')).toEqual(sizes);
    expect(
      await shared.page.locator('[data-testid="retention-mode"] .ant-segmented-item-selected').textContent(),
    ).toBe('On period N or later');
    expect(await shared.page.locator('[data-testid="retention-start"]').textContent()).toContain(
      'app_opened',
    );
    await calm(shared.page);
    await shared.page.screenshot({ path: join(ARTIFACTS, 'analysis-retention-en-US.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await page.context().close();
    await shared.page.context().close();
  });

  it('paths: the total and the top paths equal the API, and a shared link restores direction and depth', async () => {
    const query = { ...RANGE, start: 'order_completed', dir: 'before', depth: '3' };
    const { page, errors, screenshot } = await h.open('/paths', { locale: 'en-US', query });
    await settled(page);
    const expected = await api<{ total: number; topPaths: { path: string[]; count: number }[] }>('paths', {
      dateRange: RANGE,
      start: { event: 'order_completed' },
      direction: 'before',
      depth: 3,
      pagePaths: false,
      collapseRepeats: true,
    });
    expect(expected.total).toBeGreaterThan(0);
    expect(await dataValue(page, 'paths-total')).toBe(expected.total);
    expect(await values(page, '[data-testid^="paths-top-count-"]')).toEqual(
      expected.topPaths.slice(0, 20).map((p) => p.count),
    );
    // Paths before the start event end with it.
    const firstPath = await page
      .locator('[data-testid="paths-top"] tbody tr.ant-table-row')
      .first()
      .textContent();
    expect(firstPath).toContain(expected.topPaths[0]!.path.join(' → '));
    await calm(page);
    await screenshot('analysis-paths-en-US');

    const shared = await openShared(page.url(), 'zh-CN');
    expect(await dataValue(shared.page, 'paths-total')).toBe(expected.total);
    expect(
      await shared.page.locator('[data-testid="paths-direction"] .ant-segmented-item-selected').textContent(),
    ).toBe('之前经历了什么');
    expect(
      await shared.page
        .locator('input[data-testid="paths-depth"], [data-testid="paths-depth"] input')
        .inputValue(),
    ).toBe('3');
    await calm(shared.page);
    await shared.page.screenshot({ path: join(ARTIFACTS, 'analysis-paths-zh-CN.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await page.context().close();
    await shared.page.context().close();
  });

  it('heatmap: the total and every weekday × hour cell equal the API, and a shared link keeps events and measure', async () => {
    const query = { ...RANGE, events: 'video_played,product_viewed', measure: 'persons' };
    const { page, errors, screenshot } = await h.open('/heatmap', { locale: 'zh-CN', query });
    await settled(page);
    const expected = await api<{ total: number; values: number[][] }>('heatmap', {
      dateRange: RANGE,
      measure: 'persons',
      events: ['video_played', 'product_viewed'],
    });
    expect(expected.total).toBeGreaterThan(0);
    expect(await dataValue(page, 'heatmap-total')).toBe(expected.total);
    const cells = await page
      .locator('[data-testid="heatmap-table"] tbody tr.ant-table-row')
      .evaluateAll((rows) =>
        rows.map((r) => [...r.querySelectorAll('td')].slice(1).map((td) => Number(td.textContent))),
      );
    expect(cells).toEqual(expected.values);
    expect(await page.locator('[data-testid="heatmap-timezone"]').textContent()).toContain('Asia/Shanghai');
    await calm(page);
    await screenshot('analysis-heatmap-zh-CN');

    const shared = await openShared(page.url(), 'en-US');
    expect(await dataValue(shared.page, 'heatmap-total')).toBe(expected.total);
    expect(
      await shared.page.locator('[data-testid="heatmap-measure"] .ant-segmented-item-selected').textContent(),
    ).toBe('Unique persons');
    const chosen = await shared.page
      .locator('[data-testid="heatmap-events"] .ant-select-selection-item')
      .allInnerTexts();
    expect(chosen.map((c) => c.trim())).toEqual(['video_played', 'product_viewed']);
    await calm(shared.page);
    await shared.page.screenshot({ path: join(ARTIFACTS, 'analysis-heatmap-en-US.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await page.context().close();
    await shared.page.context().close();
  });

  it('distributions: frequency, interval, stickiness and lifecycle equal the API; tabs live in the URL', async () => {
    const query = { ...RANGE, event: 'app_opened', max: '5' };
    const { page, errors, screenshot } = await h.open('/distribution', { locale: 'en-US', query });
    await settled(page);
    const frequency = await api<{ buckets: { persons: number }[]; stats: { persons: number } }>(
      'distribution',
      { dateRange: RANGE, event: { event: 'app_opened' }, maxCount: 5 },
    );
    expect(frequency.stats.persons).toBeGreaterThan(0);
    expect(await dataValue(page, 'distribution-persons')).toBe(frequency.stats.persons);
    expect(await values(page, '[data-testid^="frequency-table-"]')).toEqual(
      frequency.buckets.map((b) => b.persons),
    );
    await calm(page);
    await screenshot('analysis-distribution-frequency-en-US');

    // Stickiness of the same event: the tab is a click away and lands in the URL.
    await page.getByRole('tab', { name: 'Stickiness' }).click();
    await page.waitForURL(/tab=stickiness/);
    await settled(page);
    const stickiness = await api<{ persons: number }>('stickiness', {
      dateRange: RANGE,
      event: { event: 'app_opened' },
    });
    expect(await dataValue(page, 'stickiness-persons')).toBe(stickiness.persons);
    await calm(page);
    await screenshot('analysis-distribution-stickiness-en-US');

    // Interval and lifecycle from shared links, in Chinese.
    const base = new URL(page.url());
    base.searchParams.set('tab', 'interval');
    base.searchParams.set('ia', 'signed_up');
    base.searchParams.set('ib', 'order_completed');
    base.searchParams.set('unit', 'day');
    const interval = await openShared(base.toString(), 'zh-CN');
    const expectedInterval = await api<{
      persons: number;
      converted: number;
      buckets: { persons: number }[];
    }>('interval', {
      dateRange: RANGE,
      fromEvent: { event: 'signed_up' },
      toEvent: { event: 'order_completed' },
      unit: 'day',
      windowDays: 30,
    });
    expect(expectedInterval.persons).toBeGreaterThan(0);
    expect(await dataValue(interval.page, 'interval-persons')).toBe(expectedInterval.persons);
    expect(await dataValue(interval.page, 'interval-converted')).toBe(expectedInterval.converted);
    expect(await values(interval.page, '[data-testid^="interval-table-"]')).toEqual(
      expectedInterval.buckets.map((b) => b.persons),
    );
    expect(
      await interval.page.locator('[data-testid="interval-unit"] .ant-segmented-item-selected').textContent(),
    ).toBe('天');
    await calm(interval.page);
    await interval.page.screenshot({
      path: join(ARTIFACTS, 'analysis-distribution-interval-zh-CN.png'),
      fullPage: true,
    });

    base.searchParams.set('tab', 'lifecycle');
    base.searchParams.set('lperiod', 'week');
    const lifecycle = await openShared(base.toString(), 'zh-CN');
    const expectedLifecycle = await api<{
      periods: { period: string; new: number; returning: number; resurrecting: number; dormant: number }[];
    }>('lifecycle', { dateRange: RANGE, event: { event: 'app_opened' }, period: 'week' });
    expect(expectedLifecycle.periods.length).toBeGreaterThan(0);
    for (const kind of ['new', 'returning', 'resurrecting', 'dormant'] as const) {
      expect(await values(lifecycle.page, `[data-testid^="lifecycle-${kind}-"]`)).toEqual(
        expectedLifecycle.periods.map((p) => p[kind]),
      );
    }
    await calm(lifecycle.page);
    await lifecycle.page.screenshot({
      path: join(ARTIFACTS, 'analysis-distribution-lifecycle-zh-CN.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    expect(interval.errors).toEqual([]);
    expect(lifecycle.errors).toEqual([]);
    await page.context().close();
    await interval.page.context().close();
    await lifecycle.page.context().close();
  });
  it('the global platform filter narrows every page to the chosen platforms and travels with a shared link', async () => {
    const douyin = [{ field: 'platform', op: 'in', value: ['douyin'] }];
    const everyPlatform = await api<{ total: number }>('heatmap', { dateRange: RANGE, measure: 'events' });
    const narrowed = await api<{ total: number }>('heatmap', {
      dateRange: RANGE,
      measure: 'events',
      filters: douyin,
    });
    expect(narrowed.total).toBeGreaterThan(0);
    expect(narrowed.total).toBeLessThan(everyPlatform.total);

    const { page, errors, screenshot } = await h.open('/heatmap', { locale: 'en-US', query: { ...RANGE } });
    await settled(page);
    expect(await dataValue(page, 'heatmap-total')).toBe(everyPlatform.total);
    await page.locator('[data-testid="platform-filter"]').click();
    await page.getByTitle('Douyin', { exact: true }).click();
    await page.waitForURL(/platform=douyin/);
    await page.keyboard.press('Escape');
    await expect.poll(() => dataValue(page, 'heatmap-total')).toBe(narrowed.total);

    // The menu keeps the filter: the overview's plays are Douyin's plays.
    const trends = await api<{ series: { metric: string; breakdown?: unknown; total: number }[] }>('trends', {
      metrics: ['plays'],
      dateRange: RANGE,
      granularity: 'day',
      filters: douyin,
    });
    const plays = trends.series.find((s) => s.metric === 'plays' && !s.breakdown)!.total;
    expect(plays).toBeGreaterThan(0);
    await page.locator('[data-testid="nav"]').getByText('Overview').click();
    await expect.poll(() => dataValue(page, 'kpi-plays')).toBeCloseTo(plays, 6);

    await page.locator('[data-testid="nav"]').getByText('Content').click();
    const rows = page.locator('[data-testid="content-leaderboard"] tbody tr.ant-table-row');
    await rows.first().waitFor();
    await settled(page);
    const platforms = await rows.locator('.ant-tag').allTextContents();
    expect(platforms.length).toBeGreaterThan(0);
    expect(new Set(platforms)).toEqual(new Set(['Douyin']));
    await calm(page);
    await screenshot('global-platform-filter-en-US');

    const shared = await openShared(page.url(), 'zh-CN');
    const chosen = await shared.page
      .locator('[data-testid="platform-filter"] .ant-select-selection-item')
      .allInnerTexts();
    // The responsive tag list keeps a hidden "+ N …" counter next to the chosen platforms.
    expect(chosen.map((c) => c.trim()).filter((c) => !c.startsWith('+'))).toEqual(['抖音']);
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await page.context().close();
    await shared.page.context().close();
  });
});
