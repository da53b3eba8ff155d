import {
  Alert,
  Badge,
  Button,
  Card,
  Col,
  Drawer,
  Input,
  Row,
  Space,
  Switch,
  Table,
  Tabs,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { api, errorText } from '../api';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { channelName, platformName } from '../format';
import { type Lang, useLang, useT } from '../i18n';
import { useDateTime } from '../project';
import { useGlobalView, useUrlState } from '../state';

interface EventRow extends Record<string, unknown> {
  message_id: string;
  event: string;
  timestamp: number;
  distinct_id: string;
  platform: string;
  channel: string;
  properties: string;
  context: string;
}

interface QuarantineRow extends Record<string, unknown> {
  id: string;
  received_at: number;
  origin: string;
  reason_code: string;
  reason: string;
  /** '' for rows stored before reasons were kept in Chinese. */
  reason_zh: string;
  field: string;
  row_number: number;
  raw: string;
}

/** What storing the refused rows again did (POST …/quarantine/retry). */
interface RetryOutcome {
  stored: number;
  refusedAgain: number;
  unreadable: number;
  firstRefusal?: string;
}

/** The alert for a retry's answer: its counts, or why it failed. */
function retryMessage(
  lang: Lang,
  retried: { outcome: RetryOutcome } | { error: unknown },
): { type: 'success' | 'warning' | 'error'; message: string } {
  if ('error' in retried) {
    const { error } = retried;
    return { type: 'error', message: errorText(error, lang) };
  }
  const { outcome } = retried;
  return {
    type: outcome.refusedAgain + outcome.unreadable > 0 ? 'warning' : 'success',
    message: retryText(lang, outcome),
  };
}

function retryText(lang: Lang, o: RetryOutcome): string {
  const why = o.firstRefusal
    ? lang === 'zh'
      ? `例如：${o.firstRefusal}`
      : ` For instance: ${o.firstRefusal}`
    : '';
  return lang === 'zh'
    ? `已存入：${o.stored} 行 · 再次被拒：${o.refusedAgain} 行 · 无法读取：${o.unreadable} 行。${why}`
    : `Stored: ${o.stored} · refused again: ${o.refusedAgain} · unreadable: ${o.unreadable}.${why}`;
}

function parsed(row: EventRow): Record<string, unknown> {
  const json = (text: string) => {
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return text;
    }
  };
  return { ...row, properties: json(row.properties), context: json(row.context) };
}

/** Live stream, latest events with filters, one event's JSON, and the quarantine with reasons. */
export default function Events() {
  const t = useT();
  const lang = useLang();
  const dateTime = useDateTime();
  const { projectId, platforms, platformKey } = useGlobalView();
  const url = useUrlState();
  const eventFilter = url.get('event') ?? '';
  const personFilter = url.get('person') ?? '';
  const [selected, setSelected] = useState<EventRow>();
  const [live, setLive] = useState<EventRow[]>([]);
  const [liveOn, setLiveOn] = useState(true);
  // The stream shows only events received after it connects; the badge says whether it is.
  const [liveState, setLiveState] = useState<'connecting' | 'connected'>('connecting');

  const latest = useAsync(() => {
    const q = new URLSearchParams({ limit: '100' });
    if (eventFilter) q.set('event', eventFilter);
    if (personFilter) q.set('distinct_id', personFilter);
    if (platformKey) q.set('platform', platformKey);
    return api.get<{ events: EventRow[] }>(`/api/v1/projects/${projectId}/events?${q}`);
  }, [projectId, eventFilter, personFilter, platformKey]);
  const quarantine = useAsync(
    () =>
      api.get<{ rows: QuarantineRow[]; byReason: { reason_code: string; count: number }[] }>(
        `/api/v1/projects/${projectId}/quarantine?limit=200`,
      ),
    [projectId],
  );

  const [retrying, setRetrying] = useState(false);
  // The retry's answer, worded at render time in the language shown then.
  const [retried, setRetried] = useState<{ outcome: RetryOutcome } | { error: unknown }>();
  const retry = async () => {
    setRetrying(true);
    try {
      setRetried({ outcome: await api.post<RetryOutcome>(`/api/v1/projects/${projectId}/quarantine/retry`) });
      quarantine.reload();
    } catch (error) {
      setRetried({ error });
    } finally {
      setRetrying(false);
    }
  };

  useEffect(() => {
    if (!liveOn || !projectId) return;
    const source = new EventSource(`/api/v1/projects/${projectId}/events/live`);
    setLiveState('connecting');
    source.addEventListener('open', () => setLiveState('connected'));
    // The browser reconnects by itself; until it has, nothing arrives.
    source.addEventListener('error', () => setLiveState('connecting'));
    source.addEventListener('event', (e) => {
      const row = JSON.parse((e as MessageEvent).data) as EventRow;
      setLive((rows) => [row, ...rows].slice(0, 200));
    });
    return () => source.close();
  }, [projectId, liveOn]);

  const columns = useMemo(
    () => [
      { title: t('events.time'), dataIndex: 'timestamp', render: (v: number) => dateTime(v), width: 180 },
      { title: t('events.name'), dataIndex: 'event', render: (v: string) => <Tag color="blue">{v}</Tag> },
      { title: t('events.distinctId'), dataIndex: 'distinct_id', ellipsis: true },
      { title: t('events.platform'), dataIndex: 'platform', render: (v: string) => platformName(v, lang) },
      { title: t('events.channel'), dataIndex: 'channel', render: (v: string) => channelName(v, lang) },
    ],
    [t, lang, dateTime],
  );

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Tabs
        data-testid="events-tabs"
        items={[
          {
            key: 'latest',
            label: t('events.latest'),
            children: (
              <Card>
                <Space wrap style={{ marginBottom: 12 }}>
                  <Input.Search
                    data-testid="filter-event"
                    allowClear
                    placeholder={t('events.filterEvent')}
                    defaultValue={eventFilter}
                    onSearch={(v) => url.set({ event: v })}
                  />
                  <Input.Search
                    allowClear
                    placeholder={t('events.filterPerson')}
                    defaultValue={personFilter}
                    onSearch={(v) => url.set({ person: v })}
                  />
                </Space>
                <PageState state={latest} isEmpty={(d) => d.events.length === 0}>
                  {(d) => (
                    <DataTable
                      testId="latest-events"
                      name="events"
                      timeColumns={['timestamp']}
                      rowKey="message_id"
                      columns={columns}
                      rows={d.events}
                      onRow={(row) => ({ onClick: () => setSelected(row) })}
                    />
                  )}
                </PageState>
              </Card>
            ),
          },
          {
            key: 'live',
            label: (
              <Space>
                {t('events.live')}
                <Tooltip
                  title={
                    !liveOn
                      ? t('events.paused')
                      : liveState === 'connected'
                        ? t('events.liveConnected')
                        : t('events.liveConnecting')
                  }
                >
                  <Badge
                    data-testid="live-state"
                    data-state={liveOn ? liveState : 'paused'}
                    status={!liveOn ? 'default' : liveState === 'connected' ? 'processing' : 'warning'}
                  />
                </Tooltip>
              </Space>
            ),
            children: (
              <Card
                extra={
                  <Switch
                    checked={liveOn}
                    onChange={setLiveOn}
                    checkedChildren={t('events.live')}
                    unCheckedChildren={t('events.paused')}
                  />
                }
              >
                <Table<EventRow>
                  data-testid="live-events"
                  size="small"
                  rowKey="message_id"
                  columns={columns}
                  dataSource={platforms.length ? live.filter((e) => platforms.includes(e.platform)) : live}
                  pagination={false}
                  onRow={(row) => ({ onClick: () => setSelected(row) })}
                />
              </Card>
            ),
          },
          {
            key: 'quarantine',
            label: t('events.quarantine'),
            children: (
              <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
                {retried && (
                  <Alert {...retryMessage(lang, retried)} showIcon data-testid="quarantine-retry-message" />
                )}
                <PageState state={quarantine} isEmpty={(d) => d.rows.length === 0}>
                  {(d) => (
                    <Row gutter={16}>
                      <Col xs={24} md={6}>
                        <Card size="small" title={t('events.reason')}>
                          {d.byReason.map((r) => (
                            <div key={r.reason_code}>
                              <Tag color="red">{r.reason_code}</Tag> {r.count}
                            </div>
                          ))}
                          {d.byReason.some((r) => r.reason_code === 'store_refused_row') && (
                            <Space orientation="vertical" style={{ marginTop: 12 }}>
                              <Typography.Text type="secondary">{t('events.retryHint')}</Typography.Text>
                              <Button data-testid="quarantine-retry" loading={retrying} onClick={retry}>
                                {t('events.retry')}
                              </Button>
                            </Space>
                          )}
                        </Card>
                      </Col>
                      <Col xs={24} md={18}>
                        <DataTable
                          testId="quarantine-table"
                          name="quarantine"
                          timeColumns={['received_at']}
                          rowKey="id"
                          rows={d.rows}
                          columns={[
                            {
                              title: t('events.receivedAt'),
                              dataIndex: 'received_at',
                              render: (v: number) => dateTime(v),
                            },
                            { title: t('events.origin'), dataIndex: 'origin' },
                            {
                              title: t('events.reason'),
                              dataIndex: 'reason',
                              render: (reason: string, row: QuarantineRow) =>
                                lang === 'zh' && row.reason_zh ? row.reason_zh : reason,
                            },
                            { title: t('events.field'), dataIndex: 'field' },
                            { title: t('events.row'), dataIndex: 'row_number' },
                            {
                              title: t('events.raw'),
                              dataIndex: 'raw',
                              ellipsis: true,
                              render: (v: string) => (
                                <Typography.Text code>{v.slice(0, 200)}</Typography.Text>
                              ),
                            },
                          ]}
                        />
                      </Col>
                    </Row>
                  )}
                </PageState>
              </Space>
            ),
          },
        ]}
      />
      <Drawer
        width={560}
        open={selected !== undefined}
        onClose={() => setSelected(undefined)}
        title={t('events.inspect')}
      >
        <pre data-testid="event-json" style={{ fontSize: 12, whiteSpace: 'pre-wrap' }}>
          {selected ? JSON.stringify(parsed(selected), null, 2) : ''}
        </pre>
      </Drawer>
    </Space>
  );
}
