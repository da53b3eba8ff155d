import type { Lang } from './i18n';

export type MetricFormat = 'integer' | 'decimal' | 'percent' | 'currency' | 'seconds' | string;

/** A metric value as people read it: 1.2万 / 12.3K, 4.5%, ¥1,234, 35 s; '—' when there is none. */
export function formatValue(
  value: number | null | undefined,
  format: MetricFormat,
  lang: Lang,
  currency = 'CNY',
): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const locale = lang === 'zh' ? 'zh-CN' : 'en-US';
  switch (format) {
    case 'percent':
      return `${(value * 100).toFixed(Math.abs(value) < 0.1 ? 2 : 1)}%`;
    case 'currency':
      return new Intl.NumberFormat(locale, {
        style: 'currency',
        currency,
        notation: Math.abs(value) >= 1e5 ? 'compact' : 'standard',
        maximumFractionDigits: Math.abs(value) >= 1e5 ? 1 : 0,
      }).format(value);
    case 'seconds':
      return `${value.toFixed(1)} ${lang === 'zh' ? '秒' : 's'}`;
    case 'decimal':
      return value.toFixed(2);
    default:
      return new Intl.NumberFormat(locale, {
        notation: Math.abs(value) >= 1e5 ? 'compact' : 'standard',
        maximumFractionDigits: Math.abs(value) >= 1e5 ? 1 : 0,
      }).format(value);
  }
}

export function formatChange(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return '—';
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}
