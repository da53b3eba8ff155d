import { Card, InputNumber, Segmented, Select, Space, Typography } from 'antd';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import {
  type EventCatalog,
  EventPicker,
  heatStyle,
  pickEvent,
  useEventCatalog,
  useUrlOptions,
} from '../components/AnalysisKit';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { formatValue } from '../format';
import { type Lang, useLang } from '../i18n';
import { narrowed, useGlobalView } from '../state';
import type { RetentionResult } from '../types';

const TEXT = {
  en: {
    startEvent: 'Start event',
    returnEvent: 'Return event',
    sameAsStart: 'Same as start event',
    period: 'Period',
    day: 'Day',
    week: 'Week',
    month: 'Month',
    periods: 'Periods',
    mode: 'Counting',
    bounded: 'On exactly period N',
    unbounded: 'On period N or later',
    cohortType: 'Cohort',
    first_time: 'First time ever',
    first_in_range: 'First time in range',
    recurring: 'Every period',
    table: 'Cohort retention',
    curve: 'Retention curve',
    cohort: 'Cohort',
    size: 'Persons',
    average: 'Average',
    rate: 'Retained',
    hint: 'Share of each cohort that came back; darker is higher. Hover a cell for the number of persons.',
    inProgress:
      " Dashed: not final yet, today's period (on period N or later: every period until the cohort's last one has ended); the average leaves them out.",
    periodLabel: { day: 'Day {n}', week: 'Week {n}', month: 'Month {n}' },
  },
  zh: {
    startEvent: '起始事件',
    returnEvent: '回访事件',
    sameAsStart: '与起始事件相同',
    period: '周期',
    day: '日',
    week: '周',
    month: '月',
    periods: '周期数',
    mode: '计算方式',
    bounded: '恰好第 N 期回访',
    unbounded: '第 N 期及以后回访',
    cohortType: '同期群',
    first_time: '首次发生',
    first_in_range: '范围内首次',
    recurring: '每个周期',
    table: '同期群留存',
    curve: '留存曲线',
    cohort: '同期群',
    size: '人数',
    average: '平均',
    rate: '留存率',
    hint: '各同期群回访的比例，颜色越深比例越高。鼠标悬停可查看人数。',
    inProgress:
      '虚线框：尚未最终的数据，即今天所在的周期（“第 N 期及以后回访”时：同期群最后一期结束之前的所有周期），平均值不含这些格。',
    periodLabel: { day: '第 {n} 天', week: '第 {n} 周', month: '第 {n} 月' },
  },
};

const DEFAULTS = {
  start: '',
  ret: '',
  period: 'week',
  n: 8,
  mode: 'bounded',
  cohort: 'first_time',
};
const PREFERRED_START = ['app_opened', 'signed_up', '$pageview'];
const MAX_PERIODS = 90;

export function periodLabel(period: string, n: number, lang: Lang): string {
  const labels = TEXT[lang].periodLabel;
  return (labels[period as keyof typeof labels] ?? labels.day).replace('{n}', String(n));
}

/** Retention: a cohort heat table (with the average row) and the average retention curve. */
export default function Retention() {
  const catalog = useEventCatalog();
  return (
    <PageState state={catalog} isEmpty={(c) => c.names.length === 0}>
      {(c) => <RetentionView catalog={c} />}
    </PageState>
  );
}

function RetentionView({ catalog }: { catalog: EventCatalog }) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const [options, setOptions] = useUrlOptions(DEFAULTS);
  const start = options.start || pickEvent(catalog, PREFERRED_START);
  const periods = Math.min(MAX_PERIODS, Math.max(1, Math.round(options.n)));

  const retention = useAsync(
    () =>
      runAnalysis<RetentionResult>(projectId!, 'retention', {
        dateRange: { from, to },
        startEvent: narrowed({ event: start }, view),
        returnEvent: narrowed({ event: options.ret || start }, view),
        period: options.period,
        periods,
        mode: options.mode,
        cohortType: options.cohort,
      }),
    [
      projectId,
      from,
      to,
      platformKey,
      start,
      options.ret,
      options.period,
      periods,
      options.mode,
      options.cohort,
    ],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small">
        <Space wrap size="large">
          <Space>
            <Typography.Text type="secondary">{text.startEvent}</Typography.Text>
            <EventPicker
              catalog={catalog}
              value={start}
              testId="retention-start"
              onChange={(e) => setOptions({ start: e })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.returnEvent}</Typography.Text>
            <EventPicker
              catalog={catalog}
              value={options.ret}
              allowAny
              anyLabel={text.sameAsStart}
              testId="retention-return"
              onChange={(e) => setOptions({ ret: e })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.period}</Typography.Text>
            <Segmented
              data-testid="retention-period"
              value={options.period}
              options={(['day', 'week', 'month'] as const).map((p) => ({ value: p, label: text[p] }))}
              onChange={(p) => setOptions({ period: p as string })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.periods}</Typography.Text>
            <InputNumber
              data-testid="retention-periods"
              min={1}
              max={MAX_PERIODS}
              value={periods}
              onChange={(v) => typeof v === 'number' && setOptions({ n: v })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.mode}</Typography.Text>
            <Segmented
              data-testid="retention-mode"
              value={options.mode}
              options={[
                { value: 'bounded', label: text.bounded },
                { value: 'unbounded', label: text.unbounded },
              ]}
              onChange={(m) => setOptions({ mode: m as string })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.cohortType}</Typography.Text>
            <Select
              data-testid="retention-cohort-type"
              style={{ width: 160 }}
              value={options.cohort}
              options={(['first_time', 'first_in_range', 'recurring'] as const).map((c) => ({
                value: c,
                label: text[c],
              }))}
              onChange={(c) => setOptions({ cohort: c })}
            />
          </Space>
        </Space>
      </Card>
      <PageState state={retention} isEmpty={(d) => d.result.average.size === 0}>
        {({ result }) => <RetentionResults result={result} />}
      </PageState>
    </Space>
  );
}

function RetentionResults({ result }: { result: RetentionResult }) {
  const lang = useLang();
  const text = TEXT[lang];
  const indexes = Array.from({ length: result.periods + 1 }, (_, k) => k);

  // biome-ignore lint/correctness/useExhaustiveDependencies: indexes follow result.periods
  const rows = useMemo(() => {
    const row = (
      key: string,
      label: string,
      size: number,
      values: number[],
      rates: number[],
      ended: number,
    ) => ({
      key,
      cohort: label,
      size,
      ended,
      ...Object.fromEntries(indexes.map((k) => [`p${k}`, rates[k] === undefined ? null : rates[k]])),
      ...Object.fromEntries(indexes.map((k) => [`n${k}`, values[k] ?? null])),
    });
    return [
      // The average holds ended periods only.
      row(
        'average',
        text.average,
        result.average.size,
        result.average.values,
        result.average.rates,
        Infinity,
      ),
      ...result.cohorts.map((c) => row(c.cohort, c.cohort, c.size, c.values, c.rates, c.ended)),
    ];
  }, [result, text]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: indexes follow result.periods
  const curve = useMemo(
    () => ({
      tooltip: {
        trigger: 'axis',
        valueFormatter: (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
      },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: indexes.map((k) => periodLabel(result.period, k, lang)) },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: [
        {
          name: text.average,
          type: 'line',
          smooth: true,
          lineStyle: { width: 3 },
          data: result.average.rates.map((r) => Number((r * 100).toFixed(2))),
        },
        ...result.cohorts.slice(-6).map((c) => ({
          name: c.cohort,
          type: 'line',
          showSymbol: false,
          lineStyle: { width: 1, opacity: 0.5 },
          data: c.rates.map((r) => Number((r * 100).toFixed(2))),
        })),
      ],
    }),
    [result, text, lang],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={text.table}>
        <Typography.Paragraph type="secondary">
          {text.hint}
          {result.cohorts.some((c) => c.ended < c.values.length) && text.inProgress}
        </Typography.Paragraph>
        <DataTable
          testId="retention-table"
          name="retention-cohorts"
          rowKey="key"
          pageSize={60}
          rows={rows}
          columns={[
            {
              title: text.cohort,
              dataIndex: 'cohort',
              fixed: 'left',
              render: (v: string, row) => (row.key === 'average' ? <strong>{v}</strong> : v),
            },
            {
              title: text.size,
              dataIndex: 'size',
              render: (v: number, row) => (
                <span data-testid={`retention-size-${row.key}`} data-value={v}>
                  {formatValue(v, 'integer', lang)}
                </span>
              ),
            },
            ...indexes.map((k) => ({
              title: periodLabel(result.period, k, lang),
              dataIndex: `p${k}`,
              align: 'center' as const,
              onCell: (row: Record<string, unknown>) => {
                const inProgress = row[`p${k}`] !== null && k >= (row.ended as number);
                return {
                  'data-in-progress': inProgress ? 'true' : undefined,
                  style: {
                    ...heatStyle(row[`p${k}`] as number | null),
                    padding: '6px 8px',
                    ...(inProgress ? { outline: '1px dashed rgba(0, 0, 0, 0.45)', outlineOffset: -3 } : {}),
                  },
                };
              },
              render: (v: number | null, row: Record<string, unknown>) =>
                v === null ? (
                  ''
                ) : (
                  <span title={`${formatValue(row[`n${k}`] as number, 'integer', lang)} / ${row.size}`}>
                    {formatValue(v, 'percent', lang)}
                  </span>
                ),
            })),
          ]}
        />
      </Card>
      <Card title={text.curve}>
        <Chart option={curve} name="retention-curve" testId="retention-curve" />
      </Card>
    </Space>
  );
}
