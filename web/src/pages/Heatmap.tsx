import { Card, Col, Row, Segmented, Select, Space, Statistic, Typography } from 'antd';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import { type EventCatalog, heatStyle, useEventCatalog, useUrlOptions } from '../components/AnalysisKit';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { formatValue } from '../format';
import { useLang } from '../i18n';
import { platformFilters, useGlobalView } from '../state';
import type { HeatmapResult } from '../types';

const TEXT = {
  en: {
    events: 'Events',
    allEvents: 'All events',
    measure: 'Count',
    eventsMeasure: 'Events',
    personsMeasure: 'Unique persons',
    chart: 'Activity by weekday and hour',
    timeZone: 'Hours in the project time zone: {tz}',
    total: 'Total',
    totalPersons: 'Unique persons (whole range)',
    peak: 'Busiest hour',
    none: 'No activity',
    weekday: 'Weekday',
    hour: 'Hour',
    sum: 'Sum',
    table: 'Per weekday and hour',
  },
  zh: {
    events: '事件',
    allEvents: '全部事件',
    measure: '统计',
    eventsMeasure: '事件数',
    personsMeasure: '独立人数',
    chart: '按星期与小时的活跃度',
    timeZone: '小时按项目时区：{tz}',
    total: '总计',
    totalPersons: '独立人数（整个范围）',
    peak: '最活跃时段',
    none: '没有活跃',
    weekday: '星期',
    hour: '小时',
    sum: '合计',
    table: '按星期与小时',
  },
};

const DEFAULTS = { events: '', measure: 'events' };
const HOURS = Array.from({ length: 24 }, (_, h) => h);
const hourLabel = (h: number) => `${String(h).padStart(2, '0')}:00`;

/** Activity heatmap: weekday × hour in the project time zone, events or unique persons. */
export default function Heatmap() {
  const catalog = useEventCatalog();
  return (
    <PageState state={catalog} isEmpty={(c) => c.names.length === 0}>
      {(c) => <HeatmapView catalog={c} />}
    </PageState>
  );
}

function HeatmapView({ catalog }: { catalog: EventCatalog }) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const [options, setOptions] = useUrlOptions(DEFAULTS);
  const events = options.events ? options.events.split(',').filter(Boolean) : [];

  const heatmap = useAsync(
    () =>
      runAnalysis<HeatmapResult>(projectId!, 'heatmap', {
        dateRange: { from, to },
        measure: options.measure,
        ...(events.length ? { events } : {}),
        filters: platformFilters(view),
      }),
    [projectId, from, to, platformKey, options.events, options.measure],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small">
        <Space wrap size="large">
          <Space>
            <Typography.Text type="secondary">{text.events}</Typography.Text>
            <Select
              data-testid="heatmap-events"
              mode="multiple"
              allowClear
              showSearch
              style={{ minWidth: 320 }}
              placeholder={text.allEvents}
              value={events}
              options={[...new Set([...catalog.names, ...events])].map((n) => ({ value: n, label: n }))}
              onChange={(list: string[]) => setOptions({ events: list.join(',') })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.measure}</Typography.Text>
            <Segmented
              data-testid="heatmap-measure"
              value={options.measure}
              options={[
                { value: 'events', label: text.eventsMeasure },
                { value: 'persons', label: text.personsMeasure },
              ]}
              onChange={(m) => setOptions({ measure: m as string })}
            />
          </Space>
        </Space>
      </Card>
      <PageState state={heatmap} isEmpty={(d) => d.result.total === 0}>
        {({ result }) => <HeatmapResults result={result} timeZone={catalog.timeZone} />}
      </PageState>
    </Space>
  );
}

function HeatmapResults({ result, timeZone }: { result: HeatmapResult; timeZone: string }) {
  const lang = useLang();
  const text = TEXT[lang];
  const weekdays = result.weekdays.map((w) => w[lang]);
  const option = useMemo(() => {
    const names = result.weekdays.map((w) => w[lang]);
    return {
      tooltip: {
        position: 'top',
        formatter: (p: { value: [number, number, number] }) =>
          `${names[p.value[1]]} ${hourLabel(p.value[0])}: ${formatValue(p.value[2], 'integer', lang)}`,
      },
      grid: { left: 72, right: 24, top: 8, bottom: 72 },
      xAxis: { type: 'category', data: HOURS.map(hourLabel), splitArea: { show: true } },
      yAxis: { type: 'category', data: names, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: Math.max(1, result.max),
        calculable: true,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        inRange: { color: ['#f0f5ff', '#85a5ff', '#1d39c4'] },
      },
      series: [
        {
          name: result.measure,
          type: 'heatmap',
          data: result.values.flatMap((hours, day) => hours.map((v, h) => [h, day, v])),
          emphasis: { itemStyle: { shadowBlur: 8, shadowColor: 'rgba(0, 0, 0, 0.4)' } },
        },
      ],
    };
  }, [result, lang]);
  const peak = result.peak;
  const rows = result.values.map((hours, day) => ({
    weekday: weekdays[day] ?? '',
    ...Object.fromEntries(hours.map((v, h) => [`h${h}`, v])),
    // A sum of cells counts a person once per cell: only meaningful for events.
    sum: result.measure === 'events' ? hours.reduce((a, b) => a + b, 0) : null,
  }));

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Row gutter={[12, 12]}>
        <Col xs={12} md={8}>
          <Card size="small">
            <Statistic
              title={result.measure === 'events' ? text.total : text.totalPersons}
              value={formatValue(result.total, 'integer', lang)}
              data-testid="heatmap-total"
              data-value={result.total}
            />
          </Card>
        </Col>
        <Col xs={12} md={8}>
          <Card size="small">
            <Statistic
              title={text.peak}
              data-testid="heatmap-peak"
              value={
                peak
                  ? `${weekdays[peak.weekday]} ${hourLabel(peak.hour)} · ${formatValue(peak.value, 'integer', lang)}`
                  : text.none
              }
            />
          </Card>
        </Col>
      </Row>
      <Card title={text.chart}>
        <Typography.Text type="secondary" data-testid="heatmap-timezone">
          {text.timeZone.replace('{tz}', timeZone)}
        </Typography.Text>
        <Chart option={option} height={380} name="activity-heatmap" testId="heatmap-chart" />
      </Card>
      <Card title={text.table}>
        <DataTable
          testId="heatmap-table"
          name="activity-heatmap"
          rowKey="weekday"
          rows={rows}
          columns={[
            { title: text.weekday, dataIndex: 'weekday', fixed: 'left' },
            ...HOURS.map((h) => ({
              title: String(h),
              dataIndex: `h${h}`,
              align: 'center' as const,
              onCell: (row: Record<string, unknown>) => ({
                style: { ...heatStyle(Number(row[`h${h}`]) / Math.max(1, result.max)), padding: '4px 6px' },
              }),
            })),
            ...(result.measure === 'events' ? [{ title: text.sum, dataIndex: 'sum' }] : []),
          ]}
        />
      </Card>
    </Space>
  );
}
