/** Share links: who shared (pl_sharer) and which share it was (pl_share), read back on landing. */

export const SHARER_PARAMETER = 'pl_sharer';
export const SHARE_PARAMETER = 'pl_share';

/** The URL with the sharer's id and the share id set (replacing any earlier ones). */
export function withSharer(url: string, sharerId: string, shareId: string): string {
  const parsed = new URL(url, location.href);
  parsed.searchParams.set(SHARER_PARAMETER, sharerId);
  parsed.searchParams.set(SHARE_PARAMETER, shareId);
  return parsed.toString();
}

export interface Landing {
  sharerId: string;
  shareId?: string;
}

/** The sharer a page was opened from, when its URL came from a share link. */
export function landingSharer(search: string): Landing | undefined {
  const params = new URLSearchParams(search);
  const sharerId = params.get(SHARER_PARAMETER);
  if (!sharerId) return undefined;
  const shareId = params.get(SHARE_PARAMETER);
  return shareId ? { sharerId, shareId } : { sharerId };
}
