import { Alert, Badge, Button, Card, Empty, Input, Segmented, Space, Tabs, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { ApiError, api, errorText } from '../api';
import { DataTable } from '../components/DataTable';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { usePermissions } from '../components/usePermissions';
import { idTypeName } from '../format';
import { type Lang, useLang, useT } from '../i18n';
import { useDateTime } from '../project';
import { useGlobalView, useUrlState } from '../state';
import { type MergeDone, MergePersonsModal } from './MergePersons';
import { PersonsList } from './PersonsList';
import { PersonTraits } from './PersonTraits';
import { CONFLICT_PAGE, type ConflictPage, type LogEntry, type PersonIdentity } from './people-types';

/** A conflict by its two ids (a decision is about the pair). */
const pairKey = (row: LogEntry) => `${row.distinctId}\n${row.otherDistinctId}`;
const reasonIn = (row: LogEntry, lang: Lang) => (lang === 'zh' ? row.reasonZh : row.reason);
/**
 * People and identity: any id a person was seen with leads to that person as the identity graph
 * holds it now (its ids on every platform, the merges that joined them, the conflicts that kept
 * another known user off them), and the project's conflicts in one list.
 */
export default function People() {
  const t = useT();
  const lang = useLang();
  const dateTime = useDateTime();
  const { projectId } = useGlobalView();
  const url = useUrlState();
  const location = useLocation();
  const asked = url.get('id') ?? '';
  const tab = url.get('tab') === 'conflicts' ? 'conflicts' : 'lookup';
  const base = `/api/v1/projects/${projectId}`;
  // The conflicts still open (the default: what needs a look), or all of them.
  const showAll = url.get('show') === 'all';
  const conflictsPath = `${base}/identity/conflicts?status=${showAll ? 'all' : 'open'}&limit=${CONFLICT_PAGE}`;

  const conflicts = useAsync(() => api.get<ConflictPage>(conflictsPath), [conflictsPath]);
  // Older pages asked for with "load older", after the first.
  const [older, setOlder] = useState<{ path: string; rows: LogEntry[]; loading: boolean }>();
  const olderRows = older?.path === conflictsPath ? older.rows : [];
  const loadOlder = async (shown: LogEntry[]) => {
    const last = shown[shown.length - 1];
    if (!last) return;
    const path = conflictsPath;
    setOlder({ path, rows: olderRows, loading: true });
    try {
      const page = await api.get<ConflictPage>(`${path}&before=${last.at}`);
      setOlder({ path, rows: [...olderRows, ...page.conflicts], loading: false });
    } catch {
      setOlder({ path, rows: olderRows, loading: false });
    }
  };
  const canMerge = usePermissions(base).can('persons.merge');
  // The merge dialog's two ids (the second absent: it asks for it), and the last merge done (shown on
  // the kept person).
  const [merging, setMerging] = useState<readonly [string, string?]>();
  const [merged, setMerged] = useState<MergeDone>();
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
  const mergeDone = (done?: MergeDone) => {
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
  // Decisions about conflicts: the one awaiting its answer, and the last that failed.
  const [deciding, setDeciding] = useState<string>();
  const [decisionError, setDecisionError] = useState<string>();
  const decide = async (row: LogEntry, decision: 'kept_apart' | 'open') => {
    setDeciding(pairKey(row));
    setDecisionError(undefined);
    try {
      await api.post(`${base}/identity/conflicts/decision`, {
        distinctId: row.distinctId,
        otherDistinctId: row.otherDistinctId,
        decision,
      });
      setOlder(undefined);
      conflicts.reload();
      if (asked) lookup.reload();
    } catch (error) {
      setDecisionError(errorText(error, lang));
    } finally {
      setDeciding(undefined);
    }
  };
  /**
   * A conflict's state now: merged since, or decided to be two people (with "reopen"), or open (with,
   * for those who may, "merge…" and "keep apart").
   */
  const conflictStatus = (row: LogEntry) => {
    if (row.mergedSince) {
      return (
        <Tag color="green" data-testid="merged-since">
          {t('people.mergedSince')}
        </Tag>
      );
    }
    const busy = deciding === pairKey(row);
    if (row.decision === 'kept_apart') {
      return (
        <Space size="small">
          <Tag data-testid="kept-apart">{t('people.keptApartDecided')}</Tag>
          {canMerge && (
            <Button
              size="small"
              type="link"
              loading={busy}
              data-testid="reopen-button"
              onClick={() => decide(row, 'open')}
            >
              {t('people.reopen')}
            </Button>
          )}
        </Space>
      );
    }
    if (!canMerge) return <Typography.Text type="secondary">{t('people.open')}</Typography.Text>;
    return (
      <Space size="small">
        <Button
          size="small"
          data-testid="merge-button"
          onClick={() => setMerging([row.distinctId, row.otherDistinctId])}
        >
          {t('people.mergeAction')}
        </Button>
        <Button
          size="small"
          loading={busy}
          data-testid="keep-apart-button"
          onClick={() => decide(row, 'kept_apart')}
        >
          {t('people.keepApart')}
        </Button>
      </Space>
    );
  };
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

  // Columns both tables show: the conflicts list and a person's merges and conflicts.
  const logColumns = {
    time: { title: t('events.time'), dataIndex: 'at', render: (v: number) => dateTime(v), width: 180 },
    ids: [
      { title: t('people.ids.this'), dataIndex: 'distinctId', render: idLink },
      { title: t('people.ids.other'), dataIndex: 'otherDistinctId', render: idLink },
    ],
    reason: {
      title: t('people.reason'),
      dataIndex: lang === 'zh' ? 'reasonZh' : 'reason',
      render: (_: string, row: LogEntry) => reasonIn(row, lang),
    },
    /** How often a conflict was met (its first time on hover); a merge happens once. */
    times: {
      title: t('people.times'),
      dataIndex: 'times',
      align: 'right',
      render: (times: number, row: LogEntry) => (
        <span title={`${t('people.firstAt')} ${dateTime(row.firstAt)}`}>{times.toLocaleString()}</span>
      ),
    },
    // Pinned to the right: the actions stay in view when long ids make the table scroll.
    status: {
      title: t('people.status'),
      key: 'status',
      fixed: 'right',
      render: (_: unknown, row: LogEntry) => (row.kind === 'conflict' ? conflictStatus(row) : null),
    },
  } satisfies Record<string, ColumnsType<LogEntry>[number] | ColumnsType<LogEntry>>;

  const conflictColumns: ColumnsType<LogEntry> = [
    logColumns.time,
    ...logColumns.ids,
    logColumns.reason,
    logColumns.times,
    logColumns.status,
  ];

  const historyColumns = (personId: string): ColumnsType<LogEntry> => [
    logColumns.time,
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
    ...logColumns.ids,
    {
      title: t('people.otherPerson'),
      dataIndex: 'otherPersonId',
      render: (_: string, row: LogEntry) =>
        idLink(row.personId === personId ? row.otherPersonId : row.personId),
    },
    logColumns.reason,
    logColumns.times,
    logColumns.status,
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
          extra={
            <Space size="middle">
              {canMerge && (
                <Typography.Link data-testid="merge-other" onClick={() => setMerging([person.personId])}>
                  {t('people.mergeOther')}
                </Typography.Link>
              )}
              <Link to={eventsLink(person.personId)}>{t('people.seeEvents')}</Link>
            </Space>
          }
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
            timeColumns={['linkedAt']}
            rowKey="id"
            rows={person.ids.map((i) => ({ ...i, typeName: idTypeName(i.type, lang) }))}
            columns={[
              {
                title: t('people.ids'),
                dataIndex: 'id',
                render: (id: string) => <Typography.Text copyable>{id}</Typography.Text>,
              },
              { title: t('people.idType'), dataIndex: 'typeName' },
              { title: t('people.linkedAt'), dataIndex: 'linkedAt', render: (v: number) => dateTime(v) },
            ]}
          />
        </Card>
        {traits.length > 0 && (
          <Card size="small" title={t('people.traits')}>
            <PersonTraits traits={traits} column={{ xs: 1, md: 2 }} testId="person-traits" />
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
              timeColumns={['at']}
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
      {merging && (
        <MergePersonsModal base={base} first={merging[0]} second={merging[1]} onClose={mergeDone} />
      )}
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
                  <>
                    <Typography.Paragraph type="secondary">{t('people.hint')}</Typography.Paragraph>
                    <PersonsList base={base} onOpen={show} />
                  </>
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
                  title={t('people.openCount')}
                  count={conflicts.data?.open ?? 0}
                  overflowCount={9999}
                  showZero
                  color={conflicts.data?.open ? 'red' : 'gray'}
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
                    const listed = showAll ? d.total : d.open;
                    const choice = (
                      <Segmented
                        data-testid="conflicts-show"
                        value={showAll ? 'all' : 'open'}
                        onChange={(v) => url.set({ show: v === 'all' ? 'all' : undefined })}
                        options={[
                          { value: 'open', label: `${t('people.showOpen')} (${d.open.toLocaleString()})` },
                          { value: 'all', label: `${t('people.showAll')} (${d.total.toLocaleString()})` },
                        ]}
                      />
                    );
                    if (d.conflicts.length === 0) {
                      return (
                        <Space orientation="vertical" style={{ width: '100%' }}>
                          {d.total > 0 && choice}
                          <Empty
                            data-testid="no-conflicts"
                            description={t(d.total > 0 ? 'people.noOpenConflicts' : 'people.noConflicts')}
                          />
                        </Space>
                      );
                    }
                    const shown = [...d.conflicts, ...olderRows];
                    return (
                      <Space orientation="vertical" style={{ width: '100%' }}>
                        {choice}
                        {decisionError && (
                          <Alert
                            type="error"
                            showIcon
                            closable
                            message={decisionError}
                            data-testid="decision-error"
                          />
                        )}
                        <DataTable
                          testId="conflicts-table"
                          name="identity-conflicts"
                          timeColumns={['at']}
                          rowKey={(row) => `${row.at}-${row.distinctId}-${row.otherDistinctId}`}
                          rows={shown}
                          columns={conflictColumns}
                        />
                        {shown.length < listed && (
                          <Button
                            data-testid="conflicts-older"
                            loading={older?.loading === true}
                            onClick={() => loadOlder(shown)}
                          >
                            {t('people.loadOlder')} ({shown.length} / {listed})
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
