import type { LaunchOptions, PageInstance, SystemInfo } from './platform.js';

export type Flavour = 'wechat' | 'douyin';

/** The platform names the server knows (events.platform). */
export const PLATFORM_OF: Record<Flavour, string> = {
  wechat: 'wechat_miniprogram',
  douyin: 'douyin_miniprogram',
};

/** Douyin's host apps name themselves in getSystemInfoSync().appName; WeChat's do not. */
export function detectFlavour(info: SystemInfo | undefined): Flavour {
  return info?.appName && /douyin|toutiao|aweme|xigua|huoshan|lark/i.test(info.appName) ? 'douyin' : 'wechat';
}

/** The device part of the context, from getSystemInfoSync(). */
export function deviceContext(info: SystemInfo | undefined, flavour: Flavour): Record<string, unknown> {
  const context: Record<string, unknown> = { platform: PLATFORM_OF[flavour] };
  if (!info) return context;
  const [osName, ...osVersion] = (info.system ?? '').split(' ');
  context.device = { type: 'mobile', manufacturer: info.brand, model: info.model };
  context.os = { name: osName || info.platform, version: osVersion.join(' ') };
  context.screen = { width: info.screenWidth, height: info.screenHeight, density: info.pixelRatio };
  if (info.language) context.locale = info.language;
  context.miniprogram = {
    host: info.appName ?? (flavour === 'wechat' ? 'WeChat' : 'Douyin'),
    hostVersion: info.version,
    baseLibrary: info.SDKVersion,
  };
  return context;
}

/** A query string built by hand: mini-program runtimes have no URLSearchParams. */
export function queryString(query: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (value !== undefined) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  }
  return parts.join('&');
}

/** A page path with its query: `/pages/item/item?id=7`. */
export function pageUrl(route: string, query: Record<string, string | undefined> = {}): string {
  const path = route.startsWith('/') ? route : `/${route}`;
  const search = queryString(query);
  return search ? `${path}?${search}` : path;
}

/** The page on top of the stack (getCurrentPages()), if any. */
export function currentPage(pages: PageInstance[] | undefined): PageInstance | undefined {
  return pages && pages.length > 0 ? pages[pages.length - 1] : undefined;
}

/** context.page for a launch or a page: the server reads utm_* from its url. */
export function pageContext(
  path: string,
  query: Record<string, string | undefined> | undefined,
): { path: string; url: string } {
  const url = pageUrl(path, query);
  return { path: url.split('?')[0] ?? url, url };
}

export function launchPath(options: LaunchOptions): string {
  return options.path ?? '';
}
