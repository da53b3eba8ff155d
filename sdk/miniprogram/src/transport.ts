import type { MiniProgramApi } from './platform.js';
import type { Message, SendOutcome } from './queue.js';

/** Sends a batch to `POST /v1/batch` through the platform's request API (wx.request / tt.request). */
export function createSend(api: MiniProgramApi, host: string, writeKey: string, timeoutMs: number) {
  const url = `${host.replace(/\/+$/, '')}/v1/batch`;
  return (batch: Message[]): Promise<SendOutcome> =>
    new Promise((resolve) => {
      api.request({
        url,
        method: 'POST',
        data: JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey }),
        header: { 'content-type': 'application/json' },
        timeout: timeoutMs,
        dataType: 'json',
        success(result) {
          resolve(outcomeOf(result.statusCode, result.data, result.header));
        },
        fail(error) {
          resolve({ status: 'retry', reason: `network: ${error?.errMsg ?? 'request failed'}` });
        },
      });
    });
}

function headerValue(header: Record<string, string> | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const key of Object.keys(header)) if (key.toLowerCase() === name) return header[key];
  return undefined;
}

function outcomeOf(status: number, data: unknown, header: Record<string, string> | undefined): SendOutcome {
  if (status >= 200 && status < 300) return { status: 'delivered' };
  const error = (data as { error?: { code?: string; details?: { retryAfterSeconds?: unknown } } } | undefined)
    ?.error;
  const reason = error?.code ?? `http_${status}`;
  if (status === 408 || status === 429 || status >= 500) {
    const seconds = Number(headerValue(header, 'retry-after') ?? error?.details?.retryAfterSeconds);
    return Number.isFinite(seconds) && seconds > 0
      ? { status: 'retry', reason, retryAfterMs: seconds * 1000 }
      : { status: 'retry', reason };
  }
  return { status: 'rejected', reason };
}
