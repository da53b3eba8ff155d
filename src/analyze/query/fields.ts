import { detailText, PulseloopError } from '../../errors/registry.js';

/**
 * The fields a query may filter on or break down by: event columns from an allow-list, event
 * properties (`properties.<key>`) and person traits (`person.<trait>`). Keys of properties and
 * traits are bound as parameters; only allow-listed column names ever become SQL identifiers.
 */

export type FieldKind = 'string' | 'number';

export interface EventColumn {
  /** Column of the `events` table. */
  column: string;
  kind: FieldKind;
  en: string;
  zh: string;
}

export const EVENT_COLUMNS: Record<string, EventColumn> = {
  event: { column: 'event', kind: 'string', en: 'Event', zh: '事件' },
  platform: { column: 'platform', kind: 'string', en: 'Platform', zh: '平台' },
  channel: { column: 'channel', kind: 'string', en: 'Channel', zh: '渠道' },
  utm_source: { column: 'utm_source', kind: 'string', en: 'UTM source', zh: 'UTM 来源' },
  utm_medium: { column: 'utm_medium', kind: 'string', en: 'UTM medium', zh: 'UTM 媒介' },
  utm_campaign: { column: 'utm_campaign', kind: 'string', en: 'UTM campaign', zh: 'UTM 活动' },
  utm_content: { column: 'utm_content', kind: 'string', en: 'UTM content', zh: 'UTM 内容' },
  utm_term: { column: 'utm_term', kind: 'string', en: 'UTM term', zh: 'UTM 关键词' },
  campaign_id: { column: 'campaign_id', kind: 'string', en: 'Campaign', zh: '广告活动' },
  content_id: { column: 'content_id', kind: 'string', en: 'Content', zh: '内容' },
  sharer_id: { column: 'sharer_id', kind: 'string', en: 'Sharer', zh: '分享者' },
  source_id: { column: 'source_id', kind: 'string', en: 'Source', zh: '数据源' },
  country: { column: 'country', kind: 'string', en: 'Country', zh: '国家' },
  region: { column: 'region', kind: 'string', en: 'Region', zh: '省份/地区' },
  city: { column: 'city', kind: 'string', en: 'City', zh: '城市' },
  device_type: { column: 'device_type', kind: 'string', en: 'Device type', zh: '设备类型' },
  os: { column: 'os', kind: 'string', en: 'Operating system', zh: '操作系统' },
  browser: { column: 'browser', kind: 'string', en: 'Browser', zh: '浏览器' },
  app_version: { column: 'app_version', kind: 'string', en: 'App version', zh: '应用版本' },
  locale: { column: 'locale', kind: 'string', en: 'Locale', zh: '语言区域' },
  page_path: { column: 'page_path', kind: 'string', en: 'Page path', zh: '页面路径' },
  page_url: { column: 'page_url', kind: 'string', en: 'Page URL', zh: '页面地址' },
  referrer: { column: 'referrer', kind: 'string', en: 'Referrer', zh: '来源页面' },
  currency: { column: 'currency', kind: 'string', en: 'Currency', zh: '币种' },
  revenue: { column: 'revenue', kind: 'number', en: 'Revenue', zh: '收入' },
};

/** Keys of properties and traits: what SDKs and importers produce, nothing that could surprise. */
const KEY_PATTERN = /^[\p{L}\p{N}_$][\p{L}\p{N}_$ .:-]{0,63}$/u;

export type FieldRef =
  | { source: 'column'; name: string; column: EventColumn }
  | { source: 'property'; key: string }
  | { source: 'person'; key: string };

/** Parses a field reference; `at` names the query field for the error message. */
export function parseField(field: unknown, at: string): FieldRef {
  if (typeof field !== 'string' || field === '') {
    throw new PulseloopError('invalid_query', {
      field: at,
      ...detailText('expected a field name', '必须是字段名'),
    });
  }
  const column = Object.hasOwn(EVENT_COLUMNS, field) ? EVENT_COLUMNS[field] : undefined;
  if (column) return { source: 'column', name: field, column };
  for (const [prefix, source] of [
    ['properties.', 'property'],
    ['person.', 'person'],
  ] as const) {
    if (field.startsWith(prefix)) {
      const key = field.slice(prefix.length);
      if (!KEY_PATTERN.test(key)) {
        throw new PulseloopError('invalid_query', {
          field: at,
          ...detailText(
            `"${key.slice(0, 80)}" is not a valid ${source} key (letters, digits, _ $ . : - and space; at most 64)`,
            `"${key.slice(0, 80)}" 不是有效的${source === 'property' ? '事件属性' : '用户属性'}键（可用字母、数字、_ $ . : - 和空格，最多 64 个字符）`,
          ),
        });
      }
      return { source, key };
    }
  }
  throw new PulseloopError('invalid_query', {
    field: at,
    ...detailText(
      `unknown field "${field.slice(0, 80)}"; use one of ${Object.keys(EVENT_COLUMNS).join(', ')}, properties.<key> or person.<trait>`,
      `未知字段 "${field.slice(0, 80)}"；请使用 ${Object.keys(EVENT_COLUMNS).join('、')}、properties.<key> 或 person.<trait>`,
    ),
  });
}

/**
 * SQL for a field's value as text (`kind` 'string') or as a number (`kind` 'number', NULL when the
 * value is missing or not numeric). Event columns read from alias `e`, person traits from `pt`.
 */
export function fieldSql(
  ref: FieldRef,
  kind: FieldKind,
  bind: (type: string, value: unknown) => string,
): string {
  if (ref.source === 'column') {
    const column = `e.${ref.column.column}`;
    if (kind === ref.column.kind) return ref.column.kind === 'number' ? `toFloat64(${column})` : column;
    return kind === 'number' ? `toFloat64OrNull(toString(${column}))` : `toString(${column})`;
  }
  const json = ref.source === 'property' ? 'e.properties' : 'pt.traits';
  const key = bind('String', ref.key);
  // A number or boolean stored in JSON reads as its literal text, a string as its value.
  const text = `if(JSONType(${json}, ${key}) = 'String', JSONExtractString(${json}, ${key}), JSONExtractRaw(${json}, ${key}))`;
  return kind === 'number' ? `toFloat64OrNull(${text})` : text;
}

/** Whether any of the references needs the person-traits join. */
export function needsPersonTraits(refs: readonly FieldRef[]): boolean {
  return refs.some((r) => r.source === 'person');
}
