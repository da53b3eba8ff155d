import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';

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
  /** CPU the load generator itself used per acknowledged event, in µs (it shares the server's cores). */
  generatorCpuMicrosPerEvent: number;
}

const PLATFORMS = ['douyin', 'kuaishou', 'xiaohongshu', 'wechat_channels', 'bilibili', 'weibo', 'web', 'app'];
const EVENTS = ['video_play', 'product_view', 'add_to_cart', 'share', 'like', 'order_completed'];
/** Persons the calls come from. */
const PERSONS = 20_000;

/** Width of the call number in message ids (`<run>-000000012345`), fixed so ids can be written in place. */
const ID_DIGITS = 12;
const ID_SLOT = '#'.repeat(ID_DIGITS);
/** Where the send time goes: an ISO time is always 24 characters. */
const TIME_SLOT = 'T'.repeat(24);

/** An identify call with contact traits (and, when `withConsent`, consent traits) for one of the persons. */
function identifyItem(id: string, n: number, person: number, withConsent: boolean): string {
  const consent = withConsent ? ',"consent_email":true,"consent_sms":false' : '';
  return `{"type":"identify","messageId":"${id}","anonymousId":"anon-${person}","userId":"user-${person}","timestamp":"${TIME_SLOT}","traits":{"phone":"138${String(person).padStart(8, '0')}","email":"user-${person}@example.com","name":"用户${person}","plan":"${n % 3 === 0 ? 'gold' : 'basic'}"${consent}},"context":{"ip":"10.0.${n % 250}.${person % 250}","locale":"zh-CN"}}`;
}

/** A realistic track call: a person of the population on one of the platforms, from a campaign. */
function trackItem(id: string, n: number, person: number): string {
  return `{"type":"track","messageId":"${id}","anonymousId":"anon-${person}","userId":"user-${person}","event":"${EVENTS[n % EVENTS.length]}","timestamp":"${TIME_SLOT}","properties":{"platform":"${PLATFORMS[n % PLATFORMS.length]}","content_id":"video-${n % 500}","revenue":${n % 6 === 5 ? 129 : 0},"currency":"CNY","duration_seconds":${n % 90}},"context":{"ip":"10.0.${n % 250}.${person % 250}","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15","locale":"zh-CN","campaign":{"source":"douyin","medium":"paid_social","name":"double11"}}}`;
}

/** One /v1/batch body with the message id numbers and send times left as slots. */
interface BodyTemplate {
  bytes: Buffer;
  /** Offsets of the id number slots, in call order. */
  idOffsets: number[];
  timeOffsets: number[];
}

function offsetsOf(bytes: Buffer, slot: string): number[] {
  const offsets: number[] = [];
  for (let at = bytes.indexOf(slot); at !== -1; at = bytes.indexOf(slot, at + slot.length)) offsets.push(at);
  return offsets;
}

/** The body of request `request` (its calls are numbered request × size + i), with slots. */
function bodyTemplate(runId: string, request: number, size: number, mix?: IdentifyMix): BodyTemplate {
  const identifyEvery = mix ? Math.round(1 / mix.identifyShare) : 0;
  const consentEvery = mix ? Math.round(1 / mix.consentShare) : 0;
  const items: string[] = [];
  for (let i = 0; i < size; i += 1) {
    const n = request * size + i;
    const id = `${runId}-${ID_SLOT}`;
    const person = (n * 7919) % PERSONS;
    items.push(
      mix && n % identifyEvery === 0
        ? identifyItem(id, n, person, (n / identifyEvery) % consentEvery === 0)
        : trackItem(id, n, person),
    );
  }
  const bytes = Buffer.from(`{"batch":[${items.join(',')}],"sentAt":"${TIME_SLOT}"}`);
  return { bytes, idOffsets: offsetsOf(bytes, ID_SLOT), timeOffsets: offsetsOf(bytes, TIME_SLOT) };
}

/**
 * Bodies for a run: PERSONS / size templates (one call per person, 20,000 distinct calls) used in
 * turn; each request copies its template and writes its own message ids and send time into the
 * slots. Building 47 KB of JSON per request cost the generator ~1 µs an event of the two cores it
 * shares with the server.
 */
class BodyFactory {
  private readonly templates: BodyTemplate[] = [];
  constructor(
    private readonly runId: string,
    private readonly size: number,
    private readonly mix?: IdentifyMix,
  ) {}

  private template(request: number): BodyTemplate {
    const period = Math.max(1, Math.round(PERSONS / this.size));
    const index = request % period;
    let template = this.templates[index];
    if (!template) {
      template = bodyTemplate(this.runId, index, this.size, this.mix);
      this.templates[index] = template;
    }
    return template;
  }

  /** Writes request `request`'s body into `into` (reused between requests), returning it. */
  body(request: number, into: Buffer | undefined): Buffer {
    const template = this.template(request);
    const body =
      into && into.length === template.bytes.length ? into : Buffer.allocUnsafe(template.bytes.length);
    template.bytes.copy(body);
    const first = request * this.size;
    template.idOffsets.forEach((offset, i) => {
      let n = first + i;
      for (let d = ID_DIGITS - 1; d >= 0; d -= 1) {
        body[offset + d] = 48 + (n % 10);
        n = Math.floor(n / 10);
      }
    });
    const now = new Date().toISOString();
    for (const offset of template.timeOffsets) body.write(now, offset, 'latin1');
    return body;
  }

  /** The message ids of request `request`, as the body carries them. */
  ids(request: number): string[] {
    const first = request * this.size;
    return Array.from(
      { length: this.size },
      (_, i) => `${this.runId}-${String(first + i).padStart(ID_DIGITS, '0')}`,
    );
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Sends /v1/batch requests from `concurrency` keep-alive connections for `durationMs` (undici's
 * pool: about half the client CPU of node:http per request, which matters when the generator shares
 * the machine's cores with the server it measures).
 */
export async function runIngestLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  // Each request in flight listens to the shared signal: that many listeners is the design, not a leak.
  if (options.signal) setMaxListeners(options.concurrency + 10, options.signal);
  const pool = new Pool(target.origin, { connections: options.concurrency, pipelining: 1 });
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const bodies = new BodyFactory(`load-${process.pid}-${Date.now()}`, options.eventsPerRequest, options.mix);
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let requests = 0;
  let acknowledgedEvents = 0;
  let failedRequests = 0;
  let nextRequest = 0;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const endAt = startedAt + options.durationMs;

  const sendOne = async (body: Buffer): Promise<number> => {
    try {
      const response = await pool.request({
        path: '/v1/batch',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await response.body.dump();
      return response.statusCode;
    } catch {
      return 0;
    }
  };

  const worker = async () => {
    // A body buffer per connection: undici is done with it when the response arrives.
    let buffer: Buffer | undefined;
    while (performance.now() < endAt && !options.signal?.aborted) {
      const request = nextRequest++;
      buffer = bodies.body(request, buffer);
      const t0 = performance.now();
      const status = await sendOne(buffer);
      latencies.push(performance.now() - t0);
      requests += 1;
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      if (status === 200) {
        acknowledgedEvents += options.eventsPerRequest;
        options.onAcknowledged?.(bodies.ids(request));
      } else {
        failedRequests += 1;
        if (status === 503 || status === 429 || status === 0) await new Promise((r) => setTimeout(r, 50));
        if (status === 0 && options.signal?.aborted) break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests,
    acknowledgedEvents,
    failedRequests,
    statusCounts,
    seconds,
    eventsPerSecond: acknowledgedEvents / seconds,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    generatorCpuMicrosPerEvent: (cpu.user + cpu.system) / Math.max(1, acknowledgedEvents),
  };
}
