import {
  ApiOutlined,
  AppstoreOutlined,
  BarChartOutlined,
  DashboardOutlined,
  FilterOutlined,
  FireOutlined,
  NodeIndexOutlined,
  RetweetOutlined,
  SettingOutlined,
  TeamOutlined,
  ThunderboltOutlined,
  VideoCameraOutlined,
} from '@ant-design/icons';
import { Button, DatePicker, Layout, Menu, Segmented, Select, Space, Spin, Typography } from 'antd';
import dayjs from 'dayjs';
import { lazy, Suspense, useEffect, useState } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { api, type Me, onSignedOut } from './api';
import { PageState } from './components/PageState';
import { PlatformFilter } from './components/PlatformFilter';
import { useAsync } from './components/useAsync';
import { type Lang, type MessageKey, useLang, useT } from './i18n';
import { type Project, ProjectContext } from './project';
import { useGlobalView, useUrlState } from './state';

// Each page is its own chunk: the first load carries only the shell and the page opened.
const Overview = lazy(() => import('./pages/Overview'));
const Content = lazy(() => import('./pages/Content'));
const Campaigns = lazy(() => import('./pages/Campaigns'));
const Funnels = lazy(() => import('./pages/Funnels'));
const Retention = lazy(() => import('./pages/Retention'));
const Paths = lazy(() => import('./pages/Paths'));
const Heatmap = lazy(() => import('./pages/Heatmap'));
const Distribution = lazy(() => import('./pages/Distribution'));
const Events = lazy(() => import('./pages/Events'));
const People = lazy(() => import('./pages/People'));
const Sources = lazy(() => import('./pages/Sources'));
const Settings = lazy(() => import('./pages/Settings'));
const Login = lazy(() => import('./pages/Login'));

export const PAGES: { path: string; label: MessageKey; icon: React.ReactNode; element: React.ReactNode }[] = [
  { path: 'overview', label: 'nav.overview', icon: <DashboardOutlined />, element: <Overview /> },
  { path: 'content', label: 'nav.content', icon: <VideoCameraOutlined />, element: <Content /> },
  { path: 'campaigns', label: 'nav.campaigns', icon: <ThunderboltOutlined />, element: <Campaigns /> },
  { path: 'funnels', label: 'nav.funnels', icon: <FilterOutlined />, element: <Funnels /> },
  { path: 'retention', label: 'nav.retention', icon: <RetweetOutlined />, element: <Retention /> },
  { path: 'paths', label: 'nav.paths', icon: <NodeIndexOutlined />, element: <Paths /> },
  { path: 'heatmap', label: 'nav.heatmap', icon: <FireOutlined />, element: <Heatmap /> },
  { path: 'distribution', label: 'nav.distribution', icon: <BarChartOutlined />, element: <Distribution /> },
  { path: 'events', label: 'nav.events', icon: <AppstoreOutlined />, element: <Events /> },
  { path: 'people', label: 'nav.people', icon: <TeamOutlined />, element: <People /> },
  { path: 'sources', label: 'nav.sources', icon: <ApiOutlined />, element: <Sources /> },
  { path: 'settings', label: 'nav.settings', icon: <SettingOutlined />, element: <Settings /> },
];

interface AppProps {
  onLang: (lang: Lang) => void;
  theme: 'light' | 'dark';
  onTheme: (theme: 'light' | 'dark') => void;
}

/**
 * Who is signed in decides what shows: the sign-in page (at the requested URL, which it keeps) or
 * the dashboard. Any 401 from the API (the session ended) brings the sign-in page back.
 */
export function App(props: AppProps) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    let active = true;
    api
      .get<Me>('/api/v1/auth/me')
      .then((answer) => active && setMe(answer))
      // Not signed in (or the server is down: the sign-in page then reports the error on submit).
      .catch(() => active && setMe(null));
    const stop = onSignedOut(() => setMe(null));
    return () => {
      active = false;
      stop();
    };
  }, []);
  if (me === undefined) {
    return (
      <div style={{ padding: 48, textAlign: 'center' }}>
        <Spin />
      </div>
    );
  }
  if (me === null) {
    return (
      <Suspense fallback={null}>
        <Login onSignedIn={setMe} onLang={props.onLang} />
      </Suspense>
    );
  }
  return (
    <Dashboard
      {...props}
      me={me}
      onLogout={async () => {
        try {
          await api.post('/api/v1/auth/logout');
        } finally {
          setMe(null);
        }
      }}
    />
  );
}

function Dashboard({ onLang, theme, onTheme, me, onLogout }: AppProps & { me: Me; onLogout: () => void }) {
  const t = useT();
  // Below 992 px the menu folds to icons; the brand then shows its initial only.
  const [narrow, setNarrow] = useState(false);
  const lang = useLang();
  const location = useLocation();
  const navigate = useNavigate();
  const url = useUrlState();
  const projects = useAsync(() => api.get<{ projects: Project[] }>('/api/v1/projects'), []);
  const project = projects.data?.projects.find((p) => p.id === url.get('project'));
  const view = useGlobalView(project?.timeZone);

  // Open the first project when the URL names none.
  useEffect(() => {
    const first = projects.data?.projects[0];
    if (!view.projectId && first) url.set({ project: first.id });
  }, [projects.data, view.projectId, url]);

  const page = location.pathname.replace(/^\//, '').split('/')[0] || 'overview';
  return (
    <ProjectContext.Provider value={project}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Sider
          breakpoint="lg"
          collapsedWidth={56}
          theme={theme}
          width={208}
          onCollapse={(collapsed) => setNarrow(collapsed)}
        >
          <div
            style={{
              padding: narrow ? '16px 0' : '16px 20px',
              textAlign: narrow ? 'center' : 'left',
              fontWeight: 700,
              fontSize: 18,
            }}
            data-testid="brand"
          >
            <Typography.Text strong style={{ fontSize: 18 }}>
              {narrow ? 'P' : t('app.title')}
            </Typography.Text>
          </div>
          <Menu
            mode="inline"
            theme={theme}
            selectedKeys={[page]}
            data-testid="nav"
            items={PAGES.map((p) => ({ key: p.path, icon: p.icon, label: t(p.label) }))}
            onClick={(item) => navigate({ pathname: `/${item.key}`, search: location.search })}
          />
        </Layout.Sider>
        <Layout>
          <Layout.Header
            style={{ background: 'transparent', padding: '8px 16px', height: 'auto', lineHeight: 'normal' }}
          >
            <Space wrap size="middle">
              <Space>
                <Typography.Text type="secondary">{t('top.project')}</Typography.Text>
                <Select
                  data-testid="project-switcher"
                  style={{ minWidth: 220 }}
                  value={view.projectId}
                  options={projects.data?.projects.map((p) => ({ value: p.id, label: p.name })) ?? []}
                  onChange={(id) => url.set({ project: id })}
                />
              </Space>
              <Space>
                <Typography.Text type="secondary">{t('top.dateRange')}</Typography.Text>
                <DatePicker.RangePicker
                  data-testid="date-range"
                  allowClear={false}
                  value={[dayjs(view.from), dayjs(view.to)]}
                  onChange={(range) => {
                    if (range?.[0] && range[1])
                      url.set({ from: range[0].format('YYYY-MM-DD'), to: range[1].format('YYYY-MM-DD') });
                  }}
                />
                {project && (
                  <Typography.Text type="secondary" title={t('top.timeZone')} data-testid="project-timezone">
                    {project.timeZone}
                  </Typography.Text>
                )}
              </Space>
              <Space>
                <Typography.Text type="secondary">{t('top.platforms')}</Typography.Text>
                <PlatformFilter />
              </Space>
              <Segmented
                data-testid="lang-switch"
                value={lang}
                options={[
                  { value: 'zh', label: '中文' },
                  { value: 'en', label: 'English' },
                ]}
                onChange={(v) => onLang(v as Lang)}
              />
              <Segmented
                data-testid="theme-switch"
                value={theme}
                options={[
                  { value: 'light', label: t('theme.light') },
                  { value: 'dark', label: t('theme.dark') },
                ]}
                onChange={(v) => onTheme(v as 'light' | 'dark')}
              />
              <Space>
                <Typography.Text type="secondary" data-testid="current-user">
                  {me.user.email}
                </Typography.Text>
                <Button size="small" onClick={onLogout} data-testid="logout">
                  {t('top.logout')}
                </Button>
              </Space>
            </Space>
          </Layout.Header>
          <Layout.Content style={{ padding: 16 }}>
            <PageState state={projects} isEmpty={(d) => d.projects.length === 0}>
              {() =>
                view.projectId ? (
                  <Suspense fallback={null}>
                    <Routes>
                      {PAGES.map((p) => (
                        <Route key={p.path} path={`/${p.path}`} element={p.element} />
                      ))}
                      <Route
                        path="*"
                        element={<Navigate to={{ pathname: '/overview', search: location.search }} replace />}
                      />
                    </Routes>
                  </Suspense>
                ) : null
              }
            </PageState>
          </Layout.Content>
        </Layout>
      </Layout>
    </ProjectContext.Provider>
  );
}
