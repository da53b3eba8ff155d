import { InboxOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Descriptions,
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
import { ApiError, api } from '../api';
import { PageState } from '../components/PageState';
import { useAsync } from '../components/useAsync';
import { useLang, useT } from '../i18n';
import { useGlobalView } from '../state';

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

function snippets(key: string, host: string): Record<string, string> {
  return {
    browser: `<script type="module">
  import { init } from '${host}/sdk/browser/index.js';
  const pulseloop = init({ writeKey: '${key}', host: '${host}' });
  pulseloop.page();
  pulseloop.track('Signed Up', { plan: 'trial' });
</script>`,
    node: `import { Analytics } from '@segment/analytics-node';
const analytics = new Analytics({ writeKey: '${key}', host: '${host}' });
analytics.track({ userId: 'u-1', event: 'Order Completed', properties: { revenue: 99, currency: 'CNY' } });`,
    curl: `curl -u '${key}:' -H 'content-type: application/json' \\
  -d '{"event":"Signed Up","userId":"u-1"}' ${host}/v1/track`,
    miniprogram: `import { createSdk } from '@pulseloop/sdk-miniprogram';
const pulseloop = createSdk(wx, { writeKey: '${key}', host: '${host}' });
pulseloop.track('app_opened');`,
  };
}

interface ImportSummary extends Record<string, unknown> {
  errors?: {
    row?: number;
    rowNumber?: number;
    column?: string;
    field?: string;
    value?: string;
    reason?: string;
  }[];
}

/** Write keys with SDK snippets, and file import with upload progress and the row-error report. */
export default function Sources() {
  const t = useT();
  const lang = useLang();
  const { projectId } = useGlobalView();
  const sources = useAsync(
    () => api.get<{ sources: Source[] }>(`/api/v1/projects/${projectId}/sources`),
    [projectId],
  );
  const [kind, setKind] = useState('content_stats');
  const [progress, setProgress] = useState<number>();
  const [summary, setSummary] = useState<ImportSummary>();
  const [importError, setImportError] = useState<string>();
  const host = window.location.origin;

  const upload = async (file: File) => {
    setSummary(undefined);
    setImportError(undefined);
    setProgress(0);
    try {
      const q = new URLSearchParams({ kind, filename: file.name });
      const result = await api.upload<ImportSummary>(
        `/api/v1/projects/${projectId}/imports?${q}`,
        file,
        setProgress,
      );
      setSummary(result);
    } catch (error) {
      setImportError(error instanceof ApiError ? error.text(lang) : String(error));
    } finally {
      setProgress(undefined);
    }
  };

  const activeKey =
    sources.data?.sources.flatMap((s) => s.writeKeys).find((k) => !k.revokedAt)?.key ?? '<write key>';
  const code = snippets(activeKey, host);
  const scalar = summary
    ? Object.entries(summary).filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    : [];
  const errors = summary?.errors ?? [];

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card title={t('sources.title')}>
        <PageState state={sources} isEmpty={(d) => d.sources.length === 0}>
          {(d) => (
            <Space direction="vertical" style={{ width: '100%' }} data-testid="sources">
              {d.sources.map((source) => (
                <Card
                  key={source.id}
                  size="small"
                  title={
                    <Space>
                      {source.name}
                      <Tag>{source.kind}</Tag>
                    </Space>
                  }
                  extra={
                    <Button
                      size="small"
                      onClick={async () => {
                        await api.post(`/api/v1/projects/${projectId}/sources/${source.id}/keys`);
                        sources.reload();
                      }}
                    >
                      {t('sources.newKey')}
                    </Button>
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
                        render: (v: string) => new Date(v).toLocaleString(),
                      },
                      {
                        title: t('sources.kind'),
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
                            <Button
                              size="small"
                              danger
                              onClick={async () => {
                                await api.del(`/api/v1/projects/${projectId}/sources/${source.id}/keys/${k}`);
                                sources.reload();
                              }}
                            >
                              {t('sources.revoke')}
                            </Button>
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
      <Card title={t('sources.snippets')}>
        <Tabs
          items={Object.entries(code).map(([name, text]) => ({
            key: name,
            label: name,
            children: (
              <Typography.Paragraph copyable={{ text }}>
                <pre style={{ fontSize: 12 }}>{text}</pre>
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
              options={IMPORT_KINDS.map((k) => ({ value: k, label: k }))}
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
          {summary && (
            <div data-testid="import-summary">
              <Alert type="success" showIcon message={t('sources.importDone')} style={{ marginBottom: 12 }} />
              <Descriptions
                size="small"
                bordered
                column={3}
                items={scalar.map(([k, v]) => ({ key: k, label: k, children: String(v) }))}
              />
              {errors.length > 0 && (
                <Table
                  style={{ marginTop: 12 }}
                  title={() => t('sources.rowErrors')}
                  size="small"
                  rowKey={(_, i) => String(i)}
                  dataSource={errors}
                  columns={[
                    { title: t('events.row'), render: (_, e) => e.row ?? e.rowNumber },
                    { title: t('events.field'), render: (_, e) => e.column ?? e.field },
                    { title: 'Value', dataIndex: 'value' },
                    { title: t('events.reason'), dataIndex: 'reason' },
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
