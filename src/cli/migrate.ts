import type { Command } from 'commander';
import { FACTS_MIGRATIONS } from '../store/facts/schema.js';
import { openStores } from './context.js';
import { say } from './lang.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      say(
        'Apply pending schema migrations to the facts and metadata stores (safe to repeat).',
        '对事实存储和元数据存储执行待应用的结构迁移（可重复运行）。',
      ),
    )
    .action(async () => {
      const stores = await openStores();
      // openStores migrates both stores; report what is there now.
      const versions = await stores.facts.query<{ version: number; name: string }>(
        'SELECT version, any(name) AS name FROM schema_migrations GROUP BY version ORDER BY version',
      );
      for (const v of versions) {
        // Named as this version of Pulseloop knows it; a store migrated by a newer one keeps its own name.
        const known = FACTS_MIGRATIONS.find((m) => m.version === Number(v.version));
        const name = known ? say(known.name, known.name_zh) : v.name;
        process.stdout.write(say(`facts     ${v.version}  ${name}\n`, `事实存储  ${v.version}  ${name}\n`));
      }
      process.stdout.write(
        say(
          `metadata  up to date (${stores.metadata.dialect})\n`,
          `元数据存储  已是最新（${stores.metadata.dialect}）\n`,
        ),
      );
      await stores.close();
    });
}
