import { Card, Col, Drawer, InputNumber, List, Row, Select, Space, Statistic, Tag, Typography } from 'antd';
import type { SortOrder } from 'antd/es/table/interface';
import { useMemo } from 'react';
import { runAnalysis } from '../api';
import { Chart } from '../components/Chart';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { formatValue, platformName, sheetTime } from '../format';
import { useLang } from '../i18n';
import { useDateTime, useProjectTimeZone } from '../project';
import { useGlobalView, useUrlState } from '../state';
import type { LeaderboardRow } from '../types';

const SORTABLE = [
  'plays',
  'likes',
  'comments',
  'shares',
  'favourites',
  'completion_rate',
  'interaction_rate',
  'share_rate',
  'avg_watch_seconds',
  'followers_gained',
  'heat_index',
] as const;
const PAGE_SIZE = 20;

const TEXT = {
  en: {
    leaderboard: 'Content leaderboard',
    platform: 'Platform',
    tags: 'Tags',
    minPlays: 'Min. plays',
    title: 'Title',
    account: 'Account',
    published: 'Published',
    plays: 'Plays',
    likes: 'Likes',
    comments: 'Comments',
    shares: 'Shares',
    favourites: 'Favourites',
    completion_rate: 'Completion',
    interaction_rate: 'Interaction rate',
    share_rate: 'Share rate',
    avg_watch_seconds: 'Avg. watch',
    followers_gained: 'Followers gained',
    heat_index: 'Heat index',
    daily: 'Daily performance',
    latest: 'Latest comments',
    sentiment: 'Sentiment',
    positive: 'positive',
    neutral: 'neutral',
    negative: 'negative',
    unknown: 'unlabelled',
    interactions: 'Interactions',
  },
  zh: {
    leaderboard: '内容排行榜',
    platform: '平台',
    tags: '话题',
    minPlays: '最低播放量',
    title: '标题',
    account: '账号',
    published: '发布时间',
    plays: '播放量',
    likes: '点赞',
    comments: '评论',
    shares: '分享',
    favourites: '收藏',
    completion_rate: '完播率',
    interaction_rate: '互动率',
    share_rate: '分享率',
    avg_watch_seconds: '平均观看时长',
    followers_gained: '涨粉',
    heat_index: '热度指数',
    daily: '每日表现',
    latest: '最新评论',
    sentiment: '情感',
    positive: '正面',
    neutral: '中性',
    negative: '负面',
    unknown: '未标注',
    interactions: '互动数',
  },
};

const FORMATS: Record<string, string> = {
  completion_rate: 'percent',
  interaction_rate: 'percent',
  share_rate: 'percent',
  avg_watch_seconds: 'seconds',
  heat_index: 'decimal',
};

interface PostResult {
  post: LeaderboardRow;
  totals: Record<string, number | null>;
  daily: {
    date: string;
    plays: number;
    interactions: number;
    completion_rate: number | null;
    followers_gained: number;
  }[];
  comments: {
    total: number;
    sentiment: Record<string, number>;
    latest: {
      commentId: string;
      authorName: string;
      text: string;
      createdAt: string | null;
      likeCount: number;
      sentiment: string;
    }[];
  };
}

/** Sortable, filterable leaderboard of posts across platforms; a post's page with its curves and comments. */
export default function Content() {
  const lang = useLang();
  const text = TEXT[lang];
  const timeZone = useProjectTimeZone();
  const { projectId, from, to, platforms, platformKey } = useGlobalView();
  const url = useUrlState();
  const sortBy = url.get('sort') ?? 'plays';
  const direction = url.get('dir') === 'asc' ? 'asc' : 'desc';
  const tag = url.get('tag');
  const minPlays = url.get('minPlays');
  const page = Number(url.get('page') ?? '1');
  const openPost = url.get('post'); // "platform:contentId"

  const board = useAsync(
    () =>
      runAnalysis<{ total: number; rows: LeaderboardRow[] }>(projectId!, 'content_leaderboard', {
        dateRange: { from, to },
        sort: { by: sortBy, direction },
        filters: {
          ...(platforms.length ? { platforms } : {}),
          ...(tag ? { tags: [tag] } : {}),
          ...(minPlays ? { minPlays: Number(minPlays) } : {}),
        },
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
      }),
    [projectId, from, to, sortBy, direction, platformKey, tag, minPlays, page],
  );

  const [postPlatform, postId] = openPost
    ? [openPost.slice(0, openPost.indexOf(':')), openPost.slice(openPost.indexOf(':') + 1)]
    : [];
  const post = useAsync(
    () =>
      openPost
        ? runAnalysis<PostResult>(projectId!, 'content_post', {
            dateRange: { from, to },
            platform: postPlatform,
            contentId: postId,
          })
        : Promise.resolve(undefined),
    [projectId, from, to, openPost],
  );

  const metricColumn = (id: (typeof SORTABLE)[number]) => ({
    title: text[id],
    dataIndex: id,
    key: id,
    sorter: true,
    sortOrder: (sortBy === id ? (direction === 'asc' ? 'ascend' : 'descend') : null) as SortOrder,
    render: (v: number | null) => formatValue(v, FORMATS[id] ?? 'integer', lang),
  });

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card
        title={text.leaderboard}
        extra={
          <Space wrap>
            <Select
              allowClear
              placeholder={text.tags}
              style={{ width: 140 }}
              value={tag}
              mode={undefined}
              showSearch
              options={['#茶', '#tea', '#喝茶', '#国货', '#养生', '#下午茶'].map((t) => ({
                value: t,
                label: t,
              }))}
              onChange={(v) => url.set({ tag: v, page: undefined })}
            />
            <InputNumber
              placeholder={text.minPlays}
              min={0}
              style={{ width: 140 }}
              value={minPlays ? Number(minPlays) : null}
              onChange={(v) => url.set({ minPlays: v === null ? undefined : String(v), page: undefined })}
            />
          </Space>
        }
      >
        <PageState state={board} isEmpty={(d) => d.result.rows.length === 0}>
          {({ result }) => (
            <>
              <DataTable
                testId="content-leaderboard"
                name="content-leaderboard"
                rowKey={(r) => `${r.platform}:${r.contentId}`}
                rows={result.rows.map((r) => ({
                  ...r,
                  ...r.metrics,
                  // To the minute, in the project's time zone (the API answers UTC).
                  publishedAtText: r.publishedAt ? sheetTime(r.publishedAt, timeZone).slice(0, 16) : '',
                }))}
                pageSize={PAGE_SIZE + 1}
                onRow={(r) => ({ onClick: () => url.set({ post: `${r.platform}:${r.contentId}` }) })}
                onSort={(key, dir) =>
                  url.set({
                    sort: dir ? key : undefined,
                    dir: dir === 'asc' ? 'asc' : undefined,
                    page: undefined,
                  })
                }
                columns={[
                  {
                    title: text.title,
                    dataIndex: 'title',
                    ellipsis: true,
                    width: 220,
                    render: (v: string) => <Typography.Link>{v}</Typography.Link>,
                  },
                  {
                    title: text.platform,
                    dataIndex: 'platform',
                    render: (v: string) => <Tag>{platformName(v, lang)}</Tag>,
                  },
                  { title: text.published, dataIndex: 'publishedAtText' },
                  ...SORTABLE.map(metricColumn),
                ]}
              />
              <Space style={{ marginTop: 8 }}>
                <Typography.Text type="secondary">
                  {(page - 1) * PAGE_SIZE + 1}–{Math.min(page * PAGE_SIZE, result.total)} / {result.total}
                </Typography.Text>
                <Typography.Link disabled={page <= 1} onClick={() => url.set({ page: String(page - 1) })}>
                  ‹
                </Typography.Link>
                <Typography.Link
                  disabled={page * PAGE_SIZE >= result.total}
                  onClick={() => url.set({ page: String(page + 1) })}
                >
                  ›
                </Typography.Link>
                <Select
                  size="small"
                  value={sortBy}
                  style={{ width: 160 }}
                  data-testid="content-sort"
                  options={SORTABLE.map((s) => ({ value: s, label: text[s] }))}
                  onChange={(v) => url.set({ sort: v, page: undefined })}
                />
                <Select
                  size="small"
                  value={direction}
                  style={{ width: 90 }}
                  options={[
                    { value: 'desc', label: '↓' },
                    { value: 'asc', label: '↑' },
                  ]}
                  onChange={(v) => url.set({ dir: v, page: undefined })}
                />
              </Space>
            </>
          )}
        </PageState>
      </Card>
      <Drawer
        width={Math.min(900, window.innerWidth - 40)}
        open={Boolean(openPost)}
        onClose={() => url.set({ post: undefined })}
        title={post.data?.result.post.title ?? ''}
      >
        {openPost && <PostPanel state={post} lang={lang} />}
      </Drawer>
    </Space>
  );
}

function PostPanel({
  state,
  lang,
}: {
  state: ReturnType<typeof useAsync<{ result: PostResult } | undefined>>;
  lang: 'zh' | 'en';
}) {
  const text = TEXT[lang];
  const dateTime = useDateTime();
  const option = useMemo(() => {
    const daily = state.data?.result.daily;
    if (!daily) return undefined;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: daily.map((d) => d.date) },
      yAxis: [
        { type: 'value' },
        { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` }, max: 1 },
      ],
      series: [
        { name: text.plays, type: 'bar', data: daily.map((d) => d.plays) },
        { name: text.interactions, type: 'line', data: daily.map((d) => d.interactions) },
        { name: text.followers_gained, type: 'line', data: daily.map((d) => d.followers_gained) },
        {
          name: text.completion_rate,
          type: 'line',
          yAxisIndex: 1,
          data: daily.map((d) => d.completion_rate),
        },
      ],
    };
  }, [state.data, text]);
  return (
    <PageState state={state as never}>
      {(data: { result: PostResult } | undefined) =>
        data ? (
          <Space direction="vertical" style={{ width: '100%' }} data-testid="post-panel">
            <Row gutter={[12, 12]}>
              {(['plays', 'completion_rate', 'interaction_rate', 'followers_gained'] as const).map((k) => (
                <Col span={6} key={k}>
                  <Statistic
                    title={text[k]}
                    value={formatValue(data.result.totals[k], FORMATS[k] ?? 'integer', lang)}
                  />
                </Col>
              ))}
            </Row>
            <Card size="small" title={text.daily}>
              {option && <Chart option={option} name="post-daily" height={280} />}
            </Card>
            <Card
              size="small"
              title={`${text.latest} (${data.result.comments.total})`}
              extra={Object.entries(data.result.comments.sentiment).map(([k, v]) => (
                <Tag key={k} color={k === 'positive' ? 'green' : k === 'negative' ? 'red' : undefined}>
                  {text[k as 'positive'] ?? k} {v}
                </Tag>
              ))}
            >
              <List
                size="small"
                dataSource={data.result.comments.latest}
                renderItem={(c) => (
                  <List.Item>
                    <Space direction="vertical" size={0}>
                      <Typography.Text>{c.text}</Typography.Text>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {c.authorName} · {c.createdAt ? dateTime(c.createdAt) : '—'} ·{' '}
                        <Tag
                          color={
                            c.sentiment === 'positive'
                              ? 'green'
                              : c.sentiment === 'negative'
                                ? 'red'
                                : undefined
                          }
                        >
                          {text[c.sentiment as 'positive'] ?? c.sentiment}
                        </Tag>
                      </Typography.Text>
                    </Space>
                  </List.Item>
                )}
              />
            </Card>
          </Space>
        ) : null
      }
    </PageState>
  );
}
