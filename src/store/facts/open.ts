import { join } from 'node:path';
import type { Config } from '../../config/config.js';
import type { FactsEngine } from './engine.js';

/** Opens the facts engine the configuration asks for: a ClickHouse server when CLICKHOUSE_URL is set, else chdb. */
export async function openFactsEngine(
  config: Pick<
    Config,
    'dataDir' | 'clickhouseUrl' | 'clickhouseDatabase' | 'clickhouseUser' | 'clickhousePassword'
  >,
): Promise<FactsEngine> {
  if (config.clickhouseUrl) {
    const { openHttpEngine } = await import('./http-engine.js');
    return openHttpEngine({
      url: config.clickhouseUrl,
      database: config.clickhouseDatabase,
      ...(config.clickhouseUser !== undefined ? { username: config.clickhouseUser } : {}),
      ...(config.clickhousePassword !== undefined ? { password: config.clickhousePassword } : {}),
    });
  }
  // Loaded on demand: the embedded engine is a large native library that a server-backed set-up never needs.
  const { openChdbEngine } = await import('./chdb-engine.js');
  return openChdbEngine(join(config.dataDir, 'facts'), config.clickhouseDatabase);
}
