import { Select } from 'antd';
import { useCallback, useMemo } from 'react';
import { runAnalysis } from '../api';
import type { Lang } from '../i18n';
import { useLang } from '../i18n';
import { useGlobalView, useUrlState } from '../state';
import type { TrendsResult } from '../types';
import { type AsyncState, useAsync } from './useAsync';

/**
 * Small pieces the analysis pages (funnels, retention, paths, heatmap, distributions) share:
 * the project's event names for pickers, query options kept in the URL, durations and heat colours.
 */

export interface EventCatalog {
  /** Event names, most frequent first. */
  names: string[];
  counts: Record<string, number>;
  timeZone: string;
}

const catalogs = new Map<string, Promise<EventCatalog>>();

/** The events of the range by count: one cheap `trends` call, shared by every picker on the page. */
export function loadEventCatalog(projectId: string, from: string, to: string): Promise<EventCatalog> {
  const key = `${projectId}|${from}|${to}`;
  let found = catalogs.get(key);
  if (!found) {
    found = runAnalysis<TrendsResult & { timeZone: string }>(projectId, 'trends', {
      metrics: ['events'],
      dimensions: ['event'],
      dateRange: { from, to },
      granularity: 'month',
      breakdownLimit: 100,
    }).then(({ result }) => {
      const counts: Record<string, number> = {};
      for (const s of result.series) {
        const name = s.breakdown?.[0];
        if (name) counts[name] = s.total ?? 0;
      }
      const names = Object.keys(counts).sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
      return { names, counts, timeZone: result.timeZone };
    });
    // A failed call is not kept: the next render may retry.
    found.catch(() => catalogs.delete(key));
    catalogs.set(key, found);
  }
  return found;
}

export function useEventCatalog(): AsyncState<EventCatalog> {
  const { projectId, from, to } = useGlobalView();
  return useAsync(() => loadEventCatalog(projectId!, from, to), [projectId, from, to]);
}

/** The first of `preferred` the project has, else its n-th most frequent event. */
export function pickEvent(catalog: EventCatalog, preferred: string[], nth = 0): string {
  return preferred.find((p) => catalog.names.includes(p)) ?? catalog.names[nth] ?? catalog.names[0] ?? '';
}

/** A searchable event-name picker; a name not in the range's list still shows (from a shared link). */
export function EventPicker({
  catalog,
  value,
  onChange,
  testId,
  placeholder,
  allowAny,
  anyLabel,
  width = 220,
}: {
  catalog: EventCatalog | undefined;
  value: string;
  onChange: (name: string) => void;
  testId?: string;
  placeholder?: string;
  /** Offers "any event" as the empty value. */
  allowAny?: boolean;
  anyLabel?: string;
  width?: number;
}) {
  const lang = useLang();
  const options = useMemo(() => {
    const names = catalog?.names ?? [];
    const list = names.map((n) => ({
      value: n,
      label: `${n} (${formatCount(catalog?.counts[n] ?? 0, lang)})`,
    }));
    if (value && !names.includes(value)) list.unshift({ value, label: value });
    if (allowAny) list.unshift({ value: '', label: anyLabel ?? '' });
    return list;
  }, [catalog, value, lang, allowAny, anyLabel]);
  return (
    <Select
      showSearch
      data-testid={testId}
      style={{ width }}
      value={value || (allowAny ? '' : undefined)}
      placeholder={placeholder}
      options={options}
      onChange={onChange}
      loading={!catalog}
      popupMatchSelectWidth={false}
    />
  );
}

function formatCount(n: number, lang: Lang): string {
  return new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-US').format(n);
}

type OptionValue = string | number | boolean;

/**
 * Query options in the URL: reads each key of `defaults` as the type of its default, and writes
 * only what differs from the default (a short link that still restores the same view).
 */
export function useUrlOptions<T extends Record<string, OptionValue>>(
  defaults: T,
): [T, (patch: Partial<T>) => void] {
  const url = useUrlState();
  const values = {} as Record<string, OptionValue>;
  for (const [key, fallback] of Object.entries(defaults)) {
    const raw = url.get(key);
    if (raw === undefined) values[key] = fallback;
    else if (typeof fallback === 'number') {
      const n = Number(raw);
      values[key] = Number.isFinite(n) ? n : fallback;
    } else if (typeof fallback === 'boolean') values[key] = raw === '1' || raw === 'true';
    else values[key] = raw;
  }
  // biome-ignore lint/correctness/useExhaustiveDependencies: defaults are constants of the page
  const set = useCallback(
    (patch: Partial<T>) => {
      const next: Record<string, string | undefined> = {};
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined || value === defaults[key]) next[key] = undefined;
        else next[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
      }
      url.set(next);
    },
    [url],
  );
  return [values as T, set];
}

/** A duration as people read it: 45 s, 3.2 min, 2.5 h, 1.3 d (秒/分钟/小时/天). */
export function formatDuration(seconds: number | null | undefined, lang: Lang): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const units: [number, string, string][] = [
    [86_400, 'd', '天'],
    [3600, 'h', '小时'],
    [60, 'min', '分钟'],
  ];
  for (const [size, en, zh] of units) {
    if (seconds >= size) {
      const v = seconds / size;
      const text = v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
      return lang === 'zh' ? `${text} ${zh}` : `${text} ${en}`;
    }
  }
  return lang === 'zh' ? `${Math.round(seconds)} 秒` : `${Math.round(seconds)} s`;
}

/** A cell background for a share 0…1: light to deep blue, with a readable text colour. */
export function heatStyle(share: number | null | undefined): React.CSSProperties {
  if (share === null || share === undefined || !Number.isFinite(share)) return {};
  const alpha = 0.08 + Math.min(1, Math.max(0, share)) * 0.82;
  return { background: `rgba(22, 119, 255, ${alpha.toFixed(3)})`, color: alpha > 0.5 ? '#fff' : undefined };
}

/** Fields offered for breakdowns: event columns from the server's allow-list, in both languages. */
export const BREAKDOWN_FIELDS: { value: string; en: string; zh: string }[] = [
  { value: 'platform', en: 'Platform', zh: '平台' },
  { value: 'channel', en: 'Channel', zh: '渠道' },
  { value: 'utm_source', en: 'UTM source', zh: 'UTM 来源' },
  { value: 'utm_medium', en: 'UTM medium', zh: 'UTM 媒介' },
  { value: 'utm_campaign', en: 'UTM campaign', zh: 'UTM 活动' },
  { value: 'country', en: 'Country', zh: '国家' },
  { value: 'region', en: 'Region', zh: '省份/地区' },
  { value: 'city', en: 'City', zh: '城市' },
  { value: 'device_type', en: 'Device type', zh: '设备类型' },
  { value: 'os', en: 'Operating system', zh: '操作系统' },
  { value: 'browser', en: 'Browser', zh: '浏览器' },
  { value: 'page_path', en: 'Page path', zh: '页面路径' },
  { value: 'referrer', en: 'Referrer', zh: '来源页面' },
];

/** Reads a JSON value from the URL, falling back when it is missing or malformed. */
export function parseJson<T>(text: string | undefined, fallback: T, valid: (v: unknown) => v is T): T {
  if (!text) return fallback;
  try {
    const value: unknown = JSON.parse(text);
    return valid(value) ? value : fallback;
  } catch {
    return fallback;
  }
}
