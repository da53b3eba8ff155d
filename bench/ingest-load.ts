import http from 'node:http';

export interface LoadOptions {
  url: string;
  writeKey: string;
  durationMs: number;
  eventsPerRequest: number;
  concurrency: number;
  /** Called with each acknowledged request's message ids (durability tests keep them). */
  onAcknowledged?: (messageIds: string[]) => void;
  /** Stop early (e.g. the server was killed). */
  signal?: AbortSignal;
  /** Mix identify calls with PII and consent traits in among the track calls (governance benchmark). */
  mix?: IdentifyMix;
}

export interface IdentifyMix {
  /** Share of calls that are identify calls carrying phone, e-mail and name traits (e.g. 0.05). */
  identifyShare: number;
  /** Share of those identify calls that also carry consent traits (e.g. 0.2). */
  consentShare: number;
}

export interface LoadResult {
  requests: number;
  acknowledgedEvents: number;
  failedRequests: number;
  statusCounts: Record<string, number>;
  seconds: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

const PLATFORMS = ['douyin', 'kuaishou', 'xiaohongshu', 'wechat_channels', 'bilibili', 'weibo', 'web', 'app'];
const EVENTS = ['video_play', 'product_view', 'add_to_cart', 'share', 'like', 'order_completed'];

/** An identify call with contact traits (and, when `withConsent`, consent traits) for one of the persons. */
function identifyItem(id: string, n: number, person: number, now: string, withConsent: boolean): string {
  const consent = withConsent ? ',"consent_email":true,"consent_sms":false' : '';
  return `{"type":"identify","messageId":"${id}","anonymousId":"anon-${person}","userId":"user-${person}","timestamp":"${now}","traits":{"phone":"138${String(person).padStart(8, '0')}","email":"user-${person}@example.com","name":"用户${person}","plan":"${n % 3 === 0 ? 'gold' : 'basic'}"${consent}},"context":{"ip":"10.0.${n % 250}.${person % 250}","locale":"zh-CN"}}`;
}

/** One /v1/batch body of realistic track calls from a population of 20,000 persons. */
function batchBody(
  runId: string,
  request: number,
  size: number,
  mix?: IdentifyMix,
): { body: string; ids: string[] } {
  const ids: string[] = [];
  const items: string[] = [];
  const now = new Date().toISOString();
  const identifyEvery = mix ? Math.round(1 / mix.identifyShare) : 0;
  const consentEvery = mix ? Math.round(1 / mix.consentShare) : 0;
  for (let i = 0; i < size; i += 1) {
    const n = request * size + i;
    const id = `${runId}-${n}`;
    ids.push(id);
    const person = (n * 7919) % 20_000;
    if (mix && n % identifyEvery === 0) {
      items.push(identifyItem(id, n, person, now, (n / identifyEvery) % consentEvery === 0));
      continue;
    }
    items.push(
      `{"type":"track","messageId":"${id}","anonymousId":"anon-${person}","userId":"user-${person}","event":"${EVENTS[n % EVENTS.length]}","timestamp":"${now}","properties":{"platform":"${PLATFORMS[n % PLATFORMS.length]}","content_id":"video-${n % 500}","revenue":${n % 6 === 5 ? 129 : 0},"currency":"CNY","duration_seconds":${n % 90}},"context":{"ip":"10.0.${n % 250}.${person % 250}","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15","locale":"zh-CN","campaign":{"source":"douyin","medium":"paid_social","name":"double11"}}}`,
    );
  }
  return { body: `{"batch":[${items.join(',')}],"sentAt":"${now}"}`, ids };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sends /v1/batch requests from `concurrency` keep-alive connections for `durationMs`. */
export async function runIngestLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL('/v1/batch', options.url);
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const runId = `load-${process.pid}-${Date.now()}`;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let requests = 0;
  let acknowledgedEvents = 0;
  let failedRequests = 0;
  let nextRequest = 0;
  const startedAt = performance.now();
  const endAt = startedAt + options.durationMs;

  const sendOne = (body: string) =>
    new Promise<number>((resolve) => {
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: auth } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });

  const worker = async () => {
    while (performance.now() < endAt && !options.signal?.aborted) {
      const { body, ids } = batchBody(runId, nextRequest++, options.eventsPerRequest, options.mix);
      const t0 = performance.now();
      const status = await sendOne(body);
      latencies.push(performance.now() - t0);
      requests += 1;
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      if (status === 200) {
        acknowledgedEvents += ids.length;
        options.onAcknowledged?.(ids);
      } else {
        failedRequests += 1;
        if (status === 503 || status === 429) await new Promise((r) => setTimeout(r, 50));
        if (status === 0 && options.signal?.aborted) break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  const seconds = (performance.now() - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests,
    acknowledgedEvents,
    failedRequests,
    statusCounts,
    seconds,
    eventsPerSecond: acknowledgedEvents / seconds,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
  };
}
