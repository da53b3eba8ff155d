import { createContext, useContext } from 'react';

/** Every label the dashboard shows, in both languages. Keys are English-ish ids, never shown. */
const en = {
  'app.title': 'Pulseloop',
  'nav.overview': 'Overview',
  'nav.content': 'Content',
  'nav.campaigns': 'Campaigns & channels',
  'nav.funnels': 'Funnels',
  'nav.retention': 'Retention',
  'nav.paths': 'Paths',
  'nav.heatmap': 'Activity heatmap',
  'nav.distribution': 'Distributions',
  'nav.events': 'Events explorer',
  'nav.sources': 'Data sources',
  'top.project': 'Project',
  'top.dateRange': 'Date range',
  'top.language': 'Language',
  'top.theme': 'Theme',
  'top.logout': 'Sign out',
  'login.title': 'Sign in',
  'login.email': 'E-mail',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.required': 'Enter your e-mail and password.',
  'login.hint':
    'No account yet? The server prints how to create the first owner: pulseloop users create-owner --email you@example.com',
  'sources.keysHidden': 'Write keys are shown to owners and admins only.',
  'theme.light': 'Light',
  'theme.dark': 'Dark',
  'state.loading': 'Loading…',
  'state.empty':
    'No data for this range. Widen the date range or send events with a write key (Data sources).',
  'state.error': 'Could not load this view:',
  'state.retry': 'Retry',
  'state.noProject': 'No project yet. Run `pulseloop demo` or `pulseloop projects create` to make one.',
  'action.exportPng': 'Export PNG',
  'action.exportCsv': 'Export CSV',
  'action.copy': 'Copy',
  'action.copied': 'Copied',
  'action.run': 'Run',
  'action.add': 'Add',
  'action.remove': 'Remove',
  'events.live': 'Live stream',
  'events.paused': 'Paused',
  'events.latest': 'Latest events',
  'events.quarantine': 'Quarantine',
  'events.filterEvent': 'Event name',
  'events.filterPerson': 'Person or distinct id',
  'events.inspect': 'Event',
  'events.reason': 'Reason',
  'events.field': 'Field',
  'events.receivedAt': 'Received',
  'events.row': 'Row',
  'events.raw': 'Sent',
  'events.time': 'Time',
  'events.name': 'Event',
  'events.distinctId': 'Distinct id',
  'events.platform': 'Platform',
  'events.channel': 'Channel',
  'events.origin': 'Origin',
  'events.count': 'Count',
  'sources.title': 'Sources and write keys',
  'sources.kind': 'Kind',
  'sources.key': 'Write key',
  'sources.created': 'Created',
  'sources.revoked': 'Revoked',
  'sources.active': 'Active',
  'sources.newKey': 'New key',
  'sources.revoke': 'Revoke',
  'sources.snippets': 'SDK snippets',
  'sources.import': 'Import a file',
  'sources.importKind': 'Kind of data',
  'sources.importPreset': 'Preset (optional)',
  'sources.importDrop': 'Click or drop a CSV, TSV, XLSX or NDJSON file',
  'sources.importDone': 'Import finished',
  'sources.rowErrors': 'Row errors',
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'app.title': 'Pulseloop',
  'nav.overview': '概览',
  'nav.content': '内容',
  'nav.campaigns': '广告与渠道',
  'nav.funnels': '漏斗',
  'nav.retention': '留存',
  'nav.paths': '路径',
  'nav.heatmap': '活跃热力图',
  'nav.distribution': '分布',
  'nav.events': '事件浏览',
  'nav.sources': '数据源',
  'top.project': '项目',
  'top.dateRange': '日期范围',
  'top.language': '语言',
  'top.theme': '主题',
  'top.logout': '退出登录',
  'login.title': '登录',
  'login.email': '邮箱',
  'login.password': '密码',
  'login.submit': '登录',
  'login.required': '请输入邮箱和密码。',
  'login.hint':
    '还没有账号？服务启动时会提示如何创建首个所有者：pulseloop users create-owner --email you@example.com',
  'sources.keysHidden': '写入密钥仅对所有者和管理员可见。',
  'theme.light': '浅色',
  'theme.dark': '深色',
  'state.loading': '加载中…',
  'state.empty': '该时间范围内没有数据。请扩大日期范围，或使用写入密钥发送事件（见“数据源”）。',
  'state.error': '无法加载此视图：',
  'state.retry': '重试',
  'state.noProject': '还没有项目。运行 `pulseloop demo` 或 `pulseloop projects create` 创建一个。',
  'action.exportPng': '导出 PNG',
  'action.exportCsv': '导出 CSV',
  'action.copy': '复制',
  'action.copied': '已复制',
  'action.run': '运行',
  'action.add': '添加',
  'action.remove': '删除',
  'events.live': '实时事件流',
  'events.paused': '已暂停',
  'events.latest': '最新事件',
  'events.quarantine': '隔离区',
  'events.filterEvent': '事件名',
  'events.filterPerson': '用户或设备 ID',
  'events.inspect': '事件详情',
  'events.reason': '原因',
  'events.field': '字段',
  'events.receivedAt': '接收时间',
  'events.row': '行',
  'events.raw': '原始内容',
  'events.time': '时间',
  'events.name': '事件',
  'events.distinctId': '标识 ID',
  'events.platform': '平台',
  'events.channel': '渠道',
  'events.origin': '来源',
  'events.count': '数量',
  'sources.title': '数据源与写入密钥',
  'sources.kind': '类型',
  'sources.key': '写入密钥',
  'sources.created': '创建时间',
  'sources.revoked': '已吊销',
  'sources.active': '有效',
  'sources.newKey': '新建密钥',
  'sources.revoke': '吊销',
  'sources.snippets': 'SDK 代码片段',
  'sources.import': '导入文件',
  'sources.importKind': '数据类型',
  'sources.importPreset': '预设（可选）',
  'sources.importDrop': '点击或拖入 CSV、TSV、XLSX 或 NDJSON 文件',
  'sources.importDone': '导入完成',
  'sources.rowErrors': '行错误',
};

export type Lang = 'zh' | 'en';
export const MESSAGES: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** The browser's language decides the first view: Chinese for any zh-*, English otherwise. */
export function defaultLang(): Lang {
  const stored = localStorage.getItem('pulseloop.lang');
  if (stored === 'zh' || stored === 'en') return stored;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const LangContext = createContext<Lang>('en');

/** `t('nav.overview')` in the current language. */
export function useT(): (key: MessageKey) => string {
  const lang = useContext(LangContext);
  return (key) => MESSAGES[lang][key];
}

export function useLang(): Lang {
  return useContext(LangContext);
}
