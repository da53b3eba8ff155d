import { Alert, Badge, Button, Card, Descriptions, Empty, Input, Space, Tabs, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { ApiError, api } from '../api';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { idTypeName, traitText } from '../format';
import { type Lang, useLang, useT } from '../i18n';
import { useGlobalView, useUrlState } from '../state';
import { MergePersonsModal, type MergeResult } from './MergePersons';
import { CONFLICT_PAGE, type ConflictPage, type LogEntry, type PersonIdentity } from './people-types';

const time = (ms: number) => new Date(ms).toLocaleString();
const reasonIn = (row: LogEntry, lang: Lang) => (lang === 'zh' ? row.reasonZh : row.reason);
/**
 * People and identity: any id a person was seen with leads to that person as the identity graph
 * holds it now (its ids on every platform, the merges that joined them, the conflicts that kept
 * another known user off them), and the project's conflicts in one list.
 */
export default function People() {
  const t = useT();
  const lang = useLang();
  const { projectId } = useGlobalView();
  const url = useUrlState();
  const location = useLocation();
  const asked = url.get('id') ?? '';
  const tab = url.get('tab') === 'conflicts' ? 'conflicts' : 'lookup';
  const base = `/api/v1/projects/${projectId}`;

  const conflicts = useAsync(
    () => api.get<ConflictPage>(`${base}/identity/conflicts?limit=${CONFLICT_PAGE}`),
    [base],
  );
  // Older pages asked for with "load older", after the first.
  const [older, setOlder] = useState<{ base: string; rows: LogEntry[]; loading: boolean }>();
  const olderRows = older?.base === base ? older.rows : [];
  const loadOlder = async (shown: LogEntry[]) => {
    const last = shown[shown.length - 1];
    if (!last) return;
    setOlder({ base, rows: olderRows, loading: true });
    try {
      const page = await api.get<ConflictPage>(
        `${base}/identity/conflicts?limit=${CONFLICT_PAGE}&before=${last.at}`,
      );
      setOlder({ base, rows: [...olderRows, ...page.conflicts], loading: false });
    } catch {
      setOlder({ base, rows: olderRows, loading: false });
    }
  };
  const permissions = useAsync(
    () =>
      api.get<{ role: string; readOnly: boolean; matrix: Record<string, string[]> }>(`${base}/permissions`),
    [base],
  );
  const canMerge = (() => {
    const p = permissions.data;
    return p ? !p.readOnly && (p.matrix['persons.merge']?.includes(p.role) ?? false) : false;
  })();
  // The two ids whose persons the merge dialog shows, and the last merge done (shown on the kept person).
  const [merging, setMerging] = useState<readonly [string, string]>();
  const [merged, setMerged] = useState<{ result: MergeResult; from: string; into: string }>();
  // null: no person has the id asked for.
  const lookup = useAsync<PersonIdentity | null | undefined>(async () => {
    if (!asked) return undefined;
    return api
      .get<PersonIdentity>(`${base}/persons/${encodeURIComponent(asked)}/identity`)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      });
  }, [base, asked]);

  /** Looks up another id: the lookup tab, with the id in the URL (a link to it shows the same). */
  const show = (id: string) => url.set({ id, tab: undefined });
  const mergeDone = (done?: { result: MergeResult; from: string; into: string }) => {
    setMerging(undefined);
    if (!done) return;
    setMerged(done);
    setOlder(undefined);
    conflicts.reload();
    // The kept person by its person id (the id clicked may be a long hash), with the merge in its
    // history; reloaded when it is the one shown already.
    if (done.result.personId === asked) lookup.reload();
    else show(done.result.personId);
  };
  /** A conflict's state now: merged since, or (for those who may) the button that merges it. */
  const conflictStatus = (row: LogEntry) =>
    row.mergedSince ? (
      <Tag color="green" data-testid="merged-since">
        {t('people.mergedSince')}
      </Tag>
    ) : canMerge ? (
      <Button
        size="small"
        data-testid="merge-button"
        onClick={() => setMerging([row.distinctId, row.otherDistinctId])}
      >
        {t('people.mergeAction')}
      </Button>
    ) : (
      <Typography.Text type="secondary">{t('people.keptApart')}</Typography.Text>
    );
  const idLink = (id: string) =>
    id ? (
      <Typography.Link data-testid="id-link" onClick={() => show(id)}>
        {id}
      </Typography.Link>
    ) : null;
  const eventsLink = (id: string) => {
    const query = new URLSearchParams(location.search);
    query.delete('id');
    query.delete('tab');
    query.set('person', id);
    return `/events?${query}`;
  };

  const conflictColumns: ColumnsType<LogEntry> = [
    { title: t('events.time'), dataIndex: 'at', render: (v: number) => time(v), width: 180 },
    { title: t('people.ids.this'), dataIndex: 'distinctId', render: idLink },
    { title: t('people.ids.other'), dataIndex: 'otherDistinctId', render: idLink },
    {
      title: t('people.reason'),
      dataIndex: lang === 'zh' ? 'reasonZh' : 'reason',
      render: (_: string, row: LogEntry) => reasonIn(row, lang),
    },
    {
      title: t('people.times'),
      dataIndex: 'times',
      align: 'right',
      render: (times: number, row: LogEntry) => (
        <span title={`${t('people.firstAt')} ${time(row.firstAt)}`}>{times.toLocaleString()}</span>
      ),
    },
    { title: t('people.status'), key: 'status', render: (_: unknown, row: LogEntry) => conflictStatus(row) },
  ];

  const historyColumns = (personId: string): ColumnsType<LogEntry> => [
    { title: t('events.time'), dataIndex: 'at', render: (v: number) => time(v), width: 180 },
    {
      title: t('people.kind'),
      dataIndex: 'kind',
      render: (kind: LogEntry['kind']) =>
        kind === 'conflict' ? (
          <Tag color="red">{t('people.conflict')}</Tag>
        ) : (
          <Tag color="green">{t('people.merge')}</Tag>
        ),
    },
    { title: t('people.ids.this'), dataIndex: 'distinctId', render: idLink },
    { title: t('people.ids.other'), dataIndex: 'otherDistinctId', render: idLink },
    {
      title: t('people.otherPerson'),
      dataIndex: 'otherPersonId',
      render: (_: string, row: LogEntry) =>
        idLink(row.personId === personId ? row.otherPersonId : row.personId),
    },
    {
      title: t('people.reason'),
      dataIndex: lang === 'zh' ? 'reasonZh' : 'reason',
      render: (_: string, row: LogEntry) => reasonIn(row, lang),
    },
    {
      title: t('people.status'),
      key: 'status',
      render: (_: unknown, row: LogEntry) => (row.kind === 'conflict' ? conflictStatus(row) : null),
    },
  ];

  const personView = (person: PersonIdentity | null) => {
    if (!person) return <Empty data-testid="person-not-found" description={t('people.notFound')} />;
    const traits = Object.entries(person.traits);
    return (
      <Space orientation="vertical" size="middle" style={{ width: '100%' }} data-testid="person">
        {person.matched && (
          <Alert
            type="info"
            showIcon
            data-testid="person-matched"
            message={`${person.askedFor} → ${person.matched}: ${t('people.matched')}`}
          />
        )}
        {merged && merged.result.personId === person.personId && (
          <Alert
            type="success"
            showIcon
            closable
            data-testid="merge-done"
            message={t('people.mergeDone')
              .replace('{from}', merged.from)
              .replace('{moved}', merged.result.movedIds.toLocaleString())}
          />
        )}
        {person.mergedFrom && (
          <Alert type="info" showIcon message={`${person.mergedFrom} ${t('people.mergedFrom')}`} />
        )}
        <Card
          size="small"
          title={
            <Space>
              {t('people.person')}
              <Typography.Text code data-testid="person-id">
                {person.personId}
              </Typography.Text>
            </Space>
          }
          extra={<Link to={eventsLink(person.personId)}>{t('people.seeEvents')}</Link>}
        >
          {person.idsTotal > person.ids.length && (
            <Typography.Paragraph type="secondary" data-testid="ids-shown">
              {t('people.idsShown')
                .replace('{shown}', person.ids.length.toLocaleString())
                .replace('{total}', person.idsTotal.toLocaleString())}
            </Typography.Paragraph>
          )}
          <DataTable
            testId="person-ids"
            name="person-ids"
            rowKey="id"
            rows={person.ids.map((i) => ({ ...i, typeName: idTypeName(i.type, lang) }))}
            columns={[
              {
                title: t('people.ids'),
                dataIndex: 'id',
                render: (id: string) => <Typography.Text copyable>{id}</Typography.Text>,
              },
              { title: t('people.idType'), dataIndex: 'typeName' },
              { title: t('people.linkedAt'), dataIndex: 'linkedAt', render: (v: number) => time(v) },
            ]}
          />
        </Card>
        {traits.length > 0 && (
          <Card size="small" title={t('people.traits')}>
            <Descriptions size="small" column={{ xs: 1, md: 2 }} data-testid="person-traits">
              {traits.map(([key, value]) => (
                <Descriptions.Item key={key} label={key}>
                  {traitText(key, value, lang)}
                </Descriptions.Item>
              ))}
            </Descriptions>
          </Card>
        )}
        <Card
          size="small"
          title={
            <Space>
              {t('people.history')}
              {person.conflicts > 0 && <Badge count={person.conflicts} title={t('people.conflicts')} />}
            </Space>
          }
        >
          {person.history.length === 0 ? (
            <Typography.Text type="secondary">{t('people.noHistory')}</Typography.Text>
          ) : (
            <DataTable
              testId="person-history"
              name="person-history"
              rowKey={(row) => `${row.at}-${row.kind}-${row.distinctId}-${row.otherDistinctId}`}
              rows={person.history}
              columns={historyColumns(person.personId)}
            />
          )}
        </Card>
      </Space>
    );
  };

  return (
    <>
      {merging && <MergePersonsModal base={base} ids={merging} onClose={mergeDone} />}
      <Tabs
        data-testid="people-tabs"
        activeKey={tab}
        onChange={(key) => url.set({ tab: key === 'conflicts' ? 'conflicts' : undefined })}
        items={[
          {
            key: 'lookup',
            label: t('people.lookup'),
            children: (
              <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
                <Input.Search
                  // A new id from a link replaces what was typed.
                  key={asked}
                  data-testid="person-search"
                  allowClear
                  enterButton
                  placeholder={t('people.search')}
                  defaultValue={asked}
                  onSearch={(v) => url.set({ id: v.trim() })}
                  style={{ maxWidth: 640 }}
                />
                {asked ? (
                  <PageState state={lookup}>
                    {(found) => (found === undefined ? null : personView(found))}
                  </PageState>
                ) : (
                  <Typography.Paragraph type="secondary">{t('people.hint')}</Typography.Paragraph>
                )}
              </Space>
            ),
          },
          {
            key: 'conflicts',
            // Rendered at once: its count is on the tab, and the page is whole when both views have loaded.
            forceRender: true,
            label: (
              <Space>
                {t('people.conflicts')}
                <Badge
                  data-testid="conflict-count"
                  count={conflicts.data?.total ?? 0}
                  overflowCount={9999}
                  showZero
                  color={conflicts.data?.total ? 'red' : 'gray'}
                />
              </Space>
            ),
            children: (
              <Card>
                <Typography.Paragraph type="secondary">
                  {t('people.conflictsHint')}
                  {canMerge && (lang === 'zh' ? '' : ' ') + t('people.conflictsMergeHint')}
                </Typography.Paragraph>
                <PageState state={conflicts}>
                  {(d) => {
                    if (d.conflicts.length === 0) {
                      return <Empty data-testid="no-conflicts" description={t('people.noConflicts')} />;
                    }
                    const shown = [...d.conflicts, ...olderRows];
                    return (
                      <Space orientation="vertical" style={{ width: '100%' }}>
                        <DataTable
                          testId="conflicts-table"
                          name="identity-conflicts"
                          rowKey={(row) => `${row.at}-${row.distinctId}-${row.otherDistinctId}`}
                          rows={shown}
                          columns={conflictColumns}
                        />
                        {shown.length < d.total && (
                          <Button
                            data-testid="conflicts-older"
                            loading={older?.loading === true}
                            onClick={() => loadOlder(shown)}
                          >
                            {t('people.loadOlder')} ({shown.length} / {d.total})
                          </Button>
                        )}
                      </Space>
                    );
                  }}
                </PageState>
              </Card>
            ),
          },
        ]}
      />
    </>
  );
}
