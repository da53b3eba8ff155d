import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { type BatchWriter, replayWal, startBatchWriter } from '../collect/batch-writer.js';
import { scheduleConnectorSyncs } from '../collect/connectors/schedule.js';
import { startMessageIdWindow } from '../collect/dedupe-lifecycle.js';
import { ingestGovernance } from '../collect/govern-step.js';
import { defaultIngestThreads, openIngestThreads } from '../collect/ingest-threads.js';
import { createLiveFeed } from '../collect/live.js';
import { createRateLimiter } from '../collect/rate-limit.js';
import { MAX_BATCH_BYTES } from '../collect/segment/limits.js';
import { storeStatus } from '../collect/status.js';
import { openWal, type Wal } from '../collect/wal.js';
import { createWriteKeyCache } from '../collect/write-keys.js';
import { type Config, hostAndPort } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { createGovernance, type Governance, refreshGovernancePeriodically } from '../govern/governance.js';
import { LOG_REDACTION } from '../govern/http/hardening.js';
import { loadPiiKeyring } from '../govern/pii/keys.js';
import { scheduleRetention } from '../govern/retention-schedule.js';
import { createIdentityResolver, loadIdentityGraph } from '../identity/resolver.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { openMigratedStores } from '../store/open.js';
import { buildApp } from './app.js';
import { forgetServerAddress, recordServerAddress } from './server-address.js';
import { collectStartupGarbage } from './startup-memory.js';

export interface Server {
  url: string;
  app: FastifyInstance;
  facts: FactsEngine;
  metadata: MetadataStore;
  wal: Wal;
  writer: BatchWriter;
  logger: Logger;
  /** PII keys and the consent, erasure and PII-field caches this process uses. */
  governance: Governance;
  /** Stops accepting requests, drains the log into the store, closes the stores. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Reports start-up work that takes a while (log replay). */
  onProgress?: (phase: string, done: number, total: number) => void;
  /** Already open and migrated stores to use (the CLI's demo opens them first). */
  facts?: FactsEngine;
  metadata?: MetadataStore;
  /**
   * Opens the ingestion threads (default `openIngestThreads`). Tests running the TypeScript sources,
   * which have no compiled thread file, pass the built module's.
   */
  openIngestThreads?: typeof openIngestThreads;
}

/**
 * The server's logger: credentials, cookies, passwords, tokens, write keys and secrets are
 * censored wherever they appear in what is logged (LOG_REDACTION). `destination` captures output (tests).
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options = { level: config.logLevel, redact: LOG_REDACTION };
  return destination ? pino(options, destination) : pino(options);
}

/** Why the server could not listen, as the person starting it can act on it. */
function listenError(error: unknown, host: string, port: number): unknown {
  const reasons: Record<string, { en: string; zh: string }> = {
    EADDRINUSE: {
      en: 'another program is listening there (another Pulseloop server?); stop it or choose another PORT',
      zh: '已有其他程序在监听（另一个 Pulseloop 服务器？）；请停止它或换一个 PORT',
    },
    EACCES: {
      en: 'this user may not listen on that port; choose a PORT above 1023',
      zh: '当前用户无权监听该端口；请选择大于 1023 的 PORT',
    },
    EADDRNOTAVAIL: {
      en: 'that address is not one of this machine; set HOST to one of its addresses, e.g. 127.0.0.1',
      zh: '该地址不属于本机；请将 HOST 设为本机地址，例如 127.0.0.1',
    },
    ENOTFOUND: {
      en: 'no such host name; set HOST to an address of this machine, e.g. 127.0.0.1',
      zh: '找不到该主机名；请将 HOST 设为本机地址，例如 127.0.0.1',
    },
  };
  const reason = reasons[(error as NodeJS.ErrnoException).code ?? ''];
  if (!reason) return error;
  return new PulseloopError('port_unavailable', {
    address: hostAndPort(host, port),
    ...detailText(reason.en, reason.zh),
  });
}

/**
 * Starts Pulseloop: opens and migrates both stores, replays the write-ahead log into the facts store,
 * rebuilds the identity graph and the dedupe window, starts the batch writer, then listens.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<Server> {
  const logger = options.logger ?? createLogger(config);
  // Stores handed in were opened (and migrated) by the caller.
  const { facts, metadata } = await openMigratedStores(config, options);

  const walDir = join(config.dataDir, 'wal');
  const replay = await replayWal(facts, walDir, (done, total) => options.onProgress?.('replay', done, total));
  if (replay.rows > 0)
    logger.info({ rows: replay.rows, frames: replay.frames }, 'replayed the write-ahead log');
  const wal = await openWal(walDir);
  const writer = startBatchWriter(facts, wal, wal.end(), {
    flushIntervalMs: config.ingest.flushIntervalMs,
    minInsertIntervalMs: config.ingest.minInsertIntervalMs,
    logger,
  });

  const identity = createIdentityResolver();
  const graph = await loadIdentityGraph(identity, facts);
  const dedupeWindow = await startMessageIdWindow({
    engine: facts,
    dataDir: config.dataDir,
    windowHours: config.ingest.dedupeWindowHours,
    maxCompactBytes: config.ingest.dedupeMemoryMb * 1024 * 1024,
    storedBefore: () => Date.now() - writer.stats().lagMs,
    logger,
    onProgress: (done, total) => options.onProgress?.('dedupe', done, total),
  });
  const dedupe = dedupeWindow.window;
  logger.info(
    { ...graph, messageIds: { fromSnapshot: dedupeWindow.restored, fromStore: dedupeWindow.loaded } },
    'identity graph and dedupe window loaded',
  );

  const governance = await createGovernance({
    metadata,
    dataDir: config.dataDir,
    piiKeysEnv: config.piiKeys,
    piiFieldsMaxAgeMs: config.ingest.governanceRefreshSeconds * 1000,
    apiRequestsPerMinute: config.apiRequestsPerMinute,
  });
  const stopRefreshing = refreshGovernancePeriodically(
    governance,
    config.ingest.governanceRefreshSeconds * 1000,
    (error) => logger.warn({ err: error }, 'reloading consent and erasures failed'),
  );

  const retention =
    config.retentionIntervalMinutes > 0
      ? scheduleRetention({ facts, metadata, logger, intervalMs: config.retentionIntervalMinutes * 60_000 })
      : undefined;

  // Read when needed: a key rotated by the CLI since start (tokens stored under it) is picked up.
  const connectorKeyring = () => loadPiiKeyring({ dataDir: config.dataDir, envValue: config.piiKeys });
  // Without a poll interval (PULSELOOP_CONNECTOR_POLL_SECONDS=0) the schedule keeps no timer; its rounds
  // then run only when the API asks for one ("sync now").
  const connectors = scheduleConnectorSyncs({
    logger,
    intervalMs: config.connectorPollSeconds * 1000,
    syncDeps: (signal) => ({
      metadata,
      facts,
      // `env:NAME` access tokens are read from the server's environment, as the CLI reads its own.
      env: process.env,
      keyring: connectorKeyring(),
      signal,
    }),
  });

  const live = createLiveFeed();
  const governedIngest = config.ingest.governance
    ? ingestGovernance(governance, metadata, { legacyContactHashes: config.ingest.legacyContactHashes })
    : undefined;
  const ingestThreads = (options.openIngestThreads ?? openIngestThreads)(
    config.ingest.threads ?? defaultIngestThreads(),
    governedIngest ? governance.keyring : undefined,
  );
  const app = await buildApp({
    logger,
    facts,
    metadata,
    live,
    governance,
    connectors: {
      keyring: connectorKeyring,
      env: process.env,
      runSoon: () => connectors.runSoon(),
    },
    bodyLimitBytes: MAX_BATCH_BYTES * 2,
    ingest: {
      wal,
      writer,
      dedupe,
      identity,
      maxPendingBytes: config.ingest.maxPendingBytes,
      logger,
      live,
      ...(governedIngest ? { governance: governedIngest } : {}),
      ...(ingestThreads ? { threads: ingestThreads } : {}),
    },
    writeKeys: createWriteKeyCache(metadata),
    rateLimiter: createRateLimiter(),
    defaultRateLimitPerKey: config.ingest.rateLimitPerKey,
    status: async () => {
      const { pendingRows, lagMs } = writer.stats();
      // lagMs: how long the oldest acknowledged row not yet in the store has waited.
      return {
        ...(await storeStatus(facts, walDir)),
        writer: { pendingRows, lagMs },
        dedupeWindow: dedupe.stats(),
      };
    },
    async readiness() {
      const checks: Record<string, string> = {};
      try {
        await facts.query('SELECT 1');
        checks.facts = 'ok';
      } catch (error) {
        checks.facts = (error as Error).message;
      }
      try {
        await metadata.db.selectFrom('projects').select('id').limit(1).execute();
        checks.metadata = 'ok';
      } catch (error) {
        checks.metadata = (error as Error).message;
      }
      const lag = writer.stats();
      checks.wal = lag.lastError ? `store writes failing: ${lag.lastError}` : 'ok';
      return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
    },
  });
  // The embedded engine gives back what start-up's reads cached and freed (about 8 MiB idle on the
  // demo world); a shared ClickHouse server's caches are not ours to drop.
  if (facts.kind === 'chdb') {
    for (const sql of ['SYSTEM DROP MARK CACHE', 'SYSTEM DROP UNCOMPRESSED CACHE', 'SYSTEM JEMALLOC PURGE']) {
      await facts.command(sql).catch(() => undefined);
    }
  }
  collectStartupGarbage();
  let closing: Promise<void> | undefined;
  const closeAll = (): Promise<void> => {
    closing ??= (async () => {
      forgetServerAddress(config.dataDir);
      stopRefreshing();
      await Promise.all([retention?.stop(), connectors.stop()]);
      await app.close();
      await Promise.all([governedIngest?.consentWriter.close(), ingestThreads?.close()]);
      // After the last request, so the snapshot holds every id claimed; beside the log's drain,
      // which a large snapshot should not delay.
      await Promise.all([dedupeWindow.close(), writer.close()]);
      await wal.close();
      await metadata.close();
      await facts.close();
    })();
    return closing;
  };
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await closeAll();
    throw listenError(error, config.host, config.port);
  }
  const url = address.replace('[::1]', 'localhost');
  const listening = app.server.address();
  if (listening && typeof listening === 'object') {
    try {
      await recordServerAddress(config.dataDir, { host: config.host, port: listening.port });
    } catch (error) {
      // Only `pulseloop status` from a shell with another PORT needs it.
      logger.warn({ err: error }, 'could not record the server address in the data directory');
    }
  }

  return {
    url,
    app,
    facts,
    metadata,
    wal,
    writer,
    logger,
    governance,
    close: closeAll,
  };
}
