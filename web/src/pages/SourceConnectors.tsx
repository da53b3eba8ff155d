import {
  Alert,
  Button,
  Card,
  Form,
  Input,
  InputNumber,
  Modal,
  Popconfirm,
  Segmented,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api, errorText } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { usePermissions } from '../components/usePermissions';
import { platformName } from '../format';
import { useLang } from '../i18n';
import { useDateTime } from '../project';

// The shapes GET /api/v1/connectors and GET …/connectors answer (src/collect/connectors/catalogue.ts, status.ts).
interface Bilingual {
  en: string;
  zh: string;
}
interface ConfigField {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean';
  required: boolean;
  default?: string | number | boolean;
  label: Bilingual;
  hint?: Bilingual;
}
interface ConnectorInfo {
  id: string;
  platform: string;
  name: Bilingual;
  streams: { name: string; scheduleIntervalSeconds: number }[];
  configFields: ConfigField[];
}
type StreamState = 'never' | 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed';
interface StreamStatus {
  name: string;
  state: StreamState;
  lastSuccessAt: string | null;
  nextRunAt: string | null;
  attempts: number;
  lastError: { code: string | null; message: string; messageZh: string } | null;
  lastRun: { pages: number; rows: number; inProgress: boolean; updatedAt: string } | null;
}
interface Instance {
  id: string;
  name: string;
  connector: string;
  platform: string;
  credentials: { source: 'env'; variable: string; set: boolean } | { source: 'stored' };
  streams: StreamStatus[];
}

const TEXT = {
  en: {
    title: 'Connectors',
    hint: 'Platform accounts Pulseloop pulls data from on a schedule.',
    none: 'No connector yet.',
    name: 'Name',
    platform: 'Platform',
    credentials: 'Access token',
    stored: 'Stored (encrypted)',
    envSet: 'set on the server',
    envUnset: 'not set on the server',
    status: 'Status',
    lastSuccess: 'Last success',
    nextRun: 'Next run',
    rows: 'Rows (last run)',
    error: 'Last error',
    syncNow: 'Sync now',
    add: 'Add connector',
    remove: 'Remove',
    removeConfirm: 'Remove this connector? The data it already imported stays.',
    cancel: 'Cancel',
    connector: 'Connector',
    token: 'Access token',
    tokenEnv: 'Environment variable',
    tokenStore: 'Store a token',
    tokenFromEnv: 'Read from an environment variable',
    tokenEnvHint: 'The variable is read from the server’s environment at every sync.',
    required: 'Required',
    added: 'Connector added; its first sync is queued.',
    syncQueued: 'Sync started.',
    replaceToken: 'New token',
    replaceTokenTitle: 'A new access token for {name}',
    tokenReplaced: 'Token replaced; sync now to use it.',
  },
  zh: {
    title: '连接器',
    hint: 'Pulseloop 按计划从这些平台账号拉取数据。',
    none: '暂无连接器。',
    name: '名称',
    platform: '平台',
    credentials: '访问令牌',
    stored: '已加密存储',
    envSet: '服务器已设置',
    envUnset: '服务器未设置',
    status: '状态',
    lastSuccess: '上次成功',
    nextRun: '下次运行',
    rows: '行数（上次同步）',
    error: '最近错误',
    syncNow: '立即同步',
    add: '添加连接器',
    remove: '删除',
    removeConfirm: '删除该连接器？已导入的数据会保留。',
    cancel: '取消',
    connector: '连接器',
    token: '访问令牌',
    tokenEnv: '环境变量',
    tokenStore: '保存令牌',
    tokenFromEnv: '从环境变量读取',
    tokenEnvHint: '每次同步时从服务器的环境中读取该变量。',
    required: '必填',
    added: '连接器已添加，首次同步已排队。',
    syncQueued: '已开始同步。',
    replaceToken: '更换令牌',
    replaceTokenTitle: '为 {name} 更换访问令牌',
    tokenReplaced: '令牌已更换，可立即同步。',
  },
};

const STATES: Record<StreamState, { color: string; en: string; zh: string }> = {
  never: { color: 'default', en: 'Never run', zh: '未运行' },
  queued: { color: 'blue', en: 'Queued', zh: '排队中' },
  running: { color: 'processing', en: 'Running', zh: '同步中' },
  retrying: { color: 'orange', en: 'Retrying', zh: '等待重试' },
  succeeded: { color: 'green', en: 'Succeeded', zh: '成功' },
  failed: { color: 'red', en: 'Failed', zh: '失败' },
};

const STREAM_NAMES: Record<string, Bilingual> = {
  ad_report: { en: 'Ad report', zh: '广告报表' },
  video_list: { en: 'Video list', zh: '视频列表' },
};

/** How long the list keeps refreshing itself while a sync is queued or running. */
const POLL_MS = 1_500;
const POLL_LIMIT = 80;

/** Lines of a cell, one per stream (every connector has one stream today; the layout allows more). */
function perStream(streams: StreamStatus[], render: (s: StreamStatus) => ReactNode) {
  return (
    <Space orientation="vertical" size={2}>
      {streams.map((s) => (
        <span key={s.name}>{render(s)}</span>
      ))}
    </Space>
  );
}

/** The project's connectors on the data-sources page: state of their syncs, sync now, add, remove. */
export function ConnectorsCard({ projectId }: { projectId: string }) {
  const lang = useLang();
  const dateTime = useDateTime();
  const when = (iso: string | null) => (iso ? dateTime(iso) : '—');
  const text = TEXT[lang];
  const base = `/api/v1/projects/${encodeURIComponent(projectId)}`;
  const { permissions, can } = usePermissions(base);
  const list = useAsync(() => api.get<{ connectors: Instance[] }>(`${base}/connectors`), [base]);
  const [message, showMessage] = useLatestOutcome();
  // Connectors whose "Sync now" awaits its answer (several rows can wait at once).
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [adding, setAdding] = useState(false);
  const [retokening, setRetokening] = useState<Instance>();
  const [polls, setPolls] = useState(0);

  const active = list.data?.connectors.some((c) =>
    c.streams.some((s) => s.state === 'running' || s.state === 'queued'),
  );
  // Refresh while a sync is due or runs, so that its end shows without a reload (for a while: a
  // queued sync may wait for the server's next round).
  useEffect(() => {
    if (!active || list.loading || polls >= POLL_LIMIT) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      list.reload();
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [active, list.loading, list.reload, polls]);

  const failure = (error: unknown): Outcome => ({
    type: 'error',
    text: errorText(error, lang),
  });
  const syncNow = async (instance: Instance) => {
    const show = showMessage();
    setPending((ids) => new Set(ids).add(instance.id));
    setPolls(0);
    try {
      await api.post(`${base}/connectors/${instance.id}/sync`);
      show({ type: 'success', text: text.syncQueued });
    } catch (error) {
      show(failure(error));
    } finally {
      setPending((ids) => {
        const rest = new Set(ids);
        rest.delete(instance.id);
        return rest;
      });
    }
    list.reload();
  };
  const remove = async (instance: Instance) => {
    const show = showMessage();
    try {
      await api.del(`${base}/connectors/${instance.id}`);
    } catch (error) {
      show(failure(error));
    }
    list.reload();
  };

  return (
    <Card
      title={text.title}
      data-testid="connectors-card"
      data-role={permissions.data?.role ?? ''}
      extra={
        can('keys.manage') && (
          <Button type="primary" onClick={() => setAdding(true)} data-testid="connector-add">
            {text.add}
          </Button>
        )
      }
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{text.hint}</Typography.Text>
        {message && (
          <Alert
            type={message.type}
            showIcon
            closable
            onClose={() => showMessage()}
            message={message.text}
            data-testid="connector-message"
          />
        )}
        <PageState state={list}>
          {(data) => (
            <Table<Instance>
              size="small"
              rowKey="id"
              data-testid="connectors-table"
              pagination={false}
              scroll={{ x: 'max-content' }}
              locale={{ emptyText: text.none }}
              dataSource={data.connectors}
              columns={[
                { title: text.name, dataIndex: 'name' },
                {
                  title: text.platform,
                  dataIndex: 'platform',
                  render: (p: string) => <Tag>{platformName(p, lang)}</Tag>,
                },
                {
                  title: text.credentials,
                  key: 'credentials',
                  render: (_, row) =>
                    row.credentials.source === 'stored' ? (
                      text.stored
                    ) : (
                      <Space size={4}>
                        <Typography.Text code>{row.credentials.variable}</Typography.Text>
                        <Tag color={row.credentials.set ? 'green' : 'red'}>
                          {row.credentials.set ? text.envSet : text.envUnset}
                        </Tag>
                      </Space>
                    ),
                },
                {
                  title: text.status,
                  key: 'status',
                  render: (_, row) =>
                    perStream(row.streams, (s) => (
                      <Space size={4}>
                        <Typography.Text type="secondary">
                          {STREAM_NAMES[s.name]?.[lang] ?? s.name}
                        </Typography.Text>
                        <Tag
                          color={STATES[s.state].color}
                          data-testid={`connector-state-${s.name}`}
                          data-state={s.state}
                        >
                          {STATES[s.state][lang]}
                        </Tag>
                      </Space>
                    )),
                },
                {
                  title: text.lastSuccess,
                  key: 'lastSuccess',
                  render: (_, row) => perStream(row.streams, (s) => when(s.lastSuccessAt)),
                },
                {
                  title: text.nextRun,
                  key: 'nextRun',
                  render: (_, row) => perStream(row.streams, (s) => when(s.nextRunAt)),
                },
                {
                  title: text.rows,
                  key: 'rows',
                  render: (_, row) =>
                    perStream(row.streams, (s) => (
                      <span data-testid={`connector-rows-${s.name}`}>
                        {s.lastRun ? s.lastRun.rows.toLocaleString() : '—'}
                      </span>
                    )),
                },
                {
                  title: text.error,
                  key: 'error',
                  render: (_, row) =>
                    perStream(row.streams, (s) => {
                      if (!s.lastError) return '—';
                      const message = lang === 'zh' ? s.lastError.messageZh : s.lastError.message;
                      return (
                        <Tooltip title={message}>
                          <Typography.Text
                            type="danger"
                            ellipsis
                            style={{ maxWidth: 220 }}
                            data-testid={`connector-error-${s.name}`}
                          >
                            {message}
                          </Typography.Text>
                        </Tooltip>
                      );
                    }),
                },
                {
                  title: '',
                  key: 'actions',
                  // Kept in view when the table scrolls sideways on a narrow screen.
                  fixed: 'right',
                  render: (_, row) => (
                    <Space>
                      {can('data.import') && (
                        <Button
                          size="small"
                          data-testid="connector-sync"
                          loading={pending.has(row.id)}
                          disabled={row.streams.some((s) => s.state === 'running')}
                          onClick={() => syncNow(row)}
                        >
                          {text.syncNow}
                        </Button>
                      )}
                      {can('keys.manage') && (
                        <Button
                          size="small"
                          data-testid="connector-retoken"
                          onClick={() => setRetokening(row)}
                        >
                          {text.replaceToken}
                        </Button>
                      )}
                      {can('keys.manage') && (
                        <Popconfirm
                          title={text.removeConfirm}
                          okText={text.remove}
                          cancelText={text.cancel}
                          okButtonProps={{ danger: true }}
                          onConfirm={() => remove(row)}
                        >
                          <Button size="small" danger data-testid="connector-remove">
                            {text.remove}
                          </Button>
                        </Popconfirm>
                      )}
                    </Space>
                  ),
                },
              ]}
            />
          )}
        </PageState>
      </Space>
      {retokening && (
        <TokenModal
          base={base}
          instance={retokening}
          onClose={(replaced) => {
            setRetokening(undefined);
            if (replaced) {
              showMessage()({ type: 'success', text: text.tokenReplaced });
              list.reload();
            }
          }}
        />
      )}
      {adding && (
        <AddConnectorModal
          base={base}
          onClose={(added) => {
            setAdding(false);
            if (added) {
              showMessage()({ type: 'success', text: text.added });
              list.reload();
            }
          }}
        />
      )}
    </Card>
  );
}

interface Outcome {
  type: 'success' | 'error';
  text: string;
}

/**
 * The message of the page's last action. Answers can arrive out of order (a slow "Sync now"
 * answered after a token replaced since): starting an action clears the message and gives the
 * function that shows its outcome, which does nothing once a later action has started.
 */
function useLatestOutcome(): [Outcome | undefined, () => (outcome: Outcome) => void] {
  const [message, setMessage] = useState<Outcome>();
  const latest = useRef(0);
  const start = () => {
    const action = ++latest.current;
    setMessage(undefined);
    return (outcome: Outcome) => {
      if (action === latest.current) setMessage(outcome);
    };
  };
  return [message, start];
}

interface AddForm {
  connector?: string;
  name?: string;
  config?: Record<string, string | number | null | undefined>;
  token?: string;
  tokenEnv?: string;
}

/** The form to connect an account: the catalogue's connectors, their settings, a token or a variable. */
function AddConnectorModal({ base, onClose }: { base: string; onClose: (added: boolean) => void }) {
  const lang = useLang();
  const text = TEXT[lang];
  const catalogue = useAsync(() => api.get<{ connectors: ConnectorInfo[] }>('/api/v1/connectors'), []);
  const [form] = Form.useForm<AddForm>();
  const [connectorId, setConnectorId] = useState<string>();
  const [credentials, setCredentials] = useState<'token' | 'env'>('token');
  const connector = catalogue.data?.connectors.find((c) => c.id === connectorId);
  const { submit, saving, error } = useFormSubmit(
    form,
    (values) => {
      const config = Object.fromEntries(
        Object.entries(values.config ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== ''),
      );
      return api.post(`${base}/connectors`, {
        connector: values.connector,
        name: values.name,
        config,
        ...credentialsOf(credentials, values),
      });
    },
    () => onClose(true),
  );

  return (
    <Modal
      open
      title={text.add}
      okText={text.add}
      cancelText={text.cancel}
      confirmLoading={saving}
      onOk={submit}
      onCancel={() => onClose(false)}
      destroyOnHidden
      data-testid="connector-modal"
    >
      <PageState state={catalogue}>
        {(data) => (
          <Form form={form} layout="vertical" requiredMark data-testid="connector-form">
            <Form.Item
              name="connector"
              label={text.connector}
              rules={[{ required: true, message: text.required }]}
            >
              <Select
                data-testid="connector-select"
                onChange={(id: string) => setConnectorId(id)}
                options={data.connectors.map((c) => ({
                  value: c.id,
                  label: `${platformName(c.platform, lang)} · ${c.name[lang]}`,
                }))}
              />
            </Form.Item>
            <Form.Item name="name" label={text.name} rules={[{ required: true, message: text.required }]}>
              <Input maxLength={100} data-testid="connector-name" />
            </Form.Item>
            {connector?.configFields.map((field) => (
              <Form.Item
                key={field.name}
                name={['config', field.name]}
                label={field.label[lang]}
                extra={field.hint?.[lang]}
                rules={field.required ? [{ required: true, message: text.required }] : []}
              >
                {field.type === 'integer' || field.type === 'number' ? (
                  <InputNumber
                    style={{ width: '100%' }}
                    precision={field.type === 'integer' ? 0 : undefined}
                    placeholder={field.default === undefined ? undefined : String(field.default)}
                  />
                ) : (
                  <Input
                    data-testid={`connector-config-${field.name}`}
                    placeholder={field.default === undefined ? undefined : String(field.default)}
                  />
                )}
              </Form.Item>
            ))}
            <CredentialsFields credentials={credentials} onChange={setCredentials} />
            {error && <Alert type="error" showIcon message={error} data-testid="connector-form-error" />}
          </Form>
        )}
      </PageState>
    </Modal>
  );
}

/** Where a connector's token comes from: a token stored encrypted, or a variable of the server's environment. */
function CredentialsFields({
  credentials,
  onChange,
}: {
  credentials: 'token' | 'env';
  onChange: (credentials: 'token' | 'env') => void;
}) {
  const text = TEXT[useLang()];
  return (
    <>
      <Form.Item label={text.credentials}>
        <Segmented
          value={credentials}
          onChange={(v) => onChange(v as 'token' | 'env')}
          options={[
            { value: 'token', label: text.tokenStore },
            { value: 'env', label: text.tokenFromEnv },
          ]}
        />
      </Form.Item>
      {credentials === 'token' ? (
        <Form.Item name="token" label={text.token} rules={[{ required: true, message: text.required }]}>
          <Input.Password autoComplete="off" data-testid="connector-token" />
        </Form.Item>
      ) : (
        <Form.Item
          name="tokenEnv"
          label={text.tokenEnv}
          extra={text.tokenEnvHint}
          rules={[
            { required: true, message: text.required },
            { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, message: 'A-Z, 0-9, _' },
          ]}
        >
          <Input data-testid="connector-token-env" placeholder="DOUYIN_TOKEN" />
        </Form.Item>
      )}
    </>
  );
}

/** A new token for an account whose token expired or was revoked; its settings and sync progress stay. */
function TokenModal({
  base,
  instance,
  onClose,
}: {
  base: string;
  instance: Instance;
  onClose: (replaced: boolean) => void;
}) {
  const lang = useLang();
  const text = TEXT[lang];
  const [form] = Form.useForm<Pick<AddForm, 'token' | 'tokenEnv'>>();
  const [credentials, setCredentials] = useState<'token' | 'env'>('token');
  const { submit, saving, error } = useFormSubmit(
    form,
    (values) => api.put(`${base}/connectors/${instance.id}/credentials`, credentialsOf(credentials, values)),
    () => onClose(true),
  );

  return (
    <Modal
      open
      title={text.replaceTokenTitle.replace('{name}', instance.name)}
      okText={text.replaceToken}
      cancelText={text.cancel}
      confirmLoading={saving}
      onOk={submit}
      onCancel={() => onClose(false)}
      destroyOnHidden
      data-testid="connector-token-modal"
    >
      <Form form={form} layout="vertical" requiredMark>
        <CredentialsFields credentials={credentials} onChange={setCredentials} />
        {error && <Alert type="error" showIcon message={error} data-testid="connector-token-error" />}
      </Form>
    </Modal>
  );
}

/** The credentials part of a request body, as the form chose it. */
function credentialsOf(credentials: 'token' | 'env', values: Pick<AddForm, 'token' | 'tokenEnv'>) {
  return credentials === 'token' ? { token: values.token } : { tokenEnv: values.tokenEnv };
}

/**
 * Submitting a modal's form: an incomplete form shows its messages next to the fields and sends
 * nothing; a refusal is shown in the page's language; `done` runs after a success.
 */
function useFormSubmit<Values>(
  form: ReturnType<typeof Form.useForm<Values>>[0],
  send: (values: Values) => Promise<unknown>,
  done: () => void,
) {
  const lang = useLang();
  const [error, setError] = useState<string>();
  const [saving, setSaving] = useState(false);
  const submit = async () => {
    const values = await form.validateFields().catch(() => undefined);
    if (!values) return;
    setSaving(true);
    setError(undefined);
    try {
      await send(values);
      done();
    } catch (e) {
      setError(errorText(e, lang));
    } finally {
      setSaving(false);
    }
  };
  return { submit, saving, error };
}
