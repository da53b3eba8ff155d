import { Card, Checkbox, Col, Row, Segmented, Select, Space, Typography } from 'antd';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { channelName, formatValue, valueName } from '../format';
import { useLang } from '../i18n';
import { platformFilters, useGlobalView, useUrlState } from '../state';
import type { TrendsResult } from '../types';

const AD_METRICS = [
  'ad_spend',
  'ad_revenue',
  'roas',
  'roi',
  'ad_impressions',
  'clicks',
  'ctr',
  'cpc',
  'cpm',
  'cpa',
  'ad_conversions',
] as const;
const MODELS = [
  'first_touch',
  'last_touch',
  'last_non_direct',
  'linear',
  'time_decay',
  'position_based',
  'markov',
  'shapley',
] as const;
type Model = (typeof MODELS)[number];

const TEXT = {
  en: {
    spendRevenue: 'Ad spend vs platform-reported revenue',
    byGroup: 'Performance by',
    channel: 'Channel',
    campaign_id: 'Campaign',
    platform: 'Platform',
    attribution: 'Attribution of orders',
    models: 'Models',
    measure: 'Show',
    conversions: 'Credited orders',
    revenue: 'Credited revenue',
    roas: 'ROAS',
    lookback: 'Lookback',
    days: 'days',
    spend: 'Spend',
    value: 'Channel',
    first_touch: 'First touch',
    last_touch: 'Last touch',
    last_non_direct: 'Last non-direct',
    linear: 'Linear',
    time_decay: 'Time decay',
    position_based: 'Position-based',
    markov: 'Markov chain',
    shapley: 'Shapley',
    ad_spend: 'Spend',
    ad_revenue: 'Revenue',
    ad_impressions: 'Impressions',
    clicks: 'Clicks',
    ctr: 'CTR',
    cpc: 'CPC',
    cpm: 'CPM',
    cpa: 'CPA',
    ad_conversions: 'Conversions',
    roi: 'ROI',
  },
  zh: {
    spendRevenue: '广告消耗与平台回传收入',
    byGroup: '分组',
    channel: '渠道',
    campaign_id: '广告活动',
    platform: '平台',
    attribution: '订单归因',
    models: '模型',
    measure: '指标',
    conversions: '归因订单数',
    revenue: '归因收入',
    roas: 'ROAS',
    lookback: '回溯窗口',
    days: '天',
    spend: '消耗',
    value: '渠道',
    first_touch: '首次触点',
    last_touch: '末次触点',
    last_non_direct: '末次非直接',
    linear: '线性',
    time_decay: '时间衰减',
    position_based: '位置（U 型）',
    markov: '马尔可夫链',
    shapley: 'Shapley 值',
    ad_spend: '消耗',
    ad_revenue: '收入',
    ad_impressions: '展示',
    clicks: '点击',
    ctr: '点击率',
    cpc: '点击成本',
    cpm: '千次展示成本',
    cpa: '转化成本',
    ad_conversions: '转化数',
    roi: 'ROI',
  },
};

interface AttributionRow {
  value: string;
  spend: number | null;
  models: Record<string, { conversions: number; revenue: number; roi: number | null; roas: number | null }>;
}

/** Spend vs revenue, ROI/ROAS per channel and campaign, and attribution models side by side. */
export default function Campaigns() {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const filters = platformFilters(view);
  const url = useUrlState();
  const group = (url.get('group') ?? 'channel') as 'channel' | 'campaign_id' | 'platform';
  const models = (url
    .get('models')
    ?.split(',')
    .filter((m): m is Model => (MODELS as readonly string[]).includes(m)) ?? [
    'last_touch',
    'linear',
    'markov',
    'shapley',
  ]) as Model[];
  const measure = (url.get('measure') ?? 'conversions') as 'conversions' | 'revenue' | 'roas';
  const lookback = Number(url.get('lookback') ?? '30');
  const dateRange = { from, to };

  const daily = useAsync(
    () =>
      runAnalysis<TrendsResult>(projectId!, 'trends', {
        metrics: ['ad_spend', 'ad_revenue', 'roas'],
        dateRange,
        granularity: 'day',
        filters,
      }),
    [projectId, from, to, platformKey],
  );
  const grouped = useAsync(
    () =>
      runAnalysis<TrendsResult>(projectId!, 'trends', {
        metrics: [...AD_METRICS],
        dimensions: [group],
        dateRange,
        granularity: 'total',
        breakdownLimit: 30,
        filters,
      }),
    [projectId, from, to, platformKey, group],
  );
  const attribution = useAsync(
    () =>
      runAnalysis<{ currency: string; rows: AttributionRow[] }>(projectId!, 'attribution', {
        dateRange,
        conversion: { source: 'orders' },
        touch: { dimension: 'channel', ...(filters.length ? { filters } : {}) },
        lookbackDays: lookback,
      }),
    [projectId, from, to, platformKey, lookback],
  );

  const dailyOption = useMemo(() => {
    const r = daily.data?.result;
    if (!r) return undefined;
    const series = (id: string) =>
      r.series.find((s) => s.metric === id && !s.breakdown)?.points.map((p) => p.value) ?? [];
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 64, right: 48, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: r.buckets },
      yAxis: [{ type: 'value' }, { type: 'value', name: 'ROAS' }],
      series: [
        { name: text.ad_spend, type: 'bar', data: series('ad_spend') },
        { name: text.ad_revenue, type: 'bar', data: series('ad_revenue') },
        { name: 'ROAS', type: 'line', yAxisIndex: 1, data: series('roas') },
      ],
    };
  }, [daily.data, text]);

  const attributionOption = useMemo(() => {
    const rows = attribution.data?.result.rows;
    if (!rows) return undefined;
    const pick = (r: AttributionRow, m: Model) => r.models[m]?.[measure] ?? null;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 64, right: 16, top: 36, bottom: 48 },
      xAxis: {
        type: 'category',
        data: rows.map((r) => channelName(r.value, lang)),
        axisLabel: { rotate: 30 },
      },
      yAxis: { type: 'value' },
      series: models.map((m) => ({ name: text[m], type: 'bar', data: rows.map((r) => pick(r, m)) })),
    };
  }, [attribution.data, models, measure, text, lang]);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={text.spendRevenue}>
        <PageState state={daily} isEmpty={(d) => d.result.series.length === 0}>
          {() =>
            dailyOption ? <Chart option={dailyOption} name="spend-revenue" testId="spend-chart" /> : null
          }
        </PageState>
      </Card>
      <Card
        title={text.byGroup}
        extra={
          <Segmented
            data-testid="campaign-group"
            value={group}
            options={(['channel', 'campaign_id', 'platform'] as const).map((g) => ({
              value: g,
              label: text[g],
            }))}
            onChange={(v) => url.set({ group: v as string })}
          />
        }
      >
        <PageState state={grouped} isEmpty={(d) => d.result.series.length === 0}>
          {({ result }) => {
            const keys = [...new Set(result.series.map((s) => s.breakdown?.[0] ?? ''))];
            const rows = keys.map((key) => {
              const row: Record<string, unknown> = { key };
              for (const m of AD_METRICS)
                row[m] = result.series.find((s) => s.metric === m && s.breakdown?.[0] === key)?.total ?? null;
              return row;
            });
            const format = (id: string) => result.metrics.find((m) => m.id === id)?.format ?? 'integer';
            return (
              <DataTable
                testId="campaign-table"
                name={`ads-by-${group}`}
                rowKey="key"
                rows={rows}
                columns={[
                  {
                    title: text[group],
                    dataIndex: 'key',
                    render: (v: string) => valueName(group, v, lang),
                  },
                  ...AD_METRICS.map((m) => ({
                    title: text[m],
                    dataIndex: m,
                    sorter: (a: Record<string, unknown>, b: Record<string, unknown>) =>
                      Number(a[m] ?? 0) - Number(b[m] ?? 0),
                    render: (v: number | null) => formatValue(v, format(m), lang, result.currency),
                  })),
                ]}
              />
            );
          }}
        </PageState>
      </Card>
      <Card title={text.attribution}>
        <Space wrap style={{ marginBottom: 12 }}>
          <Typography.Text>{text.models}</Typography.Text>
          <Checkbox.Group
            data-testid="model-switcher"
            value={models}
            options={MODELS.map((m) => ({ value: m, label: text[m] }))}
            onChange={(v) => url.set({ models: (v as string[]).join(',') || undefined })}
          />
          <Typography.Text>{text.measure}</Typography.Text>
          <Segmented
            value={measure}
            options={(['conversions', 'revenue', 'roas'] as const).map((m) => ({ value: m, label: text[m] }))}
            onChange={(v) => url.set({ measure: v as string })}
          />
          <Typography.Text>{text.lookback}</Typography.Text>
          <Select
            value={lookback}
            style={{ width: 100 }}
            options={[7, 14, 30, 60, 90].map((d) => ({ value: d, label: `${d} ${text.days}` }))}
            onChange={(v) => url.set({ lookback: String(v) })}
          />
        </Space>
        <PageState state={attribution} isEmpty={(d) => d.result.rows.length === 0}>
          {({ result }) => (
            <Row gutter={[12, 12]}>
              <Col span={24}>
                {attributionOption && (
                  <Chart option={attributionOption} name="attribution" testId="attribution-chart" />
                )}
              </Col>
              <Col span={24}>
                <DataTable
                  testId="attribution-table"
                  name="attribution"
                  rowKey="value"
                  rows={result.rows.map((r) => {
                    const row: Record<string, unknown> = { value: r.value, spend: r.spend };
                    for (const m of models) row[m] = r.models[m]?.[measure] ?? null;
                    return row;
                  })}
                  columns={[
                    { title: text.value, dataIndex: 'value', render: (v: string) => channelName(v, lang) },
                    {
                      title: text.spend,
                      dataIndex: 'spend',
                      render: (v: number | null) => formatValue(v, 'currency', lang, result.currency),
                    },
                    ...models.map((m) => ({
                      title: text[m],
                      dataIndex: m,
                      render: (v: number | null) =>
                        formatValue(
                          v,
                          measure === 'revenue' ? 'currency' : measure === 'roas' ? 'decimal' : 'decimal',
                          lang,
                          result.currency,
                        ),
                    })),
                  ]}
                />
              </Col>
            </Row>
          )}
        </PageState>
      </Card>
    </Space>
  );
}
