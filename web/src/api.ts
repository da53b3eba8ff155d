import type { Lang } from './i18n';

/** An error the API answered with, in both languages (the server sends message and message_zh). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageZh: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  text(lang: Lang): string {
    return lang === 'zh' ? this.messageZh : this.message;
  }
}

/** What went wrong, for the page: the server's message in the page's language, else the error's own. */
export function errorText(error: unknown, lang: Lang): string {
  if (error instanceof ApiError) return error.text(lang);
  return error instanceof Error ? error.message : String(error);
}

/** The CSRF token the server set at sign-in (cookie `pl_csrf`), echoed on unsafe requests. */
function csrfToken(): string {
  const match = /(?:^|;\s*)pl_csrf=([^;]*)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1] ?? '') : '';
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function withCsrf(init: RequestInit = {}): RequestInit {
  if (!UNSAFE.has((init.method ?? 'GET').toUpperCase())) return init;
  const headers = new Headers(init.headers);
  headers.set('x-csrf-token', csrfToken());
  return { ...init, headers };
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

/** Calls `listener` whenever the server answers 401 (the session ended); returns the unsubscribe. */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function signedOut(status: number, path: string): void {
  // A refused sign-in is a wrong password, not an ended session.
  if (status === 401 && !path.endsWith('/auth/login')) for (const listener of signedOutListeners) listener();
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, withCsrf(init));
  } catch (error) {
    throw new ApiError(
      0,
      'network',
      `The server did not answer: ${String(error)}`,
      `服务器无响应：${String(error)}`,
    );
  }
  const text = await response.text();
  const body = text ? JSON.parse(text) : {};
  if (!response.ok) {
    signedOut(response.status, path);
    const e = body.error ?? {};
    throw new ApiError(
      response.status,
      e.code ?? 'http',
      e.message ?? `HTTP ${response.status}`,
      e.message_zh ?? `HTTP ${response.status}`,
      e.details ?? {},
    );
  }
  return body as T;
}

/** The signed-in user as GET /api/v1/auth/me names them. */
export interface Me {
  user: { id: string; email: string; name: string };
  via: 'session' | 'token';
}

export const api = {
  get: <T>(path: string) => request<T>(path),
  post: <T>(path: string, body?: unknown) =>
    request<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  put: <T>(path: string, body: unknown) =>
    request<T>(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  del: <T>(path: string) => request<T>(path, { method: 'DELETE' }),
  upload: <T>(path: string, file: Blob, onProgress: (fraction: number) => void) =>
    new Promise<T>((resolve, reject) => {
      // XMLHttpRequest, because fetch reports no upload progress.
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('x-csrf-token', csrfToken());
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        const body = xhr.responseText ? JSON.parse(xhr.responseText) : {};
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
        else {
          signedOut(xhr.status, path);
          const e = body.error ?? {};
          reject(
            new ApiError(
              xhr.status,
              e.code ?? 'http',
              e.message ?? `HTTP ${xhr.status}`,
              e.message_zh ?? '',
              e.details,
            ),
          );
        }
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'Upload failed', '上传失败'));
      xhr.send(file);
    }),
};

/** Runs a registered analysis of the project. */
export function runAnalysis<R>(
  projectId: string,
  kind: string,
  query: unknown,
): Promise<{ result: R; meta: { tookMs: number; cached?: boolean } }> {
  return api.post(`/api/v1/projects/${encodeURIComponent(projectId)}/analyses/${kind}`, query);
}
