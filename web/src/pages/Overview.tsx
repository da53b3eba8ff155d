import { ArrowDownOutlined, ArrowUpOutlined, WarningOutlined } from '@ant-design/icons';
import { Alert, Card, Col, List, Row, Space, Statistic, Typography } from 'antd';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { formatChange, formatValue, platformName } from '../format';
import { type Lang, useLang } from '../i18n';
import { platformFilters, useGlobalView } from '../state';
import type { LeaderboardRow, MetricInfo, TrendSeries, TrendsResult } from '../types';

export const KPI_METRICS = [
  'plays',
  'completion_rate',
  'interaction_rate',
  'follower_growth',
  'gmv',
  'orders',
  'roi',
  'roas',
] as const;

const TEXT = {
  en: {
    trend: 'Plays by platform',
    top: 'Top content',
    alerts: 'Alerts',
    noAlerts: 'Nothing unusual in this range.',
    vsPrev: 'vs previous period',
    spike: 'unusually high',
    dip: 'unusually low',
    unusual: '({how}, usually {typical})',
  },
  zh: {
    trend: '各平台播放量',
    top: '热门内容',
    alerts: '异常提醒',
    noAlerts: '该时间范围内没有异常。',
    vsPrev: '较上一周期',
    spike: '异常偏高',
    dip: '异常偏低',
    unusual: '（{how}，通常 {typical}）',
  },
};

const name = (m: MetricInfo | undefined, lang: Lang) => (m ? (lang === 'zh' ? m.zh : m.en) : '');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/**
 * Days where a platform's plays sit more than 4 robust z-scores from that platform's median (its
 * `typical` day, shown beside the value so that the reader sees how far off it is), most unusual first.
 */
function findAlerts(
  series: TrendSeries[],
): { platform: string; day: string; value: number; typical: number; z: number }[] {
  const alerts = [];
  for (const s of series) {
    const values = s.points.map((p) => p.value ?? 0);
    if (values.length < 7) continue;
    const m = median(values);
    const mad = median(values.map((v) => Math.abs(v - m))) || 1;
    for (const p of s.points) {
      const z = ((p.value ?? 0) - m) / (1.4826 * mad);
      if (Math.abs(z) > 4)
        alerts.push({ platform: s.breakdown?.[0] ?? '', day: p.t, value: p.value ?? 0, typical: m, z });
    }
  }
  return alerts.sort((a, b) => Math.abs(b.z) - Math.abs(a.z)).slice(0, 8);
}

/** The morning view: KPI cards with change and sparkline, plays by platform, top content, alerts. */
export default function Overview() {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const dateRange = { from, to };
  const filters = platformFilters(view);

  const kpis = useAsync(
    () =>
      runAnalysis<TrendsResult>(projectId!, 'trends', {
        metrics: KPI_METRICS,
        dateRange,
        granularity: 'day',
        compare: 'previous_period',
        filters,
      }),
    [projectId, from, to, platformKey],
  );
  const byPlatform = useAsync(
    () =>
      runAnalysis<TrendsResult>(projectId!, 'trends', {
        metrics: ['plays'],
        dimensions: ['platform'],
        dateRange,
        granularity: 'day',
        breakdownLimit: 8,
        filters,
      }),
    [projectId, from, to, platformKey],
  );
  const top = useAsync(
    () =>
      runAnalysis<{ rows: LeaderboardRow[] }>(projectId!, 'content_leaderboard', {
        dateRange,
        sort: { by: 'plays', direction: 'desc' },
        ...(view.platforms.length ? { filters: { platforms: view.platforms } } : {}),
        limit: 8,
      }),
    [projectId, from, to, platformKey],
  );

  const trendOption = useMemo(() => {
    const r = byPlatform.data?.result;
    if (!r) return undefined;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: r.buckets },
      yAxis: { type: 'value' },
      series: r.series.map((s) => ({
        name: s.breakdown?.[0] ? platformName(s.breakdown[0], lang) : s.metric,
        type: 'line',
        smooth: true,
        showSymbol: false,
        data: s.points.map((p) => p.value),
      })),
    };
  }, [byPlatform.data, lang]);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <PageState state={kpis}>
        {({ result }) => (
          <Row gutter={[12, 12]} data-testid="kpi-cards">
            {KPI_METRICS.map((id) => {
              const info = result.metrics.find((m) => m.id === id);
              const series = result.series.find((s) => s.metric === id && !s.breakdown);
              const change = series?.changePercent ?? null;
              const good = change === null ? undefined : change >= 0 === (info?.higherIsBetter ?? true);
              return (
                <Col key={id} xs={12} md={8} xl={6}>
                  <Card size="small" data-testid={`kpi-${id}`} data-value={series?.total ?? ''}>
                    <Statistic
                      title={name(info, lang)}
                      value={formatValue(series?.total, info?.format ?? 'integer', lang, result.currency)}
                    />
                    <Typography.Text type={good === undefined ? 'secondary' : good ? 'success' : 'danger'}>
                      {change !== null && (change >= 0 ? <ArrowUpOutlined /> : <ArrowDownOutlined />)}{' '}
                      {formatChange(change)} <Typography.Text type="secondary">{text.vsPrev}</Typography.Text>
                    </Typography.Text>
                    <Sparkline values={series?.points.map((p) => p.value ?? 0) ?? []} />
                  </Card>
                </Col>
              );
            })}
          </Row>
        )}
      </PageState>
      <Row gutter={[12, 12]}>
        <Col xs={24} xl={16}>
          <Card title={text.trend}>
            <PageState state={byPlatform} isEmpty={(d) => d.result.series.length === 0}>
              {() =>
                trendOption ? (
                  <Chart option={trendOption} name="plays-by-platform" testId="trend-chart" />
                ) : null
              }
            </PageState>
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={text.alerts}>
            <PageState state={byPlatform}>
              {({ result }) => {
                const alerts = findAlerts(result.series);
                if (alerts.length === 0) return <Alert type="success" message={text.noAlerts} />;
                return (
                  <List
                    size="small"
                    data-testid="alerts"
                    dataSource={alerts}
                    renderItem={(a) => (
                      <List.Item>
                        <Space>
                          <WarningOutlined style={{ color: '#faad14' }} />
                          <span>
                            {a.day} · {platformName(a.platform, lang)} ·{' '}
                            {formatValue(a.value, 'integer', lang)}{' '}
                            {text.unusual
                              .replace('{how}', a.z > 0 ? text.spike : text.dip)
                              .replace('{typical}', formatValue(a.typical, 'integer', lang))}
                          </span>
                        </Space>
                      </List.Item>
                    )}
                  />
                );
              }}
            </PageState>
          </Card>
        </Col>
      </Row>
      <Card title={text.top}>
        <PageState state={top} isEmpty={(d) => d.result.rows.length === 0}>
          {({ result }) => (
            <DataTable
              testId="top-content"
              name="top-content"
              rowKey="contentId"
              rows={result.rows.map((r) => ({ ...r, ...r.metrics }))}
              columns={[
                { title: lang === 'zh' ? '标题' : 'Title', dataIndex: 'title', ellipsis: true },
                {
                  title: lang === 'zh' ? '平台' : 'Platform',
                  dataIndex: 'platform',
                  render: (v: string) => platformName(v, lang),
                },
                {
                  title: lang === 'zh' ? '播放量' : 'Plays',
                  dataIndex: 'plays',
                  render: (v: number) => formatValue(v, 'integer', lang),
                },
                {
                  title: lang === 'zh' ? '互动率' : 'Interaction rate',
                  dataIndex: 'interaction_rate',
                  render: (v: number | null) => formatValue(v, 'percent', lang),
                },
                {
                  title: lang === 'zh' ? '热度指数' : 'Heat index',
                  dataIndex: 'heat_index',
                  render: (v: number | null) => formatValue(v, 'decimal', lang),
                },
              ]}
            />
          )}
        </PageState>
      </Card>
    </Space>
  );
}

/** A tiny inline SVG line: KPI cards stay light (no chart library for eight sparklines). */
function Sparkline({ values }: { values: number[] }) {
  if (values.length < 2) return null;
  const max = Math.max(...values);
  const min = Math.min(...values);
  const span = max - min || 1;
  const points = values
    .map((v, i) => `${(i / (values.length - 1)) * 100},${28 - ((v - min) / span) * 26}`)
    .join(' ');
  return (
    <svg
      viewBox="0 0 100 30"
      preserveAspectRatio="none"
      style={{ width: '100%', height: 30, marginTop: 4 }}
      aria-hidden
    >
      <polyline
        points={points}
        fill="none"
        stroke="#1677ff"
        strokeWidth="1.5"
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}
