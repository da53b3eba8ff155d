import { Card, Col, InputNumber, Row, Segmented, Space, Statistic, Tabs, Typography } from 'antd';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import {
  type EventCatalog,
  EventPicker,
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
import type { Bucket, DistributionResult, IntervalResult, LifecycleResult, StickinessResult } from '../types';

const TEXT = {
  en: {
    frequency: 'Frequency per person',
    interval: 'Time between two events',
    stickiness: 'Stickiness',
    lifecycle: 'Lifecycle',
    event: 'Event',
    maxCount: 'Buckets up to',
    times: 'Times done',
    persons: 'Persons',
    share: 'Share',
    mean: 'Average',
    median: 'Median',
    p90: '90th percentile',
    fromEvent: 'From event',
    toEvent: 'To event',
    unit: 'Unit',
    minute: 'Minutes',
    hour: 'Hours',
    day: 'Days',
    windowDays: 'Window (days)',
    converted: 'Did the second event',
    started: 'Did the first event',
    elapsed: 'Time between',
    activeDays: 'Active days in the range',
    daysLabel: '{n} d',
    averageDays: 'Average active days',
    period: 'Period',
    week: 'Week',
    month: 'Month',
    dayPeriod: 'Day',
    new: 'New',
    returning: 'Returning',
    resurrecting: 'Resurrecting',
    dormant: 'Dormant',
    periodCol: 'Period starting',
    frequencyHint: 'How many times each person did the event in the range.',
    intervalHint: 'From a person’s first “from” event in the range to the next “to” event after it.',
    stickinessHint: 'On how many different days of the range each person did the event.',
    lifecycleHint:
      'New: first time ever; returning: also active the period before; resurrecting: back after a gap; dormant: active the period before but not this one.',
  },
  zh: {
    frequency: '人均次数分布',
    interval: '事件间隔',
    stickiness: '粘性',
    lifecycle: '生命周期',
    event: '事件',
    maxCount: '分桶上限',
    times: '次数',
    persons: '人数',
    share: '占比',
    mean: '平均',
    median: '中位数',
    p90: '90 分位',
    fromEvent: '起始事件',
    toEvent: '结束事件',
    unit: '单位',
    minute: '分钟',
    hour: '小时',
    day: '天',
    windowDays: '窗口（天）',
    converted: '完成结束事件',
    started: '完成起始事件',
    elapsed: '间隔',
    activeDays: '范围内活跃天数',
    daysLabel: '{n} 天',
    averageDays: '平均活跃天数',
    period: '周期',
    week: '周',
    month: '月',
    dayPeriod: '日',
    new: '新增',
    returning: '持续活跃',
    resurrecting: '回流',
    dormant: '沉睡',
    periodCol: '周期开始',
    frequencyHint: '每人在范围内做该事件的次数。',
    intervalHint: '从每人在范围内第一次“起始事件”到其后下一次“结束事件”的时间。',
    stickinessHint: '每人在范围内有多少个不同的日子做了该事件。',
    lifecycleHint:
      '新增：首次发生；持续活跃：上一周期也活跃；回流：间隔后重新活跃；沉睡：上一周期活跃、本周期未活跃。',
  },
};

const TABS = ['frequency', 'interval', 'stickiness', 'lifecycle'] as const;
const DEFAULTS = {
  tab: 'frequency',
  event: '',
  max: 10,
  ia: '',
  ib: '',
  unit: 'hour',
  wd: 30,
  lperiod: 'week',
};
const PREFERRED_EVENT = ['video_played', 'app_opened', '$pageview'];

/** Distributions: per-person frequency, interval between two events, stickiness and lifecycle. */
export default function Distribution() {
  const catalog = useEventCatalog();
  return (
    <PageState state={catalog} isEmpty={(c) => c.names.length === 0}>
      {(c) => <DistributionView catalog={c} />}
    </PageState>
  );
}

type Options = typeof DEFAULTS;
type SetOptions = (patch: Partial<Options>) => void;

function DistributionView({ catalog }: { catalog: EventCatalog }) {
  const lang = useLang();
  const text = TEXT[lang];
  const [options, setOptions] = useUrlOptions(DEFAULTS);
  const tab = (TABS as readonly string[]).includes(options.tab) ? options.tab : 'frequency';
  const event = options.event || pickEvent(catalog, PREFERRED_EVENT);
  const panes: Record<string, React.ReactNode> = {
    frequency: <Frequency catalog={catalog} event={event} options={options} setOptions={setOptions} />,
    interval: <Interval catalog={catalog} options={options} setOptions={setOptions} />,
    stickiness: <Stickiness catalog={catalog} event={event} setOptions={setOptions} />,
    lifecycle: <Lifecycle catalog={catalog} event={event} options={options} setOptions={setOptions} />,
  };
  return (
    <Card>
      <Tabs
        data-testid="distribution-tabs"
        activeKey={tab}
        onChange={(key) => setOptions({ tab: key })}
        // Only the open tab queries the server.
        items={TABS.map((key) => ({ key, label: text[key], children: key === tab ? panes[key] : null }))}
      />
    </Card>
  );
}

function EventRow({
  catalog,
  event,
  setOptions,
  children,
}: {
  catalog: EventCatalog;
  event: string;
  setOptions: SetOptions;
  children?: React.ReactNode;
}) {
  const text = TEXT[useLang()];
  return (
    <Space wrap size="large" style={{ marginBottom: 12 }}>
      <Space>
        <Typography.Text type="secondary">{text.event}</Typography.Text>
        <EventPicker
          catalog={catalog}
          value={event}
          testId="distribution-event"
          onChange={(e) => setOptions({ event: e })}
        />
      </Space>
      {children}
    </Space>
  );
}

function bucketOption(buckets: Bucket[], name: string) {
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 56, right: 16, top: 24, bottom: 40 },
    xAxis: { type: 'category', data: buckets.map((b) => b.label) },
    yAxis: { type: 'value' },
    series: [{ name, type: 'bar', data: buckets.map((b) => b.persons), barMaxWidth: 48 }],
  };
}

function BucketTable({
  buckets,
  name,
  bucketTitle,
  testId,
}: {
  buckets: Bucket[];
  name: string;
  bucketTitle: string;
  testId: string;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const total = buckets.reduce((a, b) => a + b.persons, 0);
  return (
    <DataTable
      testId={testId}
      name={name}
      rowKey="label"
      rows={buckets.map((b) => ({
        label: b.label,
        persons: b.persons,
        share: total ? b.persons / total : 0,
      }))}
      columns={[
        { title: bucketTitle, dataIndex: 'label' },
        {
          title: text.persons,
          dataIndex: 'persons',
          render: (v: number, row) => (
            <span data-testid={`${testId}-${row.label}`} data-value={v}>
              {formatValue(v, 'integer', lang)}
            </span>
          ),
        },
        { title: text.share, dataIndex: 'share', render: (v: number) => formatValue(v, 'percent', lang) },
      ]}
    />
  );
}

function Stat({
  title,
  value,
  testId,
  raw,
}: {
  title: string;
  value: string;
  testId?: string;
  raw?: number;
}) {
  return (
    <Col xs={12} md={6}>
      <Statistic title={title} value={value} data-testid={testId} data-value={raw} />
    </Col>
  );
}

function Frequency({
  catalog,
  event,
  options,
  setOptions,
}: {
  catalog: EventCatalog;
  event: string;
  options: Options;
  setOptions: SetOptions;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const maxCount = Math.min(50, Math.max(1, Math.round(options.max)));
  const state = useAsync(
    () =>
      runAnalysis<DistributionResult>(projectId!, 'distribution', {
        dateRange: { from, to },
        event: narrowed({ event }, view),
        maxCount,
      }),
    [projectId, from, to, platformKey, event, maxCount],
  );
  const option = useMemo(
    () => (state.data ? bucketOption(state.data.result.buckets, text.persons) : undefined),
    [state.data, text],
  );
  return (
    <>
      <EventRow catalog={catalog} event={event} setOptions={setOptions}>
        <Space>
          <Typography.Text type="secondary">{text.maxCount}</Typography.Text>
          <InputNumber
            data-testid="distribution-max"
            min={1}
            max={50}
            value={maxCount}
            onChange={(v) => typeof v === 'number' && setOptions({ max: v })}
          />
        </Space>
      </EventRow>
      <Typography.Paragraph type="secondary">{text.frequencyHint}</Typography.Paragraph>
      <PageState state={state} isEmpty={(d) => d.result.stats.persons === 0}>
        {({ result }) => (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Row gutter={[12, 12]}>
              <Stat
                title={text.persons}
                value={formatValue(result.stats.persons, 'integer', lang)}
                testId="distribution-persons"
                raw={result.stats.persons}
              />
              <Stat title={text.mean} value={result.stats.mean.toFixed(1)} />
              <Stat title={text.median} value={String(result.stats.median)} />
              <Stat title={text.p90} value={String(result.stats.p90)} />
            </Row>
            {option && <Chart option={option} name="frequency-distribution" testId="frequency-chart" />}
            <BucketTable
              buckets={result.buckets}
              name="frequency-distribution"
              bucketTitle={text.times}
              testId="frequency-table"
            />
          </Space>
        )}
      </PageState>
    </>
  );
}

function unitValue(value: number, unit: string, lang: Lang): string {
  const text = TEXT[lang];
  const label = unit === 'minute' ? text.minute : unit === 'day' ? text.day : text.hour;
  return `${value.toFixed(value >= 10 ? 0 : 1)} ${label}`;
}

function Interval({
  catalog,
  options,
  setOptions,
}: {
  catalog: EventCatalog;
  options: Options;
  setOptions: SetOptions;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const fromEvent = options.ia || pickEvent(catalog, ['signed_up', 'app_opened', '$pageview']);
  const toEvent = options.ib || pickEvent(catalog, ['order_completed', 'video_played'], 1);
  const windowDays = Math.min(365, Math.max(1, Math.round(options.wd)));
  const state = useAsync(
    () =>
      runAnalysis<IntervalResult>(projectId!, 'interval', {
        dateRange: { from, to },
        fromEvent: narrowed({ event: fromEvent }, view),
        toEvent: narrowed({ event: toEvent }, view),
        unit: options.unit,
        windowDays,
      }),
    [projectId, from, to, platformKey, fromEvent, toEvent, options.unit, windowDays],
  );
  const option = useMemo(
    () => (state.data ? bucketOption(state.data.result.buckets, text.persons) : undefined),
    [state.data, text],
  );
  const unitLabel = options.unit === 'minute' ? text.minute : options.unit === 'day' ? text.day : text.hour;
  return (
    <>
      <Space wrap size="large" style={{ marginBottom: 12 }}>
        <Space>
          <Typography.Text type="secondary">{text.fromEvent}</Typography.Text>
          <EventPicker
            catalog={catalog}
            value={fromEvent}
            testId="interval-from"
            onChange={(e) => setOptions({ ia: e })}
          />
        </Space>
        <Space>
          <Typography.Text type="secondary">{text.toEvent}</Typography.Text>
          <EventPicker
            catalog={catalog}
            value={toEvent}
            testId="interval-to"
            onChange={(e) => setOptions({ ib: e })}
          />
        </Space>
        <Space>
          <Typography.Text type="secondary">{text.unit}</Typography.Text>
          <Segmented
            data-testid="interval-unit"
            value={options.unit}
            options={(['minute', 'hour', 'day'] as const).map((u) => ({ value: u, label: text[u] }))}
            onChange={(u) => setOptions({ unit: u as string })}
          />
        </Space>
        <Space>
          <Typography.Text type="secondary">{text.windowDays}</Typography.Text>
          <InputNumber
            data-testid="interval-window"
            min={1}
            max={365}
            value={windowDays}
            onChange={(v) => typeof v === 'number' && setOptions({ wd: v })}
          />
        </Space>
      </Space>
      <Typography.Paragraph type="secondary">{text.intervalHint}</Typography.Paragraph>
      <PageState state={state} isEmpty={(d) => d.result.persons === 0}>
        {({ result }) => (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Row gutter={[12, 12]}>
              <Stat
                title={text.started}
                value={formatValue(result.persons, 'integer', lang)}
                testId="interval-persons"
                raw={result.persons}
              />
              <Stat
                title={text.converted}
                value={`${formatValue(result.converted, 'integer', lang)} (${formatValue(
                  result.persons ? result.converted / result.persons : null,
                  'percent',
                  lang,
                )})`}
                testId="interval-converted"
                raw={result.converted}
              />
              <Stat title={text.median} value={unitValue(result.stats.median, result.unit, lang)} />
              <Stat title={text.p90} value={unitValue(result.stats.p90, result.unit, lang)} />
            </Row>
            {option && <Chart option={option} name="interval-distribution" testId="interval-chart" />}
            <BucketTable
              buckets={result.buckets}
              name="interval-distribution"
              bucketTitle={`${text.elapsed} (${unitLabel})`}
              testId="interval-table"
            />
          </Space>
        )}
      </PageState>
    </>
  );
}

function Stickiness({
  catalog,
  event,
  setOptions,
}: {
  catalog: EventCatalog;
  event: string;
  setOptions: SetOptions;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const state = useAsync(
    () =>
      runAnalysis<StickinessResult>(projectId!, 'stickiness', {
        dateRange: { from, to },
        event: narrowed({ event }, view),
      }),
    [projectId, from, to, platformKey, event],
  );
  const option = useMemo(() => {
    const r = state.data?.result;
    if (!r) return undefined;
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 56, right: 16, top: 24, bottom: 40 },
      xAxis: {
        type: 'category',
        name: text.activeDays,
        nameLocation: 'middle',
        nameGap: 28,
        data: r.values.map((v) => v.days),
      },
      yAxis: { type: 'value' },
      series: [{ name: text.persons, type: 'bar', data: r.values.map((v) => v.persons), barMaxWidth: 32 }],
    };
  }, [state.data, text]);
  return (
    <>
      <EventRow catalog={catalog} event={event} setOptions={setOptions} />
      <Typography.Paragraph type="secondary">{text.stickinessHint}</Typography.Paragraph>
      <PageState state={state} isEmpty={(d) => d.result.persons === 0}>
        {({ result }) => (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Row gutter={[12, 12]}>
              <Stat
                title={text.persons}
                value={formatValue(result.persons, 'integer', lang)}
                testId="stickiness-persons"
                raw={result.persons}
              />
              <Stat title={text.averageDays} value={result.averageDays.toFixed(2)} />
            </Row>
            {option && <Chart option={option} name="stickiness" testId="stickiness-chart" />}
            <DataTable
              testId="stickiness-table"
              name="stickiness"
              rowKey="days"
              pageSize={31}
              rows={result.values.map((v) => ({
                ...v,
                label: text.daysLabel.replace('{n}', String(v.days)),
              }))}
              columns={[
                { title: text.activeDays, dataIndex: 'label' },
                {
                  title: text.persons,
                  dataIndex: 'persons',
                  render: (v: number) => formatValue(v, 'integer', lang),
                },
                {
                  title: text.share,
                  dataIndex: 'share',
                  render: (v: number) => formatValue(v, 'percent', lang),
                },
              ]}
            />
          </Space>
        )}
      </PageState>
    </>
  );
}

const LIFECYCLE_COLORS = {
  new: '#52c41a',
  returning: '#1677ff',
  resurrecting: '#faad14',
  dormant: '#ff4d4f',
};

function Lifecycle({
  catalog,
  event,
  options,
  setOptions,
}: {
  catalog: EventCatalog;
  event: string;
  options: Options;
  setOptions: SetOptions;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const state = useAsync(
    () =>
      runAnalysis<LifecycleResult>(projectId!, 'lifecycle', {
        dateRange: { from, to },
        event: narrowed({ event }, view),
        period: options.lperiod,
      }),
    [projectId, from, to, platformKey, event, options.lperiod],
  );
  const option = useMemo(() => {
    const r = state.data?.result;
    if (!r) return undefined;
    const kinds = ['new', 'returning', 'resurrecting', 'dormant'] as const;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: r.periods.map((p) => p.period) },
      yAxis: { type: 'value' },
      series: kinds.map((k) => ({
        name: text[k],
        type: 'bar',
        // One stack: dormant (negative) grows below zero, the active kinds above it.
        stack: 'lifecycle',
        itemStyle: { color: LIFECYCLE_COLORS[k] },
        data: r.periods.map((p) => p[k]),
      })),
    };
  }, [state.data, text]);
  return (
    <>
      <EventRow catalog={catalog} event={event} setOptions={setOptions}>
        <Space>
          <Typography.Text type="secondary">{text.period}</Typography.Text>
          <Segmented
            data-testid="lifecycle-period"
            value={options.lperiod}
            options={[
              { value: 'day', label: text.dayPeriod },
              { value: 'week', label: text.week },
              { value: 'month', label: text.month },
            ]}
            onChange={(p) => setOptions({ lperiod: p as string })}
          />
        </Space>
      </EventRow>
      <Typography.Paragraph type="secondary">{text.lifecycleHint}</Typography.Paragraph>
      <PageState state={state} isEmpty={(d) => d.result.periods.length === 0}>
        {({ result }) => (
          <Space orientation="vertical" style={{ width: '100%' }}>
            <div style={{ marginTop: 40 }}>
              {option && <Chart option={option} name="lifecycle" testId="lifecycle-chart" />}
            </div>
            <DataTable
              testId="lifecycle-table"
              name="lifecycle"
              rowKey="period"
              rows={result.periods}
              columns={[
                { title: text.periodCol, dataIndex: 'period' },
                ...(['new', 'returning', 'resurrecting', 'dormant'] as const).map((k) => ({
                  title: text[k],
                  dataIndex: k,
                  render: (v: number, row: { period: string }) => (
                    <span data-testid={`lifecycle-${k}-${row.period}`} data-value={v}>
                      {formatValue(v, 'integer', lang)}
                    </span>
                  ),
                })),
              ]}
            />
          </Space>
        )}
      </PageState>
    </>
  );
}
