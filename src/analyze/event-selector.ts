import { detailText, PulseloopError } from '../errors/registry.js';
import { type FieldRef, needsPersonTraits } from './query/fields.js';
import { compileFilters } from './query/filters.js';
import type { SqlParams } from './query/params.js';
import {
  type DateRange,
  type EventSource,
  eventSource,
  PERSON_MAP_CTE,
  PERSON_SQL,
  PERSON_TRAITS_CTE,
} from './query/scope.js';

/**
 * An event selector names which events an analysis counts: one event name (or `null` for any
 * event) with its own filters, e.g. `{ event: 'video_played', filters: [...] }`. Analyses that
 * compare two kinds of event (retention's start and return, interval's from and to) read both
 * from one scan and tell them apart with the compiled conditions.
 */

export interface EventSelector {
  /** Event name; `null` means any event. */
  event: string | null;
  filters?: unknown;
}

export interface CompiledSelector {
  event: string | null;
  /** SQL condition over alias `e` (and `pt` for person traits). */
  sql: string;
  refs: FieldRef[];
}

const MAX_EVENT_NAME = 200;

function invalid(at: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field: at, ...detailText(detail, detailZh) });
}

/** Validates a selector (`{event, filters}`, an event name, or null); `at` names it in the query. */
export function parseSelector(value: unknown, at: string): EventSelector {
  // Shorthands: an event name, or null for any event.
  if (typeof value === 'string' || value === null) value = { event: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(
      at,
      'expected { event, filters } (event null for any event)',
      '必须是 { event, filters }（event 为 null 表示任意事件）',
    );
  }
  const { event, filters } = value as Record<string, unknown>;
  if (event !== null && (typeof event !== 'string' || event === '' || event.length > MAX_EVENT_NAME)) {
    invalid(
      `${at}.event`,
      `expected an event name (1–${MAX_EVENT_NAME} characters) or null for any event`,
      `必须是事件名（1–${MAX_EVENT_NAME} 个字符），或用 null 表示任意事件`,
    );
  }
  if (filters !== undefined && !Array.isArray(filters))
    invalid(`${at}.filters`, 'expected a list of filters', '必须是筛选条件列表');
  return filters === undefined ? { event } : { event, filters };
}

/** Compiles a selector into a condition; filter errors name `<at>.filters[i]`. */
export function compileSelector(selector: EventSelector, params: SqlParams, at: string): CompiledSelector {
  const filters = compileFilters(selector.filters, params, `${at}.filters`);
  const name = selector.event === null ? '1' : `e.event = ${params.add('String', selector.event)}`;
  return { event: selector.event, sql: `(${name} AND ${filters.sql})`, refs: filters.refs };
}

/**
 * Appended to queries over `events FINAL`: rows that FINAL folds share their sort key, which holds
 * the event's day, so they always sit in the same monthly partition — FINAL then need not merge
 * across partitions, and partitions already merged cost nothing extra (1 s → 5 ms for a count).
 */
export const FINAL_SETTINGS = 'SETTINGS do_not_merge_across_partitions_select_final = 1';

/** CTEs for one WITH clause shared by several sources (person map, and traits when needed). */
export function sourceCtes(needsTraits: boolean): string {
  return needsTraits ? `${PERSON_MAP_CTE}, ${PERSON_TRAITS_CTE}` : PERSON_MAP_CTE;
}

export interface SelectorSourceOptions {
  range: DateRange;
  padBeforeSeconds?: number;
  padAfterSeconds?: number;
  /** Further field references the query reads (a breakdown), so person traits get joined. */
  extraRefs?: readonly FieldRef[];
}

export interface SelectorSource extends EventSource {
  needsTraits: boolean;
}

/**
 * The events matching any of the selectors inside a range, with the person of each as PERSON_SQL.
 * Only the selectors' event names are read (the sort key prunes by them) unless one is "any event".
 */
export function selectorSource(
  selectors: readonly CompiledSelector[],
  options: SelectorSourceOptions,
  params: SqlParams,
): SelectorSource {
  const anyEvent = selectors.some((s) => s.event === null);
  const names = anyEvent ? undefined : [...new Set(selectors.map((s) => s.event as string))];
  const base = eventSource(
    {
      range: options.range,
      events: names,
      padBeforeSeconds: options.padBeforeSeconds,
      padAfterSeconds: options.padAfterSeconds,
    },
    params,
  );
  const needsTraits = needsPersonTraits([...selectors.flatMap((s) => s.refs), ...(options.extraRefs ?? [])]);
  const from = needsTraits
    ? `${base.from} LEFT JOIN person_traits AS pt ON pt.person_id = ${PERSON_SQL}`
    : base.from;
  const match = selectors.map((s) => s.sql).join(' OR ');
  return { ctes: sourceCtes(needsTraits), from, where: `${base.where}\n    AND (${match})`, needsTraits };
}

/**
 * Two-stage person resolution: aggregate events per `id` first (`idKey` over `idFrom`), then map
 * the few aggregated rows to persons (`person` over `personFrom`, alias `d` for the first stage).
 * This is several times faster than joining every event with the person map. When person traits
 * are needed on each event, the first stage already groups by person and the second is a no-op map.
 */
export interface PersonStages {
  idKey: string;
  idFrom: string;
  /** The person of a first-stage row `d`: `d.id`, and `d.pid` = max(e.person_id) of its events. */
  person: string;
  personFrom: string;
}

export function personStages(source: SelectorSource, firstStage = 'per_id'): PersonStages {
  if (source.needsTraits) {
    return { idKey: PERSON_SQL, idFrom: source.from, person: 'd.id', personFrom: `${firstStage} AS d` };
  }
  return {
    idKey: 'e.distinct_id',
    idFrom: 'events AS e FINAL',
    person: "if(pm.person_id != '', pm.person_id, if(d.pid != '', d.pid, d.id))",
    personFrom: `${firstStage} AS d LEFT JOIN person_map AS pm ON pm.distinct_id = d.id`,
  };
}
