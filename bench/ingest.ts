import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAlternating } from './alternating.js';
import { runIngestLoad } from './ingest-load.js';
import {
  freePort,
  type IngestServer,
  mib,
  type ServerProcess,
  type ServerStatus,
  serverStatus,
  startIngestServer,
  startServerProcess,
  statCpuSeconds,
  stopIngestServer,
} from './server-process.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Keep-alive connections the measured load is sent on (each with one request in flight): the fewest
 * that saturate the server here. Once the embedded ClickHouse's share fell (2026-12-01), 12 took
 * 61,200 events/s against 55,600 with 8 (p99 61 against 48 ms) and 16 no more (60,100, p99 ~75 ms);
 * four alternating rounds of each on one server.
 */
export const INGEST_CONNECTIONS = 12;

/** The benchmark's load, 100 events a request, on INGEST_CONNECTIONS connections unless told. */
function benchLoad(
  target: { url: string; writeKey: string },
  durationMs: number,
  concurrency: number = INGEST_CONNECTIONS,
) {
  return runIngestLoad({ ...target, durationMs, eventsPerRequest: 100, concurrency });
}

export interface IngestBenchResult {
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failedRequests: number;
  statusCounts: Record<string, number>;
  ackToQueryableMs: { median: number; max: number };
  peakRssBytes: number;
  /** Server CPU per acknowledged event during the measured load, in µs, by thread kind. */
  cpuMicrosPerEvent: Array<{ kind: string; micros: number }>;
  /** CPU of the load generator per acknowledged event, in µs (it runs on the same two cores). */
  generatorCpuMicrosPerEvent: number;
  /** Under the measured load, the age of the oldest acknowledged row not yet stored, sampled every 250 ms. */
  lagUnderLoadMs: { median: number; max: number };
  /** Minor page faults of the server process per acknowledged event. */
  pageFaultsPerEvent: number;
  /** Shares of the measured seconds the serving thread ran on a core, and waited for one. */
  mainThread: { onCpu: number; waiting: number };
}

async function storedEvents(server: ServerProcess): Promise<number> {
  return (await serverStatus(server)).tables.find((t) => t.table === 'events')?.rows ?? 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Time from a 200 to the event being visible to queries, with no other load. */
async function ackToQueryable(server: ServerProcess, writeKey: string): Promise<number> {
  const before = await storedEvents(server);
  const response = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify({ userId: 'probe', event: 'probe' }),
  });
  const acknowledgedAt = performance.now();
  if (response.status !== 200) throw new Error(`probe refused: ${response.status}`);
  while ((await storedEvents(server)) <= before) await new Promise((r) => setTimeout(r, 10));
  return performance.now() - acknowledgedAt;
}

/**
 * Sustained ingestion through /v1/batch: 100 events per request over loopback keep-alive
 * connections, durability on (every 200 is fsynced), against `pulseloop serve` in its own process.
 */
export async function benchIngestion(
  options: { durationMs?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<IngestBenchResult> {
  const log = options.log ?? (() => {});
  const ingestServer = await startIngestServer('ingest');
  const { server, writeKey } = ingestServer;
  try {
    log('warming up');
    await benchLoad({ url: server.url, writeKey }, 3000);
    log('measuring sustained ingestion');
    const cpuBefore = server.threadCpu();
    const faultsBefore = server.pageFaults();
    const scheduleBefore = server.mainThreadSchedule();
    const lagSamples: number[] = [];
    let loading = true;
    const sampling = (async () => {
      while (loading) {
        lagSamples.push((await serverStatus(server)).writer.lagMs);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const load = await benchLoad(
      { url: server.url, writeKey },
      options.durationMs ?? 20_000,
      options.concurrency,
    );
    const cpuAfter = server.threadCpu();
    const faultsAfter = server.pageFaults();
    const scheduleAfter = server.mainThreadSchedule();
    loading = false;
    await sampling;
    const cpuMicrosPerEvent = [...cpuAfter]
      .map(([kind, seconds]) => ({
        kind,
        micros: ((seconds - (cpuBefore.get(kind) ?? 0)) * 1e6) / Math.max(1, load.acknowledgedEvents),
      }))
      .sort((a, b) => b.micros - a.micros);
    const peakRssBytes = server.memory().peakRss;
    // Let the backlog drain before measuring latency to queryable.
    await new Promise((r) => setTimeout(r, 3000));
    const samples: number[] = [];
    for (let i = 0; i < 7; i += 1) samples.push(await ackToQueryable(server, writeKey));
    samples.sort((a, b) => a - b);
    return {
      eventsPerSecond: load.eventsPerSecond,
      p50Ms: load.latencyMs.p50,
      p99Ms: load.latencyMs.p99,
      failedRequests: load.failedRequests,
      statusCounts: load.statusCounts,
      ackToQueryableMs: { median: samples[3]!, max: samples.at(-1)! },
      peakRssBytes,
      cpuMicrosPerEvent,
      generatorCpuMicrosPerEvent: load.generatorCpuMicrosPerEvent,
      lagUnderLoadMs: { median: median(lagSamples), max: Math.max(0, ...lagSamples) },
      pageFaultsPerEvent: (faultsAfter - faultsBefore) / Math.max(1, load.acknowledgedEvents),
      mainThread: {
        onCpu: (scheduleAfter.onCpuSeconds - scheduleBefore.onCpuSeconds) / load.seconds,
        waiting: (scheduleAfter.waitingSeconds - scheduleBefore.waitingSeconds) / load.seconds,
      },
    };
  } finally {
    await stopIngestServer(ingestServer);
  }
}

export interface SideBySideResult {
  /** events/s of each server, measured over the same seconds. */
  perServer: number[];
  eventsPerSecond: number;
}

/**
 * Two servers side by side on the same cores, each with its own data directory and half of the
 * benchmark's connections. Whether one server's single serving thread is what limits it: if it
 * were, two would take about twice as much; if the cores are, about as much.
 */
export async function benchTwoServers(
  options: { durationMs?: number; log?: (line: string) => void } = {},
): Promise<SideBySideResult> {
  const log = options.log ?? (() => {});
  const servers: IngestServer[] = [];
  try {
    for (let i = 0; i < 2; i++) servers.push(await startIngestServer('ingest-pair'));
    const load = (durationMs: number) =>
      Promise.all(
        servers.map(({ server, writeKey }) =>
          benchLoad({ url: server.url, writeKey }, durationMs, INGEST_CONNECTIONS / 2),
        ),
      );
    log('warming up two servers side by side');
    await load(3000);
    log('measuring two servers side by side');
    const loads = await load(options.durationMs ?? 20_000);
    const perServer = loads.map((l) => l.eventsPerSecond);
    return { perServer, eventsPerSecond: perServer.reduce((sum, x) => sum + x, 0) };
  } finally {
    for (const side of servers) await stopIngestServer(side);
  }
}

export interface ThreadsOnOffResult {
  /** events/s with the default ingestion threads, and with none (PULSELOOP_INGEST_THREADS=0). */
  withThreads: number;
  withoutThreads: number;
  rounds: number;
}

/**
 * The same load on a server that prepares batches on its ingestion threads (the default) and on one
 * that prepares them on its serving thread, in alternating rounds (alternating.ts).
 */
export async function benchIngestThreads(
  options: { rounds?: number; roundMs?: number; log?: (line: string) => void } = {},
): Promise<ThreadsOnOffResult> {
  const rounds = options.rounds ?? 3;
  const [on, off] = await runAlternating(
    [
      { label: 'ingestion threads', env: {} },
      { label: 'no ingestion threads', env: { PULSELOOP_INGEST_THREADS: '0' } },
    ],
    {
      rounds,
      roundMs: options.roundMs ?? 10_000,
      load: (target, durationMs) => benchLoad(target, durationMs),
      ...(options.log ? { log: options.log } : {}),
    },
  );
  return { withThreads: on.eventsPerSecond, withoutThreads: off.eventsPerSecond, rounds };
}

export interface BareServerResult {
  eventsPerSecond: number;
  /** CPU of the bare server per event, in µs. */
  serverCpuMicrosPerEvent: number;
}

/**
 * The same load against bench/bare-server.ts, which only parses each body and answers: the ceiling
 * Node.js's HTTP and JSON.parse put on these cores before any of the server's own work.
 */
export async function benchBareServer(
  options: { durationMs?: number; log?: (line: string) => void } = {},
): Promise<BareServerResult> {
  const log = options.log ?? (() => {});
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, 'bare-server.js'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the bare server exited with ${code}`)));
      child.stdout?.on('data', (data: Buffer) => {
        if (data.toString().includes('ready')) resolve();
      });
    });
    const target = { url: `http://127.0.0.1:${port}`, writeKey: 'bare' };
    const cpuSeconds = () => statCpuSeconds(readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
    log('warming up the bare server');
    await benchLoad(target, 3000);
    log('measuring the bare server');
    const before = cpuSeconds();
    const load = await benchLoad(target, options.durationMs ?? 10_000);
    return {
      eventsPerSecond: load.eventsPerSecond,
      serverCpuMicrosPerEvent: ((cpuSeconds() - before) * 1e6) / Math.max(1, load.acknowledgedEvents),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

export interface OneCoreResult {
  eventsPerSecond: number;
  /** CPU of the server per event, in µs (all of it on its one core). */
  serverCpuMicrosPerEvent: number;
}

/** The CPUs a process may run on, as /proc lists them ("0-1", "0,2"). */
function cpusAllowed(pid: number): string {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!list) throw new Error(`no Cpus_allowed_list for process ${pid}`);
  return list;
}

/** The CPU numbers of a list as /proc writes it ("0-1,4" → 0, 1, 4). */
function cpuNumbers(list: string): number[] {
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number) as [number, number?];
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** Pins every thread of a process to `cpus` (threads it starts later inherit it). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * The server on one core and the load generator (this process) on another: what one core of server
 * takes, the figure to size a deployment by when the rate on two shared cores is not enough. The
 * server runs as it would on a one-core machine, with no ingestion thread (on one core a thread only
 * adds a hand-over). Undefined where this process may run on fewer than two CPUs.
 */
export async function benchOneCore(
  options: { durationMs?: number; log?: (line: string) => void } = {},
): Promise<OneCoreResult | undefined> {
  const ownCpus = cpusAllowed(process.pid);
  const [generatorCpu, serverCpu] = cpuNumbers(ownCpus);
  if (serverCpu === undefined) return undefined;
  const log = options.log ?? (() => {});
  const ingestServer = await startIngestServer('ingest-one-core', { PULSELOOP_INGEST_THREADS: '0' });
  const { server, writeKey } = ingestServer;
  try {
    pin(server.child.pid!, String(serverCpu));
    pin(process.pid, String(generatorCpu));
    log('warming up the server on one core');
    await benchLoad({ url: server.url, writeKey }, 3000);
    log('measuring the server on one core');
    const cpuSeconds = () => statCpuSeconds(readFileSync(`/proc/${server.child.pid}/stat`, 'utf8'));
    const before = cpuSeconds();
    const load = await benchLoad({ url: server.url, writeKey }, options.durationMs ?? 15_000);
    return {
      eventsPerSecond: load.eventsPerSecond,
      serverCpuMicrosPerEvent: ((cpuSeconds() - before) * 1e6) / Math.max(1, load.acknowledgedEvents),
    };
  } finally {
    // The server first: were taskset missing, restoring this process's CPUs would throw as well.
    await stopIngestServer(ingestServer);
    pin(process.pid, ownCpus);
  }
}

export interface SustainedResult {
  /** events/s in each minute of the run, in order. */
  perMinute: number[];
  /** Events stored when the run ended. */
  storedEvents: number;
  /** The events table's active parts when the run ended (climbing: merges fall behind). */
  activeParts: number;
  p99Ms: number;
  /** The server's resident memory at the end and at its peak, and the dedupe window's share at the end (bytes). */
  rssBytes: number;
  peakRssBytes: number;
  dedupeWindowBytes: number;
  /** The server killed (SIGKILL) at the end of the load and started again on its data. */
  restart: CrashRestart;
}

export interface CrashRestart {
  /** From the start of the new process to /readyz answering. */
  readyMs: number;
  /** Message ids the dedupe window took from its snapshot, and read from the store. */
  fromSnapshot: number;
  fromStore: number;
}

/** Kills the server as a crash would and starts it again on its data directory: how soon it serves. */
async function restartAfterCrash(ingestServer: IngestServer): Promise<CrashRestart> {
  await ingestServer.server.stop('SIGKILL');
  const startedAt = performance.now();
  ingestServer.server = await startServerProcess(ingestServer.dataDir, { LOG_LEVEL: 'info' }, [], {
    readyTimeoutMs: 60 * 60_000,
  });
  const readyMs = performance.now() - startedAt;
  const loadedLine = ingestServer.server
    .output()
    .split('\n')
    .find((line) => line.includes('dedupe window loaded'));
  const messageIds = loadedLine
    ? (JSON.parse(loadedLine) as { messageIds?: { fromSnapshot: number; fromStore: number } }).messageIds
    : undefined;
  return { readyMs, fromSnapshot: messageIds?.fromSnapshot ?? 0, fromStore: messageIds?.fromStore ?? 0 };
}

/**
 * The same load held for minutes on one server: the main measurement lasts 20 s, before ClickHouse
 * merges parts much larger than a second's; once millions of events are stored, its merges run
 * without pause on the same two cores.
 */
export async function benchSustained(
  options: { minutes?: number; log?: (line: string) => void } = {},
): Promise<SustainedResult> {
  const log = options.log ?? (() => {});
  const ingestServer = await startIngestServer('ingest-sustained');
  const { server, writeKey } = ingestServer;
  try {
    const perMinute: number[] = [];
    let p99Ms = 0;
    // Read after each minute; the last one also tells what the run left behind.
    let status: ServerStatus | undefined;
    for (let minute = 1; minute <= (options.minutes ?? 6); minute++) {
      const load = await benchLoad({ url: server.url, writeKey }, 60_000);
      perMinute.push(load.eventsPerSecond);
      p99Ms = Math.max(p99Ms, load.latencyMs.p99);
      status = await serverStatus(server);
      const window = status.dedupeWindow;
      log(
        `sustained load, minute ${minute}: ${Math.round(load.eventsPerSecond)} events/s, p99 ${load.latencyMs.p99.toFixed(0)} ms, RSS ${mib(server.memory().rss)}, dedupe window ${mib(window?.bytes ?? 0)} (${window?.exactIds} exact, ${window?.compactIds} compact)`,
      );
    }
    const events = status?.tables.find((t) => t.table === 'events');
    const { rss, peakRss } = server.memory();
    log('killing the server (SIGKILL) and starting it again on its data');
    const restart = await restartAfterCrash(ingestServer);
    log(
      `ready again in ${(restart.readyMs / 1000).toFixed(1)} s: ${restart.fromSnapshot} message ids from the dedupe snapshot, ${restart.fromStore} from the store`,
    );
    return {
      restart,
      perMinute,
      storedEvents: events?.rows ?? 0,
      activeParts: events?.parts ?? 0,
      p99Ms,
      rssBytes: rss,
      peakRssBytes: peakRss,
      dedupeWindowBytes: status?.dedupeWindow?.bytes ?? 0,
    };
  } finally {
    await stopIngestServer(ingestServer);
  }
}
