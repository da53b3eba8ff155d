/**
 * The part of the WeChat (`wx`) and Douyin (`tt`) mini-program APIs the SDK uses, as documented by
 * both platforms (the two are the same for these calls). Optional members are feature-checked.
 */

export interface RequestSuccess {
  statusCode: number;
  data: unknown;
  header?: Record<string, string>;
}

export interface RequestOptions {
  url: string;
  method: 'POST';
  data: string;
  header: Record<string, string>;
  timeout?: number;
  dataType?: 'json';
  success?(result: RequestSuccess): void;
  fail?(error: { errMsg: string }): void;
  complete?(): void;
}

/** wx.getLaunchOptionsSync() / the argument of wx.onAppShow. */
export interface LaunchOptions {
  path?: string;
  query?: Record<string, string | undefined>;
  scene?: number | string;
  referrerInfo?: { appId?: string };
}

/** The fields of wx.getSystemInfoSync() / tt.getSystemInfoSync() put into the event context. */
export interface SystemInfo {
  brand?: string;
  model?: string;
  pixelRatio?: number;
  screenWidth?: number;
  screenHeight?: number;
  language?: string;
  /** The host app's version (WeChat, Douyin). */
  version?: string;
  /** "iOS 17.2", "Android 14" */
  system?: string;
  /** ios, android, devtools, windows, mac */
  platform?: string;
  SDKVersion?: string;
  /** Douyin only: Douyin, Toutiao, douyin_lite … */
  appName?: string;
}

export interface MiniProgramApi {
  request(options: RequestOptions): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: string): void;
  removeStorageSync?(key: string): void;
  onAppHide?(listener: () => void): void;
  onAppShow?(listener: (options: LaunchOptions) => void): void;
  getLaunchOptionsSync?(): LaunchOptions;
  getSystemInfoSync?(): SystemInfo;
}

/** A page instance as getCurrentPages() returns it. */
export interface PageInstance {
  route?: string;
  options?: Record<string, string | undefined>;
}
