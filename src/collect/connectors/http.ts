import { detailText, PulseloopError } from '../../errors/registry.js';
import { type BackoffPolicy, backoffDelayMs, type Pacer, retryAfterMs, sleep } from './backoff.js';

/**
 * One GET against a platform API, paced by the stream's rate limit and retried with back-off when
 * the platform says "later": HTTP 429 and 5xx, network failures, and the rate-limit codes each
 * platform documents inside a 200 answer. Anything else the connector's `judge` decides.
 */

/** What a connector makes of one answer. */
export type Verdict<T> =
  | { kind: 'ok'; value: T }
  /**
   * Try again after back-off (at least `retryAfterMs` when the platform said how long); `reasonZh`
   * where the reason has words of ours, not only a code and the platform's own text.
   */
  | { kind: 'retry'; reason: string; reasonZh?: string; retryAfterMs?: number }
  | { kind: 'fail'; error: PulseloopError };

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

export interface RetryEvent {
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  reason: string;
  /** The reason in Chinese, where it is ours to word (a status code or the platform's words are not). */
  reasonZh?: string;
}

export interface ApiClient {
  readonly platform: string;
  get<T>(url: URL, headers: Record<string, string>, judge: (answer: HttpAnswer) => Verdict<T>): Promise<T>;
}

export interface ApiClientOptions {
  platform: string;
  /** The platform's name in Chinese messages; `platform` when not given. */
  platformZh?: string;
  pacer: Pacer;
  backoff: BackoffPolicy;
  signal?: AbortSignal;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
  /** Per-request time-out. */
  timeoutMs?: number;
}

/**
 * Judges what every platform means the same way: 429 and 5xx are "later", other non-2xx are errors
 * (naming the platform as people know it, in both languages).
 */
export function judgeTransport(
  answer: HttpAnswer,
  named: { platform: string; platform_zh: string },
): Verdict<never> | undefined {
  if (answer.status === 429 || answer.status >= 500) {
    const wait = retryAfterMs(answer.headers.get('retry-after'));
    return {
      kind: 'retry',
      reason: `HTTP ${answer.status}`,
      ...(wait !== undefined && { retryAfterMs: wait }),
    };
  }
  if (answer.status < 200 || answer.status >= 300 || answer.json === undefined) {
    return {
      kind: 'fail',
      error: new PulseloopError('connector_api_error', {
        ...named,
        code: `HTTP ${answer.status}`,
        // The platform's own answer, quoted as it is.
        ...(answer.text === ''
          ? detailText('empty body', '响应体为空')
          : { detail: answer.text.slice(0, 200) }),
      }),
    };
  }
  return undefined;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const random = options.random ?? Math.random;
  return {
    platform: options.platform,
    async get(url, headers, judge) {
      for (let attempt = 1; ; attempt++) {
        await options.pacer.wait(options.signal);
        let verdict: Verdict<unknown>;
        try {
          verdict = judge(await fetchAnswer(url, headers, options));
        } catch (error) {
          if (options.signal?.aborted) throw error;
          if (error instanceof PulseloopError) throw error;
          const message = (error as Error).message;
          verdict = { kind: 'retry', reason: `network: ${message}`, reasonZh: `网络错误：${message}` };
        }
        if (verdict.kind === 'ok') return verdict.value as never;
        if (verdict.kind === 'fail') throw verdict.error;
        const delayMs = Math.max(
          backoffDelayMs(options.backoff, attempt, random()),
          verdict.retryAfterMs ?? 0,
        );
        if (attempt >= options.backoff.maxAttempts || delayMs > options.backoff.maxDelayMs) {
          throw new PulseloopError('connector_retries_exhausted', {
            platform: options.platform,
            ...(options.platformZh !== undefined && { platform_zh: options.platformZh }),
            attempts: attempt,
            detail: verdict.reason,
            ...(verdict.reasonZh !== undefined && { detail_zh: verdict.reasonZh }),
          });
        }
        options.onRetry?.({
          retry: attempt,
          delayMs,
          reason: verdict.reason,
          ...(verdict.reasonZh !== undefined && { reasonZh: verdict.reasonZh }),
        });
        await sleep(delayMs, options.signal);
      }
    },
  };
}

async function fetchAnswer(
  url: URL,
  headers: Record<string, string>,
  options: ApiClientOptions,
): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const response = await fetch(url, { method: 'GET', headers, signal });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}
