import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';

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
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** The last 30 days up to yesterday: the demo world ends yesterday. */
export function defaultRange(): { from: string; to: string } {
  const to = new Date(Date.now() - 86_400_000);
  const from = new Date(to.getTime() - 29 * 86_400_000);
  return { from: day(from), to: day(to) };
}

export function useGlobalView(): GlobalView {
  const { get } = useUrlState();
  const range = defaultRange();
  return { projectId: get('project'), from: get('from') ?? range.from, to: get('to') ?? range.to };
}
