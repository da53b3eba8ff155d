import { dirname } from 'node:path';
import { sql } from 'kysely';
import type { MetadataStore } from '../store/metadata/open.js';
import { type ConsentCache, createConsentCache } from './consent.js';
import { createIpRateLimiter, type IpRateLimiter } from './http/hardening.js';
import { createPiiFieldCache, type PiiFieldCache } from './pii/fields.js';
import { loadPiiKeyring, type PiiKeyring } from './pii/keys.js';
import { createSuppressionList, type SuppressionList } from './subjects.js';

/**
 * What the governance routes and ingestion share in one process: the PII key ring, the consent,
 * suppression and PII-field caches, and the rate limiters.
 */
export interface Governance {
  keyring: PiiKeyring;
  consent: ConsentCache;
  suppression: SuppressionList;
  /** Each project's PII field list (what ingestion encrypts). */
  piiFields: PiiFieldCache;
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
  /** How long a PII field list is trusted before it is read again (changes by other processes). */
  piiFieldsMaxAgeMs?: number;
}

// The Governance of each metadata store in this process.
const shared = new WeakMap<MetadataStore, Promise<Governance>>();

/**
 * Creates the governance state and makes it the process's one for this metadata store, so that
 * `governanceFor` (routes, tests) answers the same caches ingestion uses.
 */
export async function createGovernance(options: GovernanceOptions): Promise<Governance> {
  const keyring = loadPiiKeyring({ dataDir: options.dataDir, envValue: options.piiKeysEnv });
  const governance: Governance = {
    keyring,
    consent: await createConsentCache(options.metadata),
    suppression: await createSuppressionList(options.metadata, keyring),
    piiFields: createPiiFieldCache(options.metadata, options.piiFieldsMaxAgeMs ?? 30_000),
    // An office behind one NAT address shares this budget, and a dashboard page fires a dozen
    // queries at once: bursts of ten seconds' worth (at least 2,000).
    apiLimiter: createIpRateLimiter({
      perMinute: options.apiRequestsPerMinute ?? 12_000,
      burst: Math.max(2_000, Math.ceil((options.apiRequestsPerMinute ?? 12_000) / 6)),
    }),
    loginLimiter: createIpRateLimiter({ perMinute: options.loginAttemptsPerMinute ?? 10, burst: 10 }),
  };
  shared.set(options.metadata, Promise.resolve(governance));
  return governance;
}

/**
 * Reloads, every `intervalMs`, the consent records and erasures other processes (the CLI, another
 * server) wrote. Returns the function that stops it.
 */
export function refreshGovernancePeriodically(
  governance: Governance,
  intervalMs: number,
  onError: (error: unknown) => void,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    Promise.all([governance.consent.refresh(), governance.suppression.refresh()])
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
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

/**
 * Makes `governance` the one `governanceFor` answers for this metadata store, so the server's routes
 * and anything else in the process share one consent cache, suppression list and key ring.
 */
export function shareGovernance(metadata: MetadataStore, governance: Governance): void {
  shared.set(metadata, Promise.resolve(governance));
}

/**
 * The process's Governance for a metadata store: the one given, else the one the server created
 * for this store (`createGovernance`), else one created on first use from the configuration (key
 * ring from PULSELOOP_PII_KEYS or the key file in the data directory: the SQLite file's directory,
 * or the configured one on PostgreSQL). Only apps built without a server get the last.
 */
export function governanceFor(deps: {
  metadata: MetadataStore;
  governance?: Governance;
}): Promise<Governance> {
  if (deps.governance) return Promise.resolve(deps.governance);
  let governance = shared.get(deps.metadata);
  if (!governance) {
    governance = (async () => {
      const config = (await import('../config/config.js')).loadConfig();
      const dataDir = (await sqliteDataDir(deps.metadata)) ?? config.dataDir;
      return createGovernance({ metadata: deps.metadata, dataDir, piiKeysEnv: config.piiKeys });
    })();
    shared.set(deps.metadata, governance);
  }
  return governance;
}
