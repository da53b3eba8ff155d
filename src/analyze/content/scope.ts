import { detailText, PulseloopError } from '../../errors/registry.js';
import type { SqlParams } from '../query/params.js';
import { type DateRange, parseDateRange, rangeCondition } from '../query/scope.js';
import { sumRowComponents } from './metrics.js';

/**
 * What every content analysis reads: the posts and videos with statistics inside a date range,
 * one row per post with its summed components, narrowed by the content filters.
 *
 * `content_stats` is a ReplacingMergeTree: a re-imported export writes the same (platform,
 * account, content, date) again with a newer `updated_at`. Reading it with FINAL keeps only the
 * newest row of each key, so no day is ever counted twice.
 */

export interface ContentFilters {
  platforms?: string[];
  accounts?: string[];
  contentTypes?: string[];
  /** The post carries every one of these tags. */
  tags?: string[];
  /** Published on these days (project time zone). */
  published?: DateRange;
  /** At least this many plays inside the date range. */
  minPlays?: number;
}

export function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

/** The body as an object whose keys are all known; `at` prefixes field names in errors. */
export function objectBody(body: unknown, known: readonly string[], at = ''): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    invalid(at || 'body', 'expected a JSON object', '必须是 JSON 对象');
  }
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      invalid(
        `${at}${key.slice(0, 40)}`,
        `unknown field; expected one of ${known.join(', ')}`,
        `未知字段；必须是 ${known.join('、')} 之一`,
      );
    }
  }
  return body as Record<string, unknown>;
}

const MAX_TEXT = 200;
const MAX_LIST = 200;

function textList(value: unknown, at: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LIST) {
    invalid(
      at,
      `expected a non-empty list of at most ${MAX_LIST} texts`,
      `必须是非空且最多 ${MAX_LIST} 项的文本列表`,
    );
  }
  return value.map((item, i) => {
    if (typeof item !== 'string' || item === '' || item.length > MAX_TEXT) {
      invalid(
        `${at}[${i}]`,
        `expected a text of 1–${MAX_TEXT} characters`,
        `必须是 1–${MAX_TEXT} 个字符的文本`,
      );
    }
    return item;
  });
}

/** A whole number in [min, max], or `fallback` when absent. */
export function integerIn(value: unknown, at: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(at, `expected a whole number from ${min} to ${max}`, `必须是 ${min} 到 ${max} 之间的整数`);
  }
  return value;
}

/** One of `allowed`, or `fallback` when absent. */
export function oneOf<T extends string>(value: unknown, at: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalid(
      at,
      `"${String(value).slice(0, 40)}" is not one of ${allowed.join(', ')}`,
      `"${String(value).slice(0, 40)}" 不是 ${allowed.join('、')} 之一`,
    );
  }
  return value as T;
}

/** A non-empty text of at most 200 characters. */
export function requiredText(value: unknown, at: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT) {
    invalid(at, `expected a text of 1–${MAX_TEXT} characters`, `必须是 1–${MAX_TEXT} 个字符的文本`);
  }
  return value;
}

export function parseContentFilters(value: unknown, at = 'filters'): ContentFilters {
  if (value === undefined) return {};
  const body = objectBody(
    value,
    ['platforms', 'accounts', 'contentTypes', 'tags', 'published', 'minPlays'],
    `${at}.`,
  );
  const filters: ContentFilters = {};
  if (body.platforms !== undefined) filters.platforms = textList(body.platforms, `${at}.platforms`);
  if (body.accounts !== undefined) filters.accounts = textList(body.accounts, `${at}.accounts`);
  if (body.contentTypes !== undefined)
    filters.contentTypes = textList(body.contentTypes, `${at}.contentTypes`);
  if (body.tags !== undefined) filters.tags = textList(body.tags, `${at}.tags`);
  if (body.published !== undefined) filters.published = parseDateRange(body.published, `${at}.published`);
  if (body.minPlays !== undefined) {
    filters.minPlays = integerIn(body.minPlays, `${at}.minPlays`, 0, Number.MAX_SAFE_INTEGER, 0);
  }
  return filters;
}

/**
 * `posts AS (…)`: one row per post with statistics in the range. Descriptive columns (title, tags,
 * length …) come from the post's latest day, so a renamed post shows its current title.
 */
export function postsCte(range: DateRange, params: SqlParams): string {
  return `posts AS (
    SELECT s.platform AS platform, s.account_id AS account_id, s.content_id AS content_id,
      argMax(s.title, s.date) AS title,
      argMax(s.content_type, s.date) AS content_type,
      argMax(s.published_at, s.date) AS published_at,
      argMax(s.duration_seconds, s.date) AS duration_seconds,
      arrayDistinct(argMax(s.tags, s.date)) AS tags,
      ${sumRowComponents()}
    FROM content_stats AS s FINAL
    WHERE s.project_id = {project:String}
      AND s.date >= ${params.add('Date', range.from)} AND s.date <= ${params.add('Date', range.to)}
    GROUP BY s.platform, s.account_id, s.content_id
  )`;
}

/**
 * SQL condition over `posts` rows, aliased `p`, for the filters (`1` when there are none). Columns
 * are qualified: a grouping query may alias `sum(p.plays) AS plays`.
 */
export function postFilterSql(filters: ContentFilters, params: SqlParams): string {
  const conditions: string[] = [];
  if (filters.platforms) conditions.push(`p.platform IN ${params.add('Array(String)', filters.platforms)}`);
  if (filters.accounts) conditions.push(`p.account_id IN ${params.add('Array(String)', filters.accounts)}`);
  if (filters.contentTypes) {
    conditions.push(`p.content_type IN ${params.add('Array(String)', filters.contentTypes)}`);
  }
  if (filters.tags) conditions.push(`hasAll(p.tags, ${params.add('Array(String)', filters.tags)})`);
  if (filters.published) {
    conditions.push(
      'p.published_at IS NOT NULL',
      rangeCondition('p.published_at', filters.published, params),
    );
  }
  if (filters.minPlays !== undefined) conditions.push(`p.plays >= ${params.add('UInt64', filters.minPlays)}`);
  return conditions.length === 0 ? '1' : conditions.join(' AND ');
}

/** Milliseconds since the epoch (from toUnixTimestamp64Milli) as an ISO time, or null. */
export function isoTime(ms: unknown): string | null {
  return ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();
}
