import { dirname } from 'node:path';
import { sql } from 'kysely';
import type { MetadataStore } from '../store/metadata/open.js';
import { type ConsentCache, createConsentCache } from './consent.js';
import { createIpRateLimiter, type IpRateLimiter } from './http/hardening.js';
import { loadPiiKeyring, type PiiKeyring } from './pii/keys.js';
import { createSuppressionList, type SuppressionList } from './subjects.js';

/**
 * What the governance routes and, later, ingestion share in one process: the PII key ring, the
 * consent and suppression caches, and the rate limiters.
 */
export interface Governance {
  keyring: PiiKeyring;
  consent: ConsentCache;
  suppression: SuppressionList;
  /** Authenticated API requests per client IP. */
  apiLimiter: IpRateLimiter;
  /** Login attempts per client IP (brute-force brake). */
  loginLimiter: IpRateLimiter;
}

export interface GovernanceOptions {
  metadata: MetadataStore;
  /** Where `pii-keys.json` lives (the data directory). */
  dataDir: string;
  /** The value of PULSELOOP_PII_KEYS, when keys are kept outside the data directory. */
  piiKeysEnv?: string | undefined;
  apiRequestsPerMinute?: number;
  loginAttemptsPerMinute?: number;
}

export async function createGovernance(options: GovernanceOptions): Promise<Governance> {
  const keyring = loadPiiKeyring({ dataDir: options.dataDir, envValue: options.piiKeysEnv });
  return {
    keyring,
    consent: await createConsentCache(options.metadata),
    suppression: await createSuppressionList(options.metadata, keyring),
    // Bursts of ten seconds' worth (at least 200): a dashboard page fires a dozen queries at once.
    apiLimiter: createIpRateLimiter({
      perMinute: options.apiRequestsPerMinute ?? 1200,
      burst: Math.max(200, Math.ceil((options.apiRequestsPerMinute ?? 1200) / 6)),
    }),
    loginLimiter: createIpRateLimiter({ perMinute: options.loginAttemptsPerMinute ?? 10, burst: 10 }),
  };
}

/**
 * The data directory of a SQLite metadata store (the directory of its main database file), so
 * routes registered without a Governance can still find the key file. Undefined on PostgreSQL.
 */
export async function sqliteDataDir(metadata: MetadataStore): Promise<string | undefined> {
  if (metadata.dialect !== 'sqlite') return undefined;
  const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(metadata.db);
  const main = rows.find((r) => r.name === 'main')?.file;
  return main ? dirname(main) : undefined;
}

const shared = new WeakMap<MetadataStore, Promise<Governance>>();

/**
 * Makes `governance` the one `governanceFor` answers for this metadata store, so the server's routes
 * and anything else in the process share one consent cache, suppression list and key ring.
 */
export function shareGovernance(metadata: MetadataStore, governance: Governance): void {
  shared.set(metadata, Promise.resolve(governance));
}

/**
 * The process's Governance for a metadata store: the one given, else one created on first use
 * with the key file in the data directory. The data directory is the SQLite file's directory, or
 * the configured one on PostgreSQL.
 * `startServer` creates it from the configuration and passes it in; this fallback serves apps built
 * without one (it reads PULSELOOP_PII_KEYS itself).
 */
export function governanceFor(deps: {
  metadata: MetadataStore;
  governance?: Governance;
}): Promise<Governance> {
  if (deps.governance) return Promise.resolve(deps.governance);
  let governance = shared.get(deps.metadata);
  if (!governance) {
    governance = (async () => {
      const dataDir =
        (await sqliteDataDir(deps.metadata)) ?? (await import('../config/config.js')).loadConfig().dataDir;
      return createGovernance({
        metadata: deps.metadata,
        dataDir,
        piiKeysEnv: process.env.PULSELOOP_PII_KEYS,
      });
    })();
    shared.set(deps.metadata, governance);
  }
  return governance;
}
