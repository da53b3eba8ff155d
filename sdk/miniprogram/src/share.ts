import { pageUrl } from './context.js';

/** Share paths carry who shared (pl_sharer) and which share it was (pl_share). */
export const SHARER_PARAMETER = 'pl_sharer';
export const SHARE_PARAMETER = 'pl_share';

/** Splits `/pages/a/a?x=1` into route and decoded query. */
export function parsePath(path: string): { route: string; query: Record<string, string> } {
  const [route = '', search = ''] = path.split('?', 2);
  const query: Record<string, string> = {};
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    query[key] = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
  }
  return { route, query };
}

/** The path with the sharer's id and the share id set (replacing earlier ones). */
export function withSharer(path: string, sharerId: string, shareId: string): string {
  const { route, query } = parsePath(path);
  return pageUrl(route, { ...query, [SHARER_PARAMETER]: sharerId, [SHARE_PARAMETER]: shareId });
}

/** The sharer named by a launch or show query, as event properties (events.sharer_id). */
export function sharerProperties(
  query: Record<string, string | undefined> | undefined,
): Record<string, string> {
  const sharerId = query?.[SHARER_PARAMETER];
  if (!sharerId) return {};
  const shareId = query?.[SHARE_PARAMETER];
  return shareId ? { sharer_id: sharerId, share_id: shareId } : { sharer_id: sharerId };
}
