import { Alert, Button, Card, InputNumber, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { api, errorText } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { type Names, nameIn } from '../format';
import { type Lang, useLang } from '../i18n';
import { useDateTime } from '../project';
import { useGlobalView } from '../state';

const TEXT = {
  en: {
    retention: 'Data retention',
    retentionHint:
      'Rows older than the period are deleted automatically (every few hours) and by the store itself. Empty keeps forever.',
    kind: 'Data',
    days: 'Keep (days)',
    forever: 'Keep forever',
    save: 'Save',
    saved: 'Saved.',
    applyNow: 'Delete expired rows now',
    applyConfirm: 'Delete now every row older than the saved periods? Deleted rows cannot be restored.',
    unsavedIgnored: 'The changes not yet saved are not used.',
    delete: 'Delete',
    cancel: 'Cancel',
    removed: 'Rows removed',
    audit: 'Audit log',
    auditHint:
      'Sign-ins, key and role changes, imports, exports, erasures and settings: who, what, when, from where.',
    time: 'Time',
    who: 'Who',
    action: 'Action',
    outcome: 'Outcome',
    from: 'From',
    exportCsv: 'Export CSV',
    notAllowed: 'Your role cannot see this. Owners and admins can.',
    readOnly: 'Your role can view these settings but not change them.',
  },
  zh: {
    retention: '数据保留',
    retentionHint: '超过保留期的数据会被自动删除（每隔几小时一次），存储引擎也会自行清理。留空表示永久保留。',
    kind: '数据',
    days: '保留天数',
    forever: '永久保留',
    save: '保存',
    saved: '已保存。',
    applyNow: '立即删除过期数据',
    applyConfirm: '立即删除早于已保存期限的所有数据？删除后无法恢复。',
    unsavedIgnored: '尚未保存的修改不会生效。',
    delete: '删除',
    cancel: '取消',
    removed: '已删除行数',
    audit: '审计日志',
    auditHint: '登录、密钥与角色变更、导入、导出、删除个人数据与设置变更：谁、做了什么、何时、从哪里。',
    time: '时间',
    who: '操作人',
    action: '操作',
    outcome: '结果',
    from: '来源',
    exportCsv: '导出 CSV',
    notAllowed: '你的角色无权查看，所有者和管理员可以查看。',
    readOnly: '你的角色可以查看这些设置，但不能修改。',
  },
};

const KIND_NAMES: Names = {
  events: { en: 'Events', zh: '事件' },
  quarantine: { en: 'Quarantine', zh: '隔离区' },
  identity_log: { en: 'Identity changes', zh: '身份变更记录' },
  orders: { en: 'Orders', zh: '订单' },
  comments: { en: 'Comments', zh: '评论' },
  content_stats: { en: 'Content statistics', zh: '内容数据' },
  ad_spend: { en: 'Ad spend', zh: '广告投放' },
};

const OUTCOMES: Record<string, { color: string; en: string; zh: string }> = {
  success: { color: 'green', en: 'success', zh: '成功' },
  failure: { color: 'red', en: 'failure', zh: '失败' },
  denied: { color: 'orange', en: 'denied', zh: '拒绝' },
};

interface Permissions {
  role: string;
  matrix: Record<string, string[]>;
}
type Retention = Record<string, number | null>;
interface AuditEntry {
  id: string;
  at: string;
  actorType: string;
  actorLabel: string;
  action: string;
  outcome: string;
  ip: string;
}

const kindName = (kind: string, lang: Lang) => nameIn(KIND_NAMES, kind, lang);

/** Who did it: a person's e-mail or a token's name as recorded; the command line and the server's own jobs named in the page's language. */
const ACTOR_NAMES: Names = {
  cli: { en: 'command line', zh: '命令行' },
  system: { en: 'system', zh: '系统' },
};
const actorName = (type: string, label: string, lang: Lang) => nameIn(ACTOR_NAMES, type, lang, label);

/** Settings owners and admins look after: how long data is kept, and the audit log. */
export default function Settings() {
  const { projectId } = useGlobalView();
  const base = `/api/v1/projects/${encodeURIComponent(projectId ?? '')}`;
  const permissions = useAsync(() => api.get<Permissions>(`${base}/permissions`), [base]);
  return (
    <PageState state={permissions}>
      {({ role, matrix }) => {
        const can = (permission: string) => matrix[permission]?.includes(role) ?? false;
        return (
          <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
            <RetentionCard
              base={base}
              canRead={can('retention.read')}
              canChange={can('retention.configure')}
            />
            <AuditCard base={base} canRead={can('audit.read')} />
          </Space>
        );
      }}
    </PageState>
  );
}

function RetentionCard({ base, canRead, canChange }: { base: string; canRead: boolean; canChange: boolean }) {
  const lang = useLang();
  const text = TEXT[lang];
  const current = useAsync(
    () => (canRead ? api.get<{ retention: Retention }>(`${base}/retention`) : Promise.resolve(undefined)),
    [base, canRead],
  );
  const [draft, setDraft] = useState<Retention>({});
  const [message, setMessage] = useState<{ type: 'success' | 'error'; text: string }>();
  const [busy, setBusy] = useState(false);
  // What the server holds: loaded, then as the answer to a save says (no second request).
  const [saved, setSaved] = useState<Retention>({});
  useEffect(() => {
    setSaved(current.data?.retention ?? {});
    setDraft(current.data?.retention ?? {});
  }, [current.data]);
  const unsaved = Object.keys(draft).some((kind) => draft[kind] !== saved[kind]);

  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    try {
      setMessage({ type: 'success', text: await work() });
    } catch (error) {
      setMessage({ type: 'error', text: errorText(error, lang) });
    } finally {
      setBusy(false);
    }
  };
  const save = () =>
    act(async () => {
      const { retention } = await api.put<{ retention: Retention }>(`${base}/retention`, draft);
      setSaved(retention);
      setDraft(retention);
      return text.saved;
    });
  const applyNow = () =>
    act(async () => {
      const { removed } = await api.post<{ removed: Record<string, number> }>(`${base}/retention/apply`);
      const parts = Object.entries(removed).map(([kind, n]) => `${kindName(kind, lang)} ${n}`);
      return `${text.removed}: ${parts.join(' · ') || '0'}`;
    });

  return (
    <Card title={text.retention} data-testid="retention-card">
      {!canRead ? (
        <Alert type="info" showIcon message={text.notAllowed} />
      ) : (
        <PageState state={current}>
          {() => (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Typography.Text type="secondary">{text.retentionHint}</Typography.Text>
              {!canChange && <Alert type="info" showIcon message={text.readOnly} />}
              <Table
                size="small"
                pagination={false}
                rowKey="kind"
                data-testid="retention-table"
                dataSource={Object.keys(draft).map((kind) => ({ kind, days: draft[kind] }))}
                columns={[
                  { title: text.kind, dataIndex: 'kind', render: (k: string) => kindName(k, lang) },
                  {
                    title: text.days,
                    dataIndex: 'days',
                    render: (days: number | null, row: { kind: string }) => (
                      <InputNumber
                        data-testid={`retention-${row.kind}`}
                        data-value={days ?? ''}
                        min={1}
                        max={36_500}
                        precision={0}
                        disabled={!canChange}
                        placeholder={text.forever}
                        value={days}
                        style={{ width: 160 }}
                        onChange={(value) => setDraft((d) => ({ ...d, [row.kind]: value ?? null }))}
                      />
                    ),
                  },
                ]}
              />
              {canChange && (
                <Space wrap>
                  <Button type="primary" loading={busy} onClick={save} data-testid="retention-save">
                    {text.save}
                  </Button>
                  {/* Deletes data for good, by the saved periods: asked first. */}
                  <Popconfirm
                    title={unsaved ? `${text.applyConfirm} ${text.unsavedIgnored}` : text.applyConfirm}
                    okText={text.delete}
                    cancelText={text.cancel}
                    okButtonProps={{ danger: true }}
                    onConfirm={applyNow}
                  >
                    <Button loading={busy} data-testid="retention-apply">
                      {text.applyNow}
                    </Button>
                  </Popconfirm>
                </Space>
              )}
              {message && (
                <Alert type={message.type} showIcon message={message.text} data-testid="retention-message" />
              )}
            </Space>
          )}
        </PageState>
      )}
    </Card>
  );
}

function AuditCard({ base, canRead }: { base: string; canRead: boolean }) {
  const lang = useLang();
  const dateTime = useDateTime();
  const text = TEXT[lang];
  const entries = useAsync(
    () =>
      canRead ? api.get<{ entries: AuditEntry[] }>(`${base}/audit?limit=50`) : Promise.resolve(undefined),
    [base, canRead],
  );
  return (
    <Card
      title={text.audit}
      data-testid="audit-card"
      extra={
        canRead && (
          <Button href={`${base}/audit.csv`} download="audit-log.csv" data-testid="audit-csv">
            {text.exportCsv}
          </Button>
        )
      }
    >
      {!canRead ? (
        <Alert type="info" showIcon message={text.notAllowed} />
      ) : (
        <PageState state={entries}>
          {(data) => (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Typography.Text type="secondary">{text.auditHint}</Typography.Text>
              <Table
                size="small"
                rowKey="id"
                data-testid="audit-table"
                pagination={{ pageSize: 10, showSizeChanger: false }}
                scroll={{ x: 'max-content' }}
                dataSource={data?.entries ?? []}
                columns={[
                  {
                    title: text.time,
                    dataIndex: 'at',
                    render: (at: string) => dateTime(at),
                  },
                  {
                    title: text.who,
                    dataIndex: 'actorLabel',
                    render: (label: string, entry: AuditEntry) => actorName(entry.actorType, label, lang),
                  },
                  {
                    title: text.action,
                    dataIndex: 'action',
                    render: (a: string) => <Typography.Text code>{a}</Typography.Text>,
                  },
                  {
                    title: text.outcome,
                    dataIndex: 'outcome',
                    render: (o: string) => <Tag color={OUTCOMES[o]?.color}>{OUTCOMES[o]?.[lang] ?? o}</Tag>,
                  },
                  { title: text.from, dataIndex: 'ip' },
                ]}
              />
            </Space>
          )}
        </PageState>
      )}
    </Card>
  );
}
