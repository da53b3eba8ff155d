import { InboxOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Popconfirm,
  Progress,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
  Upload,
} from 'antd';
import { useState } from 'react';
import { ApiError, api, errorText } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { useLang, useT } from '../i18n';
import { useDateTime } from '../project';
import { useGlobalView } from '../state';
import { ConnectorsCard } from './SourceConnectors';

interface WriteKey {
  key: string;
  createdAt: string;
  revokedAt: string | null;
}
interface Source {
  id: string;
  name: string;
  kind: string;
  writeKeys: WriteKey[];
}

const IMPORT_KINDS = ['content_stats', 'ad_spend', 'orders', 'comments', 'events', 'persons'];

const SOURCE_KINDS: Record<string, { en: string; zh: string }> = {
  website: { en: 'Website', zh: '网站' },
  app: { en: 'App', zh: '应用' },
  mini_program: { en: 'Mini-program', zh: '小程序' },
  server: { en: 'Server', zh: '服务器' },
  import: { en: 'File import', zh: '文件导入' },
};

const SNIPPET_LABELS = {
  browser: 'sources.snippetBrowser',
  node: 'sources.snippetNode',
  curl: 'sources.snippetCurl',
  miniprogram: 'sources.snippetMiniprogram',
} as const;

function snippets(key: string, host: string): Record<keyof typeof SNIPPET_LABELS, string> {
  return {
    // The SDKs send the page view (browser) and Application Opened (mini-program) themselves: the
    // snippets call neither again, or each visit would count twice.
    browser: `<script type="module">
  import { init } from '${host}/sdk/browser/pulseloop.min.js';
  const pulseloop = init({ writeKey: '${key}', host: '${host}', trackHistory: true });
  pulseloop.track('Signed Up', { plan: 'trial' });
</script>`,
    node: `import { Analytics } from '@segment/analytics-node';
const analytics = new Analytics({ writeKey: '${key}', host: '${host}' });
analytics.track({ userId: 'u-1', event: 'Order Completed', properties: { revenue: 99, currency: 'CNY' } });`,
    curl: `curl -u '${key}:' -H 'content-type: application/json' \\
  -d '{"event":"Signed Up","userId":"u-1"}' ${host}/v1/track`,
    miniprogram: `import { createSdk } from '@pulseloop/sdk-miniprogram';
const pulseloop = createSdk(wx, { writeKey: '${key}', host: '${host}' });
pulseloop.track('Add To Cart', { content_id: 'sku-7', revenue: 99, currency: 'CNY' });`,
  };
}

interface RowError {
  row: number;
  column: string;
  value: string;
  message: string;
  message_zh: string;
}

interface ImportSummary {
  kind: string;
  preset: string | null;
  format: string;
  encoding: string;
  rowsRead: number;
  imported: number;
  updated: number;
  unchanged: number;
  duplicates: number;
  quarantined: number;
  skipped: { blank: number; summary: number; header: number };
  errors: RowError[];
  errorCount: number;
  rowsPerSecond: number;
}

interface Detection {
  format: string;
  encoding: string;
  proposal: { kind: string; preset: string | null } | null;
}

const IMPORT_TEXT = {
  en: {
    auto: 'Detect automatically',
    detected: 'Detected',
    rowsRead: 'Rows read',
    imported: 'New',
    updated: 'Updated',
    unchanged: 'Unchanged',
    duplicates: 'Repeated in file',
    quarantined: 'Quarantined',
    skipped: 'Skipped (blank / summary)',
    speed: 'Rows per second',
    value: 'Value',
    format: 'Format',
    preset: 'Preset',
    day: 'Day of the numbers',
    dayHint: 'for a file without a date column (such as a post list)',
    pickDay:
      'The file does not say which day its numbers are for: pick the day of the numbers above and upload it again.',
  },
  zh: {
    auto: '自动识别',
    detected: '识别结果',
    rowsRead: '读取行数',
    imported: '新增',
    updated: '更新',
    unchanged: '未变化',
    duplicates: '文件内重复',
    quarantined: '已隔离',
    skipped: '跳过（空行 / 合计行）',
    speed: '每秒行数',
    value: '值',
    format: '格式',
    preset: '预设',
    day: '数据日期',
    dayHint: '文件没有日期列时填写（如作品列表）',
    pickDay: '文件中没有数据所属的日期：请在上方选择数据日期后重新上传。',
  },
};

/** Write keys with SDK snippets, and file import with upload progress and the row-error report. */
export default function Sources() {
  const t = useT();
  const lang = useLang();
  const dateTime = useDateTime();
  const { projectId } = useGlobalView();
  const sources = useAsync(
    () => api.get<{ sources: Source[]; keysVisible: boolean }>(`/api/v1/projects/${projectId}/sources`),
    [projectId],
  );
  const [kind, setKind] = useState('auto');
  // The day an export's numbers are for, when the file says it nowhere (`date=`).
  const [numbersDay, setNumbersDay] = useState<string>();
  const [progress, setProgress] = useState<number>();
  const [summary, setSummary] = useState<ImportSummary>();
  const [detection, setDetection] = useState<Detection>();
  const [importError, setImportError] = useState<string>();
  const host = window.location.origin;
  const it = IMPORT_TEXT[lang];
  // A write-key change under way (the source or key it concerns), and why the last one failed.
  const [keyChange, setKeyChange] = useState<string>();
  const [keyError, setKeyError] = useState<string>();
  const changeKeys = async (target: string, send: () => Promise<unknown>) => {
    setKeyChange(target);
    setKeyError(undefined);
    try {
      await send();
    } catch (error) {
      setKeyError(errorText(error, lang));
    } finally {
      setKeyChange(undefined);
      sources.reload();
    }
  };

  const upload = async (file: File) => {
    setSummary(undefined);
    setDetection(undefined);
    setImportError(undefined);
    setProgress(0);
    try {
      const base = `/api/v1/projects/${projectId}/imports`;
      const q = new URLSearchParams({ filename: file.name });
      if (numbersDay) q.set('date', numbersDay);
      if (kind === 'auto') {
        // Only the head of the file is needed to propose a kind and preset.
        const detected = await api.upload<Detection>(
          `${base}/detect?${q}`,
          file.slice(0, 256 * 1024),
          () => {},
        );
        setDetection(detected);
        if (!detected.proposal)
          throw new Error(
            lang === 'zh'
              ? '无法识别该文件的数据类型，请手动选择。'
              : 'Could not tell what this file holds; choose the kind of data.',
          );
        q.set('kind', detected.proposal.kind);
        if (detected.proposal.preset) q.set('preset', detected.proposal.preset);
      } else {
        q.set('kind', kind);
      }
      setSummary(await api.upload<ImportSummary>(`${base}?${q}`, file, setProgress));
    } catch (error) {
      // The server's sentence names command-line options; here the answer is the date box.
      const lacksDay =
        error instanceof ApiError &&
        String(error.details.missing ?? '')
          .split(',')
          .includes('date');
      setImportError(lacksDay ? it.pickDay : errorText(error, lang));
    } finally {
      setProgress(undefined);
    }
  };

  const activeKey =
    sources.data?.sources.flatMap((s) => s.writeKeys).find((k) => !k.revokedAt)?.key ?? '<write key>';
  const code = snippets(activeKey, host);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={t('sources.title')}>
        <PageState state={sources} isEmpty={(d) => d.sources.length === 0}>
          {(d) => (
            <Space direction="vertical" style={{ width: '100%' }} data-testid="sources">
              {keyError && (
                <Alert
                  type="error"
                  showIcon
                  closable
                  onClose={() => setKeyError(undefined)}
                  message={keyError}
                  data-testid="key-error"
                />
              )}
              {!d.keysVisible && (
                <Typography.Text type="secondary" data-testid="keys-hidden">
                  {t('sources.keysHidden')}
                </Typography.Text>
              )}
              {d.sources.map((source) => (
                <Card
                  key={source.id}
                  size="small"
                  title={
                    <Space>
                      {source.name}
                      <Tag>{SOURCE_KINDS[source.kind]?.[lang] ?? source.kind}</Tag>
                    </Space>
                  }
                  extra={
                    d.keysVisible && (
                      <Button
                        size="small"
                        data-testid="key-new"
                        loading={keyChange === source.id}
                        disabled={keyChange !== undefined}
                        onClick={() =>
                          changeKeys(source.id, () =>
                            api.post(`/api/v1/projects/${projectId}/sources/${source.id}/keys`),
                          )
                        }
                      >
                        {t('sources.newKey')}
                      </Button>
                    )
                  }
                >
                  <Table<WriteKey>
                    size="small"
                    rowKey="key"
                    pagination={false}
                    dataSource={source.writeKeys}
                    columns={[
                      {
                        title: t('sources.key'),
                        dataIndex: 'key',
                        render: (k: string) => (
                          <Typography.Text copyable code>
                            {k}
                          </Typography.Text>
                        ),
                      },
                      {
                        title: t('sources.created'),
                        dataIndex: 'createdAt',
                        render: (v: string) => dateTime(v),
                      },
                      {
                        title: t('sources.keyStatus'),
                        dataIndex: 'revokedAt',
                        render: (v: string | null) =>
                          v ? (
                            <Tag>{t('sources.revoked')}</Tag>
                          ) : (
                            <Tag color="green">{t('sources.active')}</Tag>
                          ),
                      },
                      {
                        title: '',
                        dataIndex: 'key',
                        key: 'actions',
                        render: (k: string, row) =>
                          row.revokedAt ? null : (
                            // Senders still using the key are refused from then on: asked first.
                            <Popconfirm
                              title={t('sources.revokeConfirm')}
                              okText={t('sources.revoke')}
                              cancelText={t('sources.cancel')}
                              okButtonProps={{ danger: true }}
                              onConfirm={() =>
                                changeKeys(k, () =>
                                  api.del(`/api/v1/projects/${projectId}/sources/${source.id}/keys/${k}`),
                                )
                              }
                            >
                              <Button
                                size="small"
                                danger
                                data-testid="key-revoke"
                                loading={keyChange === k}
                                disabled={keyChange !== undefined}
                              >
                                {t('sources.revoke')}
                              </Button>
                            </Popconfirm>
                          ),
                      },
                    ]}
                  />
                </Card>
              ))}
            </Space>
          )}
        </PageState>
      </Card>
      <ConnectorsCard projectId={projectId ?? ''} />
      <Card title={t('sources.snippets')}>
        <Tabs
          items={Object.entries(code).map(([name, text]) => ({
            key: name,
            label: t(SNIPPET_LABELS[name as keyof typeof SNIPPET_LABELS]),
            children: (
              <Typography.Paragraph copyable={{ text }}>
                <pre style={{ fontSize: 12 }} data-testid={`snippet-${name}`}>
                  {text}
                </pre>
              </Typography.Paragraph>
            ),
          }))}
        />
      </Card>
      <Card title={t('sources.import')}>
        <Space direction="vertical" style={{ width: '100%' }}>
          <Space>
            <Typography.Text>{t('sources.importKind')}</Typography.Text>
            <Select
              data-testid="import-kind"
              value={kind}
              style={{ width: 200 }}
              onChange={setKind}
              options={[
                { value: 'auto', label: it.auto },
                ...IMPORT_KINDS.map((k) => ({ value: k, label: k })),
              ]}
            />
            <Typography.Text>{it.day}</Typography.Text>
            <DatePicker
              data-testid="import-day"
              placeholder={it.dayHint}
              style={{ width: 280 }}
              onChange={(day) => setNumbersDay(day ? day.format('YYYY-MM-DD') : undefined)}
            />
          </Space>
          <Upload.Dragger
            data-testid="import-upload"
            multiple={false}
            showUploadList={false}
            beforeUpload={(file) => {
              void upload(file);
              return false;
            }}
          >
            <p className="ant-upload-drag-icon">
              <InboxOutlined />
            </p>
            <p>{t('sources.importDrop')}</p>
          </Upload.Dragger>
          {progress !== undefined && (
            <Progress percent={Math.round(progress * 100)} data-testid="import-progress" />
          )}
          {importError && <Alert type="error" showIcon message={importError} />}
          {detection?.proposal && (
            <Typography.Text type="secondary" data-testid="import-detected">
              {it.detected}: {detection.proposal.kind} · {it.preset} {detection.proposal.preset ?? '—'} ·{' '}
              {it.format} {detection.format} · {detection.encoding}
            </Typography.Text>
          )}
          {summary && (
            <div data-testid="import-summary">
              <Alert
                type={summary.quarantined > 0 ? 'warning' : 'success'}
                showIcon
                message={t('sources.importDone')}
                style={{ marginBottom: 12 }}
              />
              <Descriptions
                size="small"
                bordered
                column={4}
                items={[
                  { key: 'read', label: it.rowsRead, children: summary.rowsRead },
                  {
                    key: 'new',
                    label: it.imported,
                    children: <span data-testid="import-imported">{summary.imported}</span>,
                  },
                  { key: 'updated', label: it.updated, children: summary.updated },
                  { key: 'unchanged', label: it.unchanged, children: summary.unchanged },
                  { key: 'dup', label: it.duplicates, children: summary.duplicates },
                  {
                    key: 'q',
                    label: it.quarantined,
                    children: <span data-testid="import-quarantined">{summary.quarantined}</span>,
                  },
                  {
                    key: 'skip',
                    label: it.skipped,
                    children: `${summary.skipped.blank} / ${summary.skipped.summary}`,
                  },
                  {
                    key: 'speed',
                    label: it.speed,
                    children: Math.round(summary.rowsPerSecond).toLocaleString(),
                  },
                ]}
              />
              {summary.errors.length > 0 && (
                <Table<RowError>
                  data-testid="import-errors"
                  style={{ marginTop: 12 }}
                  title={() => `${t('sources.rowErrors')} (${summary.errorCount})`}
                  size="small"
                  rowKey={(e) => `${e.row}:${e.column}`}
                  dataSource={summary.errors}
                  pagination={{ pageSize: 10 }}
                  columns={[
                    { title: t('events.row'), dataIndex: 'row' },
                    { title: t('events.field'), dataIndex: 'column' },
                    { title: it.value, dataIndex: 'value' },
                    {
                      title: t('events.reason'),
                      render: (_, e) => (lang === 'zh' ? e.message_zh : e.message),
                    },
                  ]}
                />
              )}
            </div>
          )}
        </Space>
      </Card>
    </Space>
  );
}
