/** What the browser tells about the page and the visit, in Segment's context shape. */

/** The UTM parameters and their names in Segment's context.campaign. */
const UTM_PARAMETERS: ReadonlyArray<readonly [string, string]> = [
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_campaign', 'name'],
  ['utm_term', 'term'],
  ['utm_content', 'content'],
];

/** Ad platforms' click ids, kept as they are so conversions can be reported back to the platform. */
const CLICK_IDS = [
  'gclid',
  'gbraid',
  'wbraid',
  'fbclid',
  'msclkid',
  'ttclid',
  'twclid',
  'li_fat_id',
  'clickid', // Ocean Engine (巨量引擎)
  'gdt_vid', // Tencent Ads (广点通)
  'qz_gdt', // Tencent Ads (广点通)
  'bd_vid', // Baidu
];

/** context.campaign from a query string: the UTM parameters and click ids present; undefined when none. */
export function campaignOf(search: string): Record<string, string> | undefined {
  const params = new URLSearchParams(search);
  const campaign: Record<string, string> = {};
  for (const [parameter, field] of UTM_PARAMETERS) {
    const value = params.get(parameter);
    if (value) campaign[field] = value;
  }
  for (const parameter of CLICK_IDS) {
    const value = params.get(parameter);
    if (value) campaign[parameter] = value;
  }
  return Object.keys(campaign).length > 0 ? campaign : undefined;
}

export interface PageInfo {
  url: string;
  path: string;
  referrer: string;
  title: string;
  search: string;
}

/** The current page; `referrer` is given by the caller (the previous URL after an in-app navigation). */
export function pageInfo(referrer: string): PageInfo {
  return {
    url: location.href,
    path: location.pathname,
    referrer,
    title: document.title,
    search: location.search,
  };
}

/** The device part of the context, the same for every event of a page load. */
export function deviceContext(): Record<string, unknown> {
  const context: Record<string, unknown> = {
    userAgent: navigator.userAgent,
    locale: navigator.language,
  };
  if (typeof screen !== 'undefined') {
    context.screen = {
      width: screen.width,
      height: screen.height,
      density: globalThis.devicePixelRatio ?? 1,
    };
  }
  try {
    context.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    // Old browsers without Intl time zones.
  }
  return context;
}
