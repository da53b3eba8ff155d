import {
  ArrowDownOutlined,
  ArrowUpOutlined,
  CloseOutlined,
  FilterOutlined,
  PlusOutlined,
} from '@ant-design/icons';
import {
  AutoComplete,
  Button,
  Card,
  Col,
  Input,
  Popover,
  Row,
  Segmented,
  Select,
  Space,
  Statistic,
  Tag,
  Typography,
} from 'antd';
import { useMemo, useRef, useState } from 'react';
import { runAnalysis } from '../api';
import {
  BREAKDOWN_FIELDS,
  type EventCatalog,
  EventPicker,
  formatDuration,
  parseJson,
  pickEvent,
  useEventCatalog,
  useUrlOptions,
} from '../components/AnalysisKit';
import { Chart, useFirstSeriesColor } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { formatValue, valueName } from '../format';
import { type Lang, useLang, useT } from '../i18n';
import { platformFilters, useGlobalView } from '../state';
import type { FunnelFilter, FunnelResult, FunnelStepResult, FunnelStepSpec } from '../types';

const TEXT = {
  en: {
    builder: 'Funnel steps',
    step: 'Step',
    addStep: 'Add step',
    moveUp: 'Move up',
    moveDown: 'Move down',
    filters: 'Filters',
    addFilter: 'Add filter',
    field: 'Field (e.g. platform, properties.sku)',
    value: 'Value',
    window: 'Conversion window',
    order: 'Order',
    sequential: 'In order',
    strict: 'Strict order',
    any: 'Any order',
    breakdown: 'Breakdown',
    noBreakdown: 'No breakdown',
    chart: 'Persons per step',
    overall: 'Overall conversion',
    summary: 'Summary',
    entered: 'Entered',
    converted: 'Converted',
    event: 'Event',
    persons: 'Persons',
    fromPrevious: 'From previous step',
    fromFirst: 'From step 1',
    dropped: 'Dropped',
    medianTime: 'Median time from previous',
    avgTime: 'Average time from previous',
    clickDrop: 'Click a bar or a drop-off number to list the persons who dropped there.',
    overTime: 'Conversion over time (by entry date)',
    day: 'Day',
    week: 'Week',
    rate: 'Conversion rate',
    notFinal: 'Not final yet',
    notFinalHint: 'Dashed: entrants still within the conversion window; their rate can still rise.',
    timeToConvert: 'Time to convert',
    median: 'Median',
    average: 'Average',
    bucket: 'Time',
    byValue: 'By breakdown value',
    droppedTitle: 'Persons who did step {from} but not step {to}',
    droppedOf: '{shown} of {total} shown',
    person: 'Person id',
    close: 'Close',
    other: 'Other',
    none: '(empty)',
    hours: '{n} hour',
    days: '{n} days',
    day1: '1 day',
  },
  zh: {
    builder: '漏斗步骤',
    step: '步骤',
    addStep: '添加步骤',
    moveUp: '上移',
    moveDown: '下移',
    filters: '筛选',
    addFilter: '添加筛选',
    field: '字段（如 platform、properties.sku）',
    value: '值',
    window: '转化窗口',
    order: '顺序',
    sequential: '依次完成',
    strict: '严格顺序',
    any: '任意顺序',
    breakdown: '分组',
    noBreakdown: '不分组',
    chart: '各步骤人数',
    overall: '整体转化率',
    summary: '概要',
    entered: '进入人数',
    converted: '转化人数',
    event: '事件',
    persons: '人数',
    fromPrevious: '相对上一步',
    fromFirst: '相对第 1 步',
    dropped: '流失',
    medianTime: '距上一步用时（中位数）',
    avgTime: '距上一步用时（平均）',
    clickDrop: '点击柱子或流失人数，查看在该步流失的人员。',
    overTime: '转化率趋势（按进入日期）',
    day: '按日',
    week: '按周',
    rate: '转化率',
    notFinal: '尚未最终',
    notFinalHint: '虚线：进入者仍在转化窗口内，转化率还会上升。',
    timeToConvert: '转化用时',
    median: '中位数',
    average: '平均',
    bucket: '用时',
    byValue: '按分组值',
    droppedTitle: '完成第 {from} 步但未完成第 {to} 步的人员',
    droppedOf: '显示 {shown} / 共 {total} 人',
    person: '人员 ID',
    close: '关闭',
    other: '其他',
    none: '（空）',
    hours: '{n} 小时',
    days: '{n} 天',
    day1: '1 天',
  },
};

const HOUR = 3600;
const DAY = 86_400;
const WINDOWS = [HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY];
const OPERATORS = [
  'eq',
  'neq',
  'contains',
  'not_contains',
  'starts_with',
  'gt',
  'gte',
  'lt',
  'lte',
  'is_set',
  'is_not_set',
] as const;
const OP_LABELS: Record<(typeof OPERATORS)[number], { en: string; zh: string }> = {
  eq: { en: '=', zh: '等于' },
  neq: { en: '≠', zh: '不等于' },
  contains: { en: 'contains', zh: '包含' },
  not_contains: { en: 'does not contain', zh: '不包含' },
  starts_with: { en: 'starts with', zh: '开头是' },
  gt: { en: '>', zh: '大于' },
  gte: { en: '≥', zh: '大于等于' },
  lt: { en: '<', zh: '小于' },
  lte: { en: '≤', zh: '小于等于' },
  is_set: { en: 'is set', zh: '有值' },
  is_not_set: { en: 'is not set', zh: '无值' },
};
const NUMERIC_OPS = new Set(['gt', 'gte', 'lt', 'lte']);
const PREFERRED_STEPS = ['product_viewed', 'add_to_cart', 'order_completed'];

const DEFAULTS = {
  steps: '',
  window: 14 * DAY,
  order: 'sequential',
  breakdown: '',
  granularity: 'day',
  dropStep: 0,
  dropValue: '',
};

const fill = (text: string, values: Record<string, string | number>) =>
  text.replace(/\{(\w+)\}/g, (_, k: string) => String(values[k] ?? ''));

function windowLabel(seconds: number, lang: Lang): string {
  const text = TEXT[lang];
  if (seconds < DAY) return fill(text.hours, { n: seconds / HOUR });
  if (seconds === DAY) return text.day1;
  return fill(text.days, { n: seconds / DAY });
}

function isSteps(value: unknown): value is FunnelStepSpec[] {
  return (
    Array.isArray(value) &&
    value.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as FunnelStepSpec).event === 'string' &&
        ((s as FunnelStepSpec).filters === undefined || Array.isArray((s as FunnelStepSpec).filters)),
    )
  );
}

export function filterLabel(f: FunnelFilter, lang: Lang): string {
  const op = OP_LABELS[f.op as keyof typeof OP_LABELS]?.[lang] ?? f.op;
  return f.value === undefined ? `${f.field} ${op}` : `${f.field} ${op} ${f.value}`;
}

/** The default funnel: view → cart → order when the project has them, else its three top events. */
function defaultSteps(catalog: EventCatalog): FunnelStepSpec[] {
  const present = PREFERRED_STEPS.filter((e) => catalog.names.includes(e));
  const names = present.length >= 2 ? present : catalog.names.slice(0, 3);
  return names.map((event) => ({ event }));
}

const stepName = (s: FunnelStepResult) => `${s.step}. ${s.event}`;

function bucketLabel(b: { fromSeconds: number; toSeconds: number | null }, lang: Lang): string {
  return b.toSeconds === null
    ? `≥ ${formatDuration(b.fromSeconds, lang)}`
    : `${formatDuration(b.fromSeconds, lang)}–${formatDuration(b.toSeconds, lang)}`;
}

/** Funnels: a step builder, persons per step with conversion, trend, time to convert, drop-offs. */
export default function Funnels() {
  const catalog = useEventCatalog();
  return (
    <PageState state={catalog} isEmpty={(c) => c.names.length < 2}>
      {(c) => <FunnelView catalog={c} />}
    </PageState>
  );
}

function FunnelView({ catalog }: { catalog: EventCatalog }) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const [options, setOptions] = useUrlOptions(DEFAULTS);
  const steps = parseJson(options.steps, defaultSteps(catalog), isSteps).slice(0, 64);
  const setSteps = (next: FunnelStepSpec[]) =>
    setOptions({ steps: JSON.stringify(next), dropStep: 0, dropValue: '' });

  const stepsJson = JSON.stringify(steps);
  const body = useMemo(
    () => ({
      dateRange: { from, to },
      steps: JSON.parse(stepsJson) as FunnelStepSpec[],
      order: options.order,
      windowSeconds: options.window,
      ...(options.breakdown ? { breakdown: { field: options.breakdown, limit: 10 } } : {}),
      conversionOverTime: { granularity: options.granularity },
      filters: platformFilters({ platforms: platformKey ? platformKey.split(',') : [] }),
    }),
    [from, to, platformKey, stepsJson, options.order, options.window, options.breakdown, options.granularity],
  );
  const ready = steps.length >= 2 && steps.every((s) => s.event);
  const funnel = useAsync(
    () =>
      ready
        ? runAnalysis<FunnelResult>(projectId!, 'funnels', body)
        : Promise.reject(new Error(text.addStep)),
    [projectId, body],
  );
  const dropStep = options.dropStep;
  const scrolledTo = useRef('');
  const dropped = useAsync(
    () =>
      dropStep >= 2
        ? runAnalysis<FunnelResult>(projectId!, 'funnels', {
            ...body,
            dropped: {
              step: dropStep,
              limit: 500,
              ...(options.breakdown && options.dropValue ? { breakdownValue: options.dropValue } : {}),
            },
          })
        : Promise.resolve(undefined),
    [projectId, body, dropStep, options.dropValue],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={text.builder} size="small">
        <StepBuilder steps={steps} catalog={catalog} onChange={setSteps} />
        <Space wrap size="large" style={{ marginTop: 12 }}>
          <Space>
            <Typography.Text type="secondary">{text.window}</Typography.Text>
            <Select
              data-testid="funnel-window"
              style={{ width: 120 }}
              value={options.window}
              options={WINDOWS.map((w) => ({ value: w, label: windowLabel(w, lang) }))}
              onChange={(w) => setOptions({ window: w })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.order}</Typography.Text>
            <Segmented
              data-testid="funnel-order"
              value={options.order}
              options={(['sequential', 'strict', 'any'] as const).map((o) => ({ value: o, label: text[o] }))}
              onChange={(o) => setOptions({ order: o as string })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.breakdown}</Typography.Text>
            <Select
              data-testid="funnel-breakdown"
              style={{ width: 180 }}
              value={options.breakdown}
              options={[
                { value: '', label: text.noBreakdown },
                ...BREAKDOWN_FIELDS.map((f) => ({ value: f.value, label: f[lang] })),
              ]}
              onChange={(b) => setOptions({ breakdown: b, dropValue: '' })}
            />
          </Space>
        </Space>
      </Card>

      <PageState state={funnel} isEmpty={(d) => (d.result.steps[0]?.count ?? 0) === 0}>
        {({ result }) => (
          <FunnelResults
            result={result}
            breakdown={options.breakdown}
            granularity={options.granularity}
            onGranularity={(g) => setOptions({ granularity: g })}
            onDrop={(step, value) => setOptions({ dropStep: step, dropValue: value ?? '' })}
          />
        )}
      </PageState>

      {dropStep >= 2 && (
        <Card
          size="small"
          title={fill(text.droppedTitle, { from: dropStep - 1, to: dropStep })}
          extra={
            <Button
              size="small"
              icon={<CloseOutlined />}
              data-testid="dropped-close"
              onClick={() => setOptions({ dropStep: 0, dropValue: '' })}
            >
              {text.close}
            </Button>
          }
        >
          <PageState state={dropped}>
            {(d) => {
              const list = d?.result.dropped;
              if (!list) return null;
              return (
                <div
                  data-testid="dropped-persons"
                  data-value={list.total}
                  ref={(el) => {
                    // Bring the list into view once when it opens (it sits below the charts).
                    const key = `${dropStep}|${options.dropValue}`;
                    if (el && scrolledTo.current !== key) {
                      scrolledTo.current = key;
                      el.scrollIntoView({ block: 'nearest' });
                    }
                  }}
                >
                  <Typography.Paragraph type="secondary">
                    {options.dropValue
                      ? `${breakdownLabel(options.breakdown, options.dropValue, lang)} · `
                      : ''}
                    {fill(text.droppedOf, { shown: list.persons.length, total: list.total })}
                  </Typography.Paragraph>
                  <DataTable
                    name={`funnel-dropped-step-${dropStep}`}
                    rowKey="person"
                    rows={list.persons.map((person) => ({ person }))}
                    columns={[{ title: text.person, dataIndex: 'person' }]}
                  />
                </div>
              );
            }}
          </PageState>
        </Card>
      )}
    </Space>
  );
}

/** A breakdown value as the page shows it: platforms and channels by name, the catch-alls in words. */
function breakdownLabel(field: string, value: string, lang: Lang): string {
  if (value === '$other') return TEXT[lang].other;
  if (value === '') return TEXT[lang].none;
  return valueName(field, value, lang);
}

function StepBuilder({
  steps,
  catalog,
  onChange,
}: {
  steps: FunnelStepSpec[];
  catalog: EventCatalog;
  onChange: (steps: FunnelStepSpec[]) => void;
}) {
  const lang = useLang();
  const t = useT();
  const text = TEXT[lang];
  const replace = (i: number, step: FunnelStepSpec) => onChange(steps.map((s, j) => (j === i ? step : s)));
  const move = (i: number, by: number) => {
    const next = [...steps];
    const [moved] = next.splice(i, 1);
    if (moved) next.splice(i + by, 0, moved);
    onChange(next);
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }} data-testid="funnel-steps-builder">
      {steps.map((step, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a step's position is its identity
        <Space key={i} wrap data-testid={`funnel-step-${i + 1}`}>
          <Tag color="blue" style={{ minWidth: 56, textAlign: 'center' }}>
            {text.step} {i + 1}
          </Tag>
          <EventPicker
            catalog={catalog}
            value={step.event}
            testId={`funnel-step-event-${i + 1}`}
            onChange={(event) => replace(i, { ...step, event })}
          />
          {(step.filters ?? []).map((f, k) => (
            <Tag
              // biome-ignore lint/suspicious/noArrayIndexKey: filters have no other identity
              key={k}
              closable
              onClose={(e) => {
                e.preventDefault();
                const filters = (step.filters ?? []).filter((_, j) => j !== k);
                replace(i, filters.length ? { ...step, filters } : { event: step.event });
              }}
            >
              {filterLabel(f, lang)}
            </Tag>
          ))}
          <FilterAdder
            onAdd={(f) => replace(i, { ...step, filters: [...(step.filters ?? []), f] })}
            testId={`funnel-step-filter-${i + 1}`}
          />
          <Button
            size="small"
            icon={<ArrowUpOutlined />}
            aria-label={text.moveUp}
            title={text.moveUp}
            disabled={i === 0}
            onClick={() => move(i, -1)}
          />
          <Button
            size="small"
            icon={<ArrowDownOutlined />}
            aria-label={text.moveDown}
            title={text.moveDown}
            disabled={i === steps.length - 1}
            onClick={() => move(i, 1)}
          />
          <Button
            size="small"
            danger
            icon={<CloseOutlined />}
            aria-label={t('action.remove')}
            title={t('action.remove')}
            disabled={steps.length <= 2}
            data-testid={`funnel-step-remove-${i + 1}`}
            onClick={() => onChange(steps.filter((_, j) => j !== i))}
          />
        </Space>
      ))}
      <Button
        icon={<PlusOutlined />}
        data-testid="funnel-add-step"
        disabled={steps.length >= 64}
        onClick={() => onChange([...steps, { event: pickEvent(catalog, [], steps.length) }])}
      >
        {text.addStep}
      </Button>
    </Space>
  );
}

/** A small form for one `{field, op, value}` filter of a step. */
function FilterAdder({ onAdd, testId }: { onAdd: (f: FunnelFilter) => void; testId: string }) {
  const lang = useLang();
  const t = useT();
  const text = TEXT[lang];
  const [open, setOpen] = useState(false);
  const [field, setField] = useState('platform');
  const [op, setOp] = useState<(typeof OPERATORS)[number]>('eq');
  const [value, setValue] = useState('');
  const needsValue = op !== 'is_set' && op !== 'is_not_set';
  const add = () => {
    if (!field || (needsValue && value === '')) return;
    const typed = NUMERIC_OPS.has(op) && Number.isFinite(Number(value)) ? Number(value) : value;
    onAdd(needsValue ? { field, op, value: typed } : { field, op });
    setOpen(false);
    setValue('');
  };
  const content = (
    <Space orientation="vertical" style={{ width: 280 }}>
      <AutoComplete
        style={{ width: '100%' }}
        value={field}
        placeholder={text.field}
        options={BREAKDOWN_FIELDS.map((f) => ({ value: f.value, label: `${f.value} · ${f[lang]}` }))}
        onChange={setField}
      />
      <Select
        style={{ width: '100%' }}
        value={op}
        options={OPERATORS.map((o) => ({ value: o, label: OP_LABELS[o][lang] }))}
        onChange={setOp}
      />
      {needsValue && (
        <Input
          placeholder={text.value}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          onPressEnter={add}
        />
      )}
      <Button type="primary" size="small" onClick={add} data-testid={`${testId}-add`}>
        {t('action.add')}
      </Button>
    </Space>
  );
  return (
    <Popover open={open} onOpenChange={setOpen} trigger="click" content={content} title={text.addFilter}>
      <Button size="small" icon={<FilterOutlined />} data-testid={testId}>
        {text.filters}
      </Button>
    </Popover>
  );
}

/** A period's conversion rate in percent, to two decimals; null without entrants. */
const percent = (p: { conversionRate: number | null }) =>
  p.conversionRate === null ? null : Number((p.conversionRate * 100).toFixed(2));

function FunnelResults({
  result,
  breakdown,
  granularity,
  onGranularity,
  onDrop,
}: {
  result: FunnelResult;
  breakdown: string;
  granularity: string;
  onGranularity: (g: string) => void;
  onDrop: (step: number, breakdownValue?: string) => void;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const steps = result.steps;
  const last = steps[steps.length - 1];

  const stepsOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 56, right: 16, top: 24, bottom: 48 },
      xAxis: {
        type: 'category',
        data: steps.map(stepName),
        axisLabel: { interval: 0, rotate: steps.length > 5 ? 20 : 0 },
      },
      yAxis: { type: 'value' },
      series: [
        {
          name: text.persons,
          type: 'bar',
          barMaxWidth: 72,
          data: steps.map((s) => s.count),
          label: {
            show: true,
            position: 'top',
            formatter: (p: { dataIndex: number }) => {
              const s = steps[p.dataIndex];
              return s
                ? `${formatValue(s.count, 'integer', lang)} · ${formatValue(s.conversionFromFirst, 'percent', lang)}`
                : '';
            },
          },
        },
        {
          name: text.dropped,
          type: 'bar',
          barMaxWidth: 72,
          stack: undefined,
          barGap: '-100%',
          z: 0,
          itemStyle: { color: 'rgba(255, 77, 79, 0.18)' },
          // Drawn behind the persons bar up to the previous step's height: the gap is the drop-off.
          data: steps.map((_, i) => (i === 0 ? 0 : (steps[i - 1]?.count ?? 0))),
        },
      ],
    }),
    [steps, lang, text],
  );

  const periods = result.conversionOverTime.periods;
  // The dashed part keeps the line's colour.
  const lineColor = useFirstSeriesColor();
  const overTimeOption = useMemo(
    () => ({
      color: [lineColor],
      tooltip: {
        trigger: 'axis',
        valueFormatter: (v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
      },
      grid: { left: 48, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: periods.map((p) => p.period) },
      yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
      // Final periods solid, the ones still within the window dashed; the dashed line starts at the
      // last final point so that the two join.
      series: [
        {
          name: text.rate,
          type: 'line',
          smooth: true,
          connectNulls: false,
          data: periods.map((p) => (p.complete ? percent(p) : null)),
        },
        {
          name: text.notFinal,
          type: 'line',
          smooth: true,
          connectNulls: false,
          lineStyle: { type: 'dashed' },
          data: periods.map((p, i) =>
            !p.complete || periods[i + 1]?.complete === false ? percent(p) : null,
          ),
        },
      ],
    }),
    [periods, text, lineColor],
  );
  const notFinal = periods.some((p) => !p.complete);

  const ttc = result.timeToConvert;
  const ttcOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 48, right: 16, top: 24, bottom: 56 },
      xAxis: {
        type: 'category',
        data: ttc.buckets.map((b) => bucketLabel(b, lang)),
        axisLabel: { rotate: 30 },
      },
      yAxis: { type: 'value' },
      series: [{ name: text.persons, type: 'bar', data: ttc.buckets.map((b) => b.count) }],
    }),
    [ttc, text, lang],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Row gutter={[12, 12]}>
        <Col xs={24} xl={16}>
          <Card title={text.chart}>
            <Chart
              option={stepsOption}
              name="funnel-steps"
              testId="funnel-chart"
              onClick={(p) => {
                if (p.dataIndex >= 1) onDrop(p.dataIndex + 1);
              }}
            />
            <Typography.Text type="secondary">{text.clickDrop}</Typography.Text>
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={text.summary}>
            <Space orientation="vertical" size="large">
              <Statistic
                title={text.overall}
                value={formatValue(last?.conversionFromFirst, 'percent', lang)}
                data-testid="funnel-overall"
              />
              <Statistic title={text.entered} value={formatValue(steps[0]?.count, 'integer', lang)} />
              <Statistic title={text.converted} value={formatValue(last?.count, 'integer', lang)} />
            </Space>
          </Card>
        </Col>
      </Row>
      <Card>
        <DataTable
          testId="funnel-steps"
          name="funnel-steps"
          rowKey="step"
          rows={steps.map((s) => ({ ...s, name: stepName(s) }))}
          columns={[
            { title: text.step, dataIndex: 'step' },
            { title: text.event, dataIndex: 'event' },
            {
              title: text.persons,
              dataIndex: 'count',
              render: (v: number, s) => (
                <span data-testid={`funnel-count-${s.step}`} data-value={v}>
                  {formatValue(v, 'integer', lang)}
                </span>
              ),
            },
            {
              title: text.fromPrevious,
              dataIndex: 'conversionFromPrevious',
              render: (v: number) => formatValue(v, 'percent', lang),
            },
            {
              title: text.fromFirst,
              dataIndex: 'conversionFromFirst',
              render: (v: number) => formatValue(v, 'percent', lang),
            },
            {
              title: text.dropped,
              dataIndex: 'droppedFromPrevious',
              render: (v: number, s) =>
                s.step === 1 ? (
                  '—'
                ) : (
                  <Button
                    type="link"
                    size="small"
                    data-testid={`funnel-drop-${s.step}`}
                    onClick={() => onDrop(s.step)}
                  >
                    {formatValue(v, 'integer', lang)}
                  </Button>
                ),
            },
            {
              title: text.medianTime,
              dataIndex: 'medianSecondsFromPrevious',
              render: (v: number | null) => formatDuration(v, lang),
            },
            {
              title: text.avgTime,
              dataIndex: 'avgSecondsFromPrevious',
              render: (v: number | null) => formatDuration(v, lang),
            },
          ]}
        />
      </Card>
      {breakdown && result.breakdown && (
        <Card
          title={`${text.byValue} · ${BREAKDOWN_FIELDS.find((f) => f.value === breakdown)?.[lang] ?? breakdown}`}
        >
          <DataTable
            testId="funnel-breakdown-table"
            name={`funnel-by-${breakdown}`}
            rowKey="value"
            rows={result.breakdown.values.map((v) => ({
              value: v.value,
              label: breakdownLabel(breakdown, v.value, lang),
              ...Object.fromEntries(v.steps.map((s) => [`s${s.step}`, s.count])),
              conversion: v.steps[v.steps.length - 1]?.conversionFromFirst ?? 0,
            }))}
            columns={[
              { title: text.breakdown, dataIndex: 'label' },
              ...steps.map((s) => ({
                title: stepName(s),
                dataIndex: `s${s.step}`,
                render: (v: number, row: Record<string, unknown>) => {
                  const previous = Number(row[`s${s.step - 1}`] ?? 0);
                  return s.step === 1 ? (
                    formatValue(v, 'integer', lang)
                  ) : (
                    <Space size={4}>
                      {formatValue(v, 'integer', lang)}
                      <Button
                        type="link"
                        size="small"
                        danger
                        title={text.dropped}
                        onClick={() => onDrop(s.step, String(row.value))}
                      >
                        −{formatValue(previous - v, 'integer', lang)}
                      </Button>
                    </Space>
                  );
                },
              })),
              {
                title: text.overall,
                dataIndex: 'conversion',
                render: (v: number) => formatValue(v, 'percent', lang),
              },
            ]}
          />
        </Card>
      )}
      <Row gutter={[12, 12]}>
        <Col xs={24} xl={12}>
          <Card
            title={text.overTime}
            extra={
              <Segmented
                size="small"
                data-testid="funnel-granularity"
                value={granularity}
                options={[
                  { value: 'day', label: text.day },
                  { value: 'week', label: text.week },
                ]}
                onChange={(g) => onGranularity(g as string)}
              />
            }
          >
            <div style={{ marginTop: 36 }}>
              <Chart option={overTimeOption} name="funnel-conversion-over-time" testId="funnel-over-time" />
            </div>
            {notFinal && (
              <Typography.Text type="secondary" data-testid="funnel-not-final">
                {text.notFinalHint}
              </Typography.Text>
            )}
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card
            title={`${text.timeToConvert} (${text.step} ${ttc.fromStep} → ${ttc.toStep})`}
            extra={
              <Typography.Text type="secondary">
                {text.median} {formatDuration(ttc.medianSeconds, lang)} · {text.average}{' '}
                {formatDuration(ttc.averageSeconds, lang)}
              </Typography.Text>
            }
          >
            <div style={{ marginTop: 36 }}>
              <Chart option={ttcOption} name="funnel-time-to-convert" testId="funnel-ttc" />
            </div>
          </Card>
        </Col>
      </Row>
    </Space>
  );
}
