import { Alert, Button, Card, Form, Input, Segmented, Space, Typography } from 'antd';
import { useState } from 'react';
import { api, errorText, type Me } from '../api';
import { type Lang, useLang, useT } from '../i18n';

/**
 * The sign-in page, shown in place of the dashboard while nobody is signed in: the address bar
 * keeps the requested URL, so after signing in the same view opens (shared links keep working).
 */
export default function Login({
  onSignedIn,
  onLang,
}: {
  onSignedIn: (me: Me) => void;
  onLang: (lang: Lang) => void;
}) {
  const t = useT();
  const lang = useLang();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(values: { email?: string; password?: string }) {
    if (!values.email || !values.password) {
      setError(t('login.required'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api.post('/api/v1/auth/login', { email: values.email, password: values.password });
      onSignedIn(await api.get<Me>('/api/v1/auth/me'));
    } catch (e) {
      setError(errorText(e, lang));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div
      style={{
        minHeight: '100vh',
        display: 'flex',
        alignItems: 'center',
        justifyContent: 'center',
        padding: 16,
      }}
    >
      <Card style={{ width: 380 }}>
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <Space style={{ width: '100%', justifyContent: 'space-between' }}>
            <Typography.Title level={3} style={{ margin: 0 }} data-testid="login-title">
              {t('login.title')}
            </Typography.Title>
            <Segmented
              size="small"
              value={lang}
              options={[
                { value: 'zh', label: '中文' },
                { value: 'en', label: 'English' },
              ]}
              onChange={(v) => onLang(v as Lang)}
            />
          </Space>
          <Typography.Text type="secondary">{t('app.title')}</Typography.Text>
          {error && <Alert type="error" showIcon message={error} data-testid="login-error" />}
          <Form layout="vertical" onFinish={submit} data-testid="login-form" requiredMark={false}>
            <Form.Item label={t('login.email')} name="email">
              <Input type="email" autoComplete="username" autoFocus data-testid="login-email" />
            </Form.Item>
            <Form.Item label={t('login.password')} name="password">
              <Input.Password autoComplete="current-password" data-testid="login-password" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy} data-testid="login-submit">
              {t('login.submit')}
            </Button>
          </Form>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('login.hint')}
          </Typography.Text>
        </Space>
      </Card>
    </div>
  );
}
