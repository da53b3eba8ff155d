import { Card, Empty, Input, Segmented, Space, Table, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { api } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { platformName } from '../format';
import { useLang, useT } from '../i18n';
import { useDateTime } from '../project';
import { useGlobalView, useUrlState } from '../state';
import type { ListedPerson, PersonsPage } from './people-types';

const PAGE_SIZE = 50;

/** What a person is called in the list: a name trait, else a user id, else nothing (anonymous). */
function nameOf(person: ListedPerson): string | undefined {
  for (const trait of ['name', 'nickname', 'username']) {
    const value = person.traits[trait];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return person.userIds[0];
}

/**
 * The persons seen in the dashboard's dates and platforms, as every analysis counts them, most
 * recently seen (or most active) first, paged by the server; a click opens the person.
 */
export function PersonsList({ base, onOpen }: { base: string; onOpen: (personId: string) => void }) {
  const t = useT();
  const lang = useLang();
  const dateTime = useDateTime();
  const { from, to, platformKey } = useGlobalView();
  const url = useUrlState();
  const sort = url.get('sort') === 'events' ? 'events' : 'last_seen';
  const page = Math.max(1, Number(url.get('page')) || 1);
  // Only those who did this event (buyers: order_completed), counted and dated by it.
  const did = url.get('did') ?? '';
  const query = new URLSearchParams({
    from,
    to,
    sort,
    limit: String(PAGE_SIZE),
    offset: String((page - 1) * PAGE_SIZE),
  });
  if (platformKey) query.set('platform', platformKey);
  if (did) query.set('event', did);
  const path = `${base}/persons?${query}`;
  const persons = useAsync(() => api.get<PersonsPage>(path), [path]);

  // What the list is sorted by comes first, so that it stays in view on a narrow screen.
  const columns: ColumnsType<ListedPerson> = [
    {
      title: t('people.person'),
      key: 'name',
      render: (_: unknown, person) => {
        const name = nameOf(person);
        return name ? (
          <Typography.Link data-testid="listed-person">{name}</Typography.Link>
        ) : (
          <Space size="small">
            <Typography.Link data-testid="listed-person">{person.personId.slice(0, 8)}</Typography.Link>
            <Tag>{t('people.anonymous')}</Tag>
          </Space>
        );
      },
    },
    { title: t('people.lastSeen'), dataIndex: 'lastSeen', render: (v: number) => dateTime(v) },
    {
      title: did ? `${t('people.eventCount')}: ${did}` : t('people.eventCount'),
      dataIndex: 'events',
      align: 'right',
      render: (n: number) => n.toLocaleString(),
    },
    {
      title: t('people.platforms'),
      dataIndex: 'platforms',
      render: (platforms: string[]) => platforms.map((p) => <Tag key={p}>{platformName(p, lang)}</Tag>),
    },
    {
      title: t('people.userIds'),
      dataIndex: 'userIds',
      render: (ids: string[]) => ids.join(', '),
    },
    { title: t('people.idCount'), dataIndex: 'idsTotal', align: 'right' },
    { title: t('people.firstSeen'), dataIndex: 'firstSeen', render: (v: number) => dateTime(v) },
  ];

  return (
    <Card
      size="small"
      title={t('people.seen')}
      extra={
        <Segmented
          data-testid="persons-sort"
          value={sort}
          onChange={(v) => url.set({ sort: v === 'events' ? 'events' : undefined, page: undefined })}
          options={[
            { value: 'last_seen', label: t('people.sortRecent') },
            { value: 'events', label: t('people.sortActive') },
          ]}
        />
      }
    >
      <Typography.Paragraph type="secondary">{t('people.seenHint')}</Typography.Paragraph>
      <Input.Search
        // A new value from a link replaces what was typed.
        key={did}
        data-testid="persons-did"
        allowClear
        placeholder={t('people.didPlaceholder')}
        defaultValue={did}
        onSearch={(v) => url.set({ did: v.trim() || undefined, page: undefined })}
        style={{ maxWidth: 420, marginBottom: 12 }}
      />
      <PageState state={persons}>
        {(d) =>
          d.total === 0 ? (
            <Empty data-testid="persons-none" description={t('people.noneSeen')} />
          ) : (
            <div data-testid="persons-table">
              <Table<ListedPerson>
                size="small"
                rowKey="personId"
                columns={columns}
                dataSource={d.persons}
                loading={persons.loading}
                scroll={{ x: 'max-content' }}
                onRow={(person) => ({ onClick: () => onOpen(person.personId), style: { cursor: 'pointer' } })}
                pagination={{
                  current: page,
                  pageSize: PAGE_SIZE,
                  total: d.total,
                  showSizeChanger: false,
                  showTotal: (total) => t('people.seenTotal').replace('{total}', total.toLocaleString()),
                  onChange: (next) => url.set({ page: next > 1 ? String(next) : undefined }),
                }}
              />
            </div>
          )
        }
      </PageState>
    </Card>
  );
}
