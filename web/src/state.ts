import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';
import { dayInZone } from './format';
import { useProjectTimeZone } from './project';

/**
 * The view's state lives in the URL (project, dates, page options), so a copied link reproduces
 * exactly what its sender saw.
 */
export function useUrlState(): {
  get(name: string): string | undefined;
  set(values: Record<string, string | undefined>): void;
} {
  const [params, setParams] = useSearchParams();
  const get = useCallback((name: string) => params.get(name) ?? undefined, [params]);
  const set = useCallback(
    (values: Record<string, string | undefined>) =>
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [k, v] of Object.entries(values)) {
            if (v === undefined || v === '') next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace: false },
      ),
    [setParams],
  );
  return { get, set };
}

export interface GlobalView {
  projectId: string | undefined;
  from: string;
  to: string;
  /** The global platform filter; empty means every platform. */
  platforms: string[];
  /** `platforms` as one text, for effect dependencies. */
  platformKey: string;
}

/** An analysis filter as the API takes it. */
export interface Filter {
  field: string;
  op: string;
  value?: unknown;
}

/**
 * The last 30 days up to yesterday, in the project's time zone (the demo world ends yesterday in
 * Asia/Shanghai: in the browser's zone, a day of it was left out for part of each day).
 */
export function defaultRange(timeZone: string | undefined): { from: string; to: string } {
  return { from: dayInZone(timeZone, 30), to: dayInZone(timeZone, 1) };
}

/** The view of the URL; `timeZone` for the shell, which provides the project the pages read. */
export function useGlobalView(timeZone?: string): GlobalView {
  const { get } = useUrlState();
  const projectZone = useProjectTimeZone();
  const range = defaultRange(timeZone ?? projectZone);
  const platformKey = get('platform') ?? '';
  return {
    projectId: get('project'),
    from: get('from') ?? range.from,
    to: get('to') ?? range.to,
    platforms: platformKey ? platformKey.split(',') : [],
    platformKey,
  };
}

/** The global platform filter as analysis filters: none when every platform is shown. */
export function platformFilters(view: Pick<GlobalView, 'platforms'>): Filter[] {
  return view.platforms.length ? [{ field: 'platform', op: 'in', value: view.platforms }] : [];
}

/** An event selector as the analyses take it; event null means any event. */
export interface EventSelector {
  event: string | null;
  filters?: Filter[];
}

/** An event selector narrowed to the global platforms. */
export function narrowed(selector: EventSelector, view: Pick<GlobalView, 'platforms'>): EventSelector {
  const extra = platformFilters(view);
  return extra.length ? { ...selector, filters: [...(selector.filters ?? []), ...extra] } : selector;
}
