import type { Config } from '../config/config.js';
import type { FactsEngine } from './facts/engine.js';
import { migrateFacts } from './facts/migrate.js';
import { openFactsEngine } from './facts/open.js';
import { migrateMetadata } from './metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from './metadata/open.js';

export interface Stores {
  facts: FactsEngine;
  metadata: MetadataStore;
}

/**
 * Both stores, opened and migrated (a store handed in is used as it is). When a step fails, what
 * this call opened is closed again: the embedded engine would otherwise keep its data directory
 * locked for the rest of the process.
 */
export async function openMigratedStores(config: Config, given: Partial<Stores> = {}): Promise<Stores> {
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const facts = given.facts ?? (await openFactsEngine(config));
    if (!given.facts) {
      opened.push(facts);
      await migrateFacts(facts);
    }
    const metadata = given.metadata ?? (await openMetadataStore(config));
    if (!given.metadata) {
      opened.push(metadata);
      await migrateMetadata(metadata);
    }
    return { facts, metadata };
  } catch (error) {
    await Promise.all(opened.map((store) => store.close()));
    throw error;
  }
}
