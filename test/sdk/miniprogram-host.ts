import type {
  LaunchOptions,
  MiniProgramApi,
  PageInstance,
  RequestOptions,
  SystemInfo,
} from '../../sdk/miniprogram/src/platform.js';

/**
 * An in-test implementation of the `wx.*` / `tt.*` calls the mini-program SDK uses, following the
 * platforms' documentation: `request` calls `success` with { statusCode, data, header } for every
 * HTTP answer (errors included) and `fail` with { errMsg } only when no answer came; `data` is
 * parsed as JSON with dataType 'json'; `getStorageSync` returns '' for a missing key and storage
 * keeps copies of values, at most 1 MB per key; `onAppShow` also fires right after launch.
 * Requests really go to the given server over Node's fetch.
 */

export type HostFlavour = 'wx' | 'tt';

const MAX_STORAGE_VALUE_BYTES = 1024 * 1024;

const SYSTEM_INFO: Record<HostFlavour, SystemInfo> = {
  wx: {
    brand: 'Apple',
    model: 'iPhone 15',
    pixelRatio: 3,
    screenWidth: 393,
    screenHeight: 852,
    language: 'zh_CN',
    version: '8.0.50',
    system: 'iOS 17.5',
    platform: 'ios',
    SDKVersion: '3.5.0',
  },
  tt: {
    brand: 'Xiaomi',
    model: '23127PN0CC',
    pixelRatio: 2.75,
    screenWidth: 393,
    screenHeight: 873,
    language: 'zh_CN',
    version: '30.1.0',
    system: 'Android 14',
    platform: 'android',
    SDKVersion: '3.30.0',
    appName: 'Douyin',
  },
};

export interface MiniProgramHost {
  api: MiniProgramApi;
  /** The page stack getCurrentPages() returns, top last. */
  pages: PageInstance[];
  online: boolean;
  /** Requests that failed because the host was offline. */
  failedRequests: number;
  hide(): void;
  show(options: LaunchOptions): void;
  /** The app process is killed: nothing it started ever answers again. */
  terminate(): void;
  /** Makes this host's page stack the global getCurrentPages(), as the runtime does. */
  activate(): void;
}

/** One run of a mini-program: `storage` outlives it (pass the same Map to the next launch). */
export function startMiniProgram(
  flavour: HostFlavour,
  storage: Map<string, string>,
  launch: LaunchOptions,
): MiniProgramHost {
  const hideListeners: Array<() => void> = [];
  const showListeners: Array<(options: LaunchOptions) => void> = [];
  let terminated = false;

  function request(options: RequestOptions): { abort(): void } {
    const prefix = `${flavour === 'wx' ? '' : 'tt.'}request:fail`;
    const fail = (errMsg: string) => {
      if (terminated) return;
      options.fail?.({ errMsg });
      options.complete?.();
    };
    if (terminated) return { abort() {} };
    if (!host.online) {
      host.failedRequests += 1;
      setTimeout(() => fail(`${prefix} net::ERR_INTERNET_DISCONNECTED`), 5);
      return { abort() {} };
    }
    fetch(options.url, {
      method: options.method,
      headers: options.header,
      body: options.data,
      signal: AbortSignal.timeout(options.timeout ?? 60_000),
    }).then(
      async (response) => {
        const text = await response.text();
        let data: unknown = text;
        if (options.dataType === 'json') {
          try {
            data = JSON.parse(text);
          } catch {
            // The platforms hand over the raw text when it is not JSON.
          }
        }
        if (terminated) return;
        options.success?.({
          statusCode: response.status,
          data,
          header: Object.fromEntries(response.headers),
        });
        options.complete?.();
      },
      (error: Error) => fail(`${prefix} ${error.message}`),
    );
    return { abort() {} };
  }

  const api: MiniProgramApi = {
    request,
    getStorageSync(key) {
      return storage.get(key) ?? '';
    },
    setStorageSync(key, value) {
      if (Buffer.byteLength(value) > MAX_STORAGE_VALUE_BYTES) {
        throw new Error('setStorageSync:fail entry size limit reached');
      }
      storage.set(key, value);
    },
    removeStorageSync(key) {
      storage.delete(key);
    },
    onAppHide(listener) {
      hideListeners.push(listener);
    },
    onAppShow(listener) {
      showListeners.push(listener);
    },
    getLaunchOptionsSync() {
      return structuredClone(launch);
    },
    getSystemInfoSync() {
      return { ...SYSTEM_INFO[flavour] };
    },
  };

  const host: MiniProgramHost = {
    api,
    pages: [],
    online: true,
    failedRequests: 0,
    hide() {
      for (const listener of hideListeners) listener();
    },
    show(options) {
      for (const listener of showListeners) listener(structuredClone(options));
    },
    terminate() {
      terminated = true;
    },
    activate() {
      (globalThis as { getCurrentPages?: () => PageInstance[] }).getCurrentPages = () => [...host.pages];
    },
  };
  host.activate();
  // As on the platforms, onAppShow fires once after launch, after the app's own start-up code.
  setTimeout(() => host.show(launch), 0);
  return host;
}
