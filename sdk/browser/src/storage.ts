/**
 * Small values kept between visits: localStorage first, a first-party cookie when localStorage is
 * unavailable (some private modes, blocked storage), memory as the last resort.
 */
export interface KeyValueStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  remove(key: string): void;
}

const COOKIE_DAYS = 365;

function localStore(): Storage | undefined {
  try {
    const storage = globalThis.localStorage;
    const probe = '__pl_probe__';
    storage.setItem(probe, '1');
    storage.removeItem(probe);
    return storage;
  } catch {
    return undefined;
  }
}

function readCookie(key: string): string | undefined {
  try {
    for (const part of document.cookie.split('; ')) {
      const eq = part.indexOf('=');
      if (part.slice(0, eq) === key) return decodeURIComponent(part.slice(eq + 1));
    }
  } catch {
    // No cookies (sandboxed frame).
  }
  return undefined;
}

function writeCookie(key: string, value: string, days: number): void {
  try {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is asynchronous and missing in Safari and Firefox.
    document.cookie = `${key}=${encodeURIComponent(value)}; Max-Age=${days * 86_400}; Path=/; SameSite=Lax${secure}`;
  } catch {
    // No cookies (sandboxed frame).
  }
}

/**
 * Ids (anonymous id, user id) go to localStorage and to a cookie, so either surviving keeps the
 * visitor's id; other values go to localStorage only (cookies travel with every request).
 */
export function createBrowserStore(): { ids: KeyValueStore; local: KeyValueStore } {
  const storage = localStore();
  const memory = new Map<string, string>();
  const local: KeyValueStore = {
    get(key) {
      return storage ? (storage.getItem(key) ?? undefined) : memory.get(key);
    },
    set(key, value) {
      if (storage) storage.setItem(key, value);
      else memory.set(key, value);
    },
    remove(key) {
      if (storage) storage.removeItem(key);
      memory.delete(key);
    },
  };
  const ids: KeyValueStore = {
    get(key) {
      return local.get(key) || readCookie(key) || undefined;
    },
    set(key, value) {
      local.set(key, value);
      writeCookie(key, value, COOKIE_DAYS);
    },
    remove(key) {
      local.remove(key);
      writeCookie(key, '', 0);
    },
  };
  return { ids, local };
}
