import { Card, Col, InputNumber, Row, Segmented, Space, Statistic, Switch, Typography } from 'antd';
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
import { platformFilters, useGlobalView } from '../state';
import type { PathsResult } from '../types';

const TEXT = {
  en: {
    start: 'Start event',
    direction: 'Direction',
    after: 'What happens after',
    before: 'What leads to it',
    depth: 'Steps',
    pagePaths: 'Page paths',
    pagePathsHint: 'Name page views by their path',
    collapse: 'Merge repeats',
    sankey: 'Paths within a session',
    total: 'Paths',
    top: 'Top paths',
    rank: '#',
    path: 'Path',
    count: 'Paths',
    share: 'Share',
    steps: 'Per step',
    step: 'Step',
    reached: 'Paths reaching it',
    ended: 'Ending here',
    began: 'Beginning here',
    other: 'Other',
    hint: 'One path per session with the start event; the thickness of a band is the number of paths.',
  },
  zh: {
    start: '起始事件',
    direction: '方向',
    after: '之后发生了什么',
    before: '之前经历了什么',
    depth: '步数',
    pagePaths: '页面路径',
    pagePathsHint: '用页面路径命名页面浏览',
    collapse: '合并连续重复',
    sankey: '会话内路径',
    total: '路径数',
    top: '最常见路径',
    rank: '#',
    path: '路径',
    count: '路径数',
    share: '占比',
    steps: '各步',
    step: '步骤',
    reached: '到达的路径数',
    ended: '在此结束',
    began: '从此开始',
    other: '其他',
    hint: '每个含起始事件的会话算一条路径；色带越宽，路径越多。',
  },
};

const DEFAULTS = { start: '', dir: 'after', depth: 4, pages: false, collapse: true };
const PREFERRED_START = ['product_viewed', 'app_opened', '$pageview'];

const nodeName = (name: string, lang: Lang) => (name === '$other' ? TEXT[lang].other : name);

/** Paths: a Sankey of what persons do after (or before) an event, and the most frequent paths. */
export default function Paths() {
  const catalog = useEventCatalog();
  return (
    <PageState state={catalog} isEmpty={(c) => c.names.length === 0}>
      {(c) => <PathsView catalog={c} />}
    </PageState>
  );
}

function PathsView({ catalog }: { catalog: EventCatalog }) {
  const lang = useLang();
  const text = TEXT[lang];
  const view = useGlobalView();
  const { projectId, from, to, platformKey } = view;
  const [options, setOptions] = useUrlOptions(DEFAULTS);
  const start = options.start || pickEvent(catalog, PREFERRED_START);
  const depth = Math.min(10, Math.max(1, Math.round(options.depth)));

  const paths = useAsync(
    () =>
      runAnalysis<PathsResult>(projectId!, 'paths', {
        dateRange: { from, to },
        start: { event: start },
        direction: options.dir,
        depth,
        pagePaths: options.pages,
        collapseRepeats: options.collapse,
        filters: platformFilters(view),
      }),
    [projectId, from, to, platformKey, start, options.dir, depth, options.pages, options.collapse],
  );

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small">
        <Space wrap size="large">
          <Space>
            <Typography.Text type="secondary">{text.start}</Typography.Text>
            <EventPicker
              catalog={catalog}
              value={start}
              testId="paths-start"
              onChange={(e) => setOptions({ start: e })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.direction}</Typography.Text>
            <Segmented
              data-testid="paths-direction"
              value={options.dir}
              options={[
                { value: 'after', label: text.after },
                { value: 'before', label: text.before },
              ]}
              onChange={(d) => setOptions({ dir: d as string })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.depth}</Typography.Text>
            <InputNumber
              data-testid="paths-depth"
              min={1}
              max={10}
              value={depth}
              onChange={(v) => typeof v === 'number' && setOptions({ depth: v })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary" title={text.pagePathsHint}>
              {text.pagePaths}
            </Typography.Text>
            <Switch
              data-testid="paths-page-paths"
              checked={options.pages}
              onChange={(v) => setOptions({ pages: v })}
            />
          </Space>
          <Space>
            <Typography.Text type="secondary">{text.collapse}</Typography.Text>
            <Switch
              data-testid="paths-collapse"
              checked={options.collapse}
              onChange={(v) => setOptions({ collapse: v })}
            />
          </Space>
        </Space>
      </Card>
      <PageState state={paths} isEmpty={(d) => d.result.total === 0}>
        {({ result }) => <PathsResults result={result} direction={options.dir} />}
      </PageState>
    </Space>
  );
}

function PathsResults({ result, direction }: { result: PathsResult; direction: string }) {
  const lang = useLang();
  const text = TEXT[lang];
  const sankey = useMemo(
    () => ({
      tooltip: { trigger: 'item', triggerOn: 'mousemove' },
      series: [
        {
          type: 'sankey',
          left: 16,
          right: 140,
          top: 16,
          bottom: 16,
          nodeGap: 10,
          nodeAlign: direction === 'before' ? 'right' : 'left',
          layoutIterations: 0,
          animationDuration: 500,
          emphasis: { focus: 'adjacency' },
          lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.35 },
          // Node ids ("2:add_to_cart") keep one column per step; the label shows the event alone.
          data: result.nodes.map((n) => ({ name: n.id, value: n.value, depth: n.step - 1 })),
          links: result.links,
          label: {
            formatter: (p: { name: string }) => nodeName(p.name.slice(p.name.indexOf(':') + 1), lang),
          },
          tooltip: {
            formatter: (p: {
              dataType: string;
              name: string;
              value: number;
              data: { source?: string; target?: string };
            }) => {
              const label = (id: string) => nodeName(id.slice(id.indexOf(':') + 1), lang);
              return p.dataType === 'edge'
                ? `${label(p.data.source ?? '')} → ${label(p.data.target ?? '')}: ${p.value}`
                : `${label(p.name)}: ${p.value}`;
            },
          },
        },
      ],
    }),
    [result, lang, direction],
  );
  const height = Math.max(360, Math.min(900, 36 * maxNodesPerStep(result)));

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={text.sankey}>
        <Space orientation="vertical" style={{ width: '100%' }}>
          <Space size="large">
            <Statistic
              title={text.total}
              value={formatValue(result.total, 'integer', lang)}
              data-testid="paths-total"
              data-value={result.total}
            />
            <Typography.Text type="secondary">{text.hint}</Typography.Text>
          </Space>
          <Chart option={sankey} height={height} name="paths-sankey" testId="paths-sankey" />
        </Space>
      </Card>
      <Row gutter={[12, 12]}>
        <Col xs={24} xl={16}>
          <Card title={text.top}>
            <DataTable
              testId="paths-top"
              name="top-paths"
              rowKey="rank"
              rows={result.topPaths.map((p, i) => ({
                rank: i + 1,
                path: p.path.map((n) => nodeName(n, lang)).join(' → '),
                count: p.count,
                share: p.share,
              }))}
              columns={[
                { title: text.rank, dataIndex: 'rank', width: 48 },
                {
                  title: text.count,
                  dataIndex: 'count',
                  render: (v: number, row) => (
                    <span data-testid={`paths-top-count-${row.rank}`} data-value={v}>
                      {formatValue(v, 'integer', lang)}
                    </span>
                  ),
                },
                {
                  title: text.share,
                  dataIndex: 'share',
                  render: (v: number) => formatValue(v, 'percent', lang),
                },
                { title: text.path, dataIndex: 'path' },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card title={text.steps}>
            <DataTable
              testId="paths-steps"
              name="paths-per-step"
              rowKey="step"
              rows={result.steps}
              columns={[
                { title: text.step, dataIndex: 'step' },
                {
                  title: text.reached,
                  dataIndex: 'paths',
                  render: (v: number) => formatValue(v, 'integer', lang),
                },
                {
                  title: direction === 'before' ? text.began : text.ended,
                  dataIndex: 'dropped',
                  render: (v: number) => formatValue(v, 'integer', lang),
                },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </Space>
  );
}

function maxNodesPerStep(result: PathsResult): number {
  const perStep = new Map<number, number>();
  for (const n of result.nodes) perStep.set(n.step, (perStep.get(n.step) ?? 0) + 1);
  return Math.max(1, ...perStep.values());
}
