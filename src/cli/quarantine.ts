import type { Command } from 'commander';
import { type RetryOutcome, retrySetAsideRows } from '../collect/set-aside.js';
import { PulseloopError } from '../errors/registry.js';
import { chooseProject, openStores } from './context.js';
import { say } from './lang.js';
import { progressBar } from './progress.js';

export function registerQuarantineCommand(program: Command): void {
  const quarantine = program
    .command('quarantine')
    .description(
      say(
        'Rows kept in quarantine: store again those the store refused.',
        '隔离区中的行：重新存入曾被存储拒绝的行。',
      ),
    );
  quarantine
    .command('retry')
    .description(
      say(
        'Insert again the rows the facts store refused (reason store_refused_row), once the cause is fixed. ' +
          'Rows stored leave quarantine; rows refused again stay. Safe to repeat. Stop the server first when it uses the embedded store.',
        '在问题解决后，重新写入事实存储曾拒绝的行（原因 store_refused_row）。存入的行移出隔离区，再次被拒的行保留。可重复执行。' +
          '服务器使用内置存储时，请先停止服务器。',
      ),
    )
    .option(
      '--project <id>',
      say(
        'only this project (id or name; default: every project)',
        '只处理此项目（ID 或名称；默认：所有项目）',
      ),
    )
    .action(async (options: { project?: string }) => {
      const stores = await openStores().catch((error: unknown) => {
        if (!(error instanceof PulseloopError) || error.code !== 'data_dir_in_use') throw error;
        throw new PulseloopError('quarantine_retry_server_running', error.details);
      });
      const bar = progressBar(say('storing set-aside rows', '存入被搁置的行'), say('rows', '行'));
      let outcome: RetryOutcome;
      try {
        const projectId = options.project
          ? (await chooseProject(stores.metadata, options.project)).id
          : undefined;
        outcome = await retrySetAsideRows(stores.facts, {
          ...(projectId ? { projectId } : {}),
          onProgress: (done, total) => bar.update(done, total),
        });
      } finally {
        bar.stop();
        await stores.close();
      }
      process.stdout.write(
        say(
          `stored ${outcome.stored}, refused again ${outcome.refusedAgain}, unreadable ${outcome.unreadable}\n`,
          `已存入 ${outcome.stored} 行，再次被拒 ${outcome.refusedAgain} 行，无法读取 ${outcome.unreadable} 行\n`,
        ),
      );
      if (outcome.firstRefusal)
        process.stdout.write(
          say(
            `the store still refuses rows, for instance: ${outcome.firstRefusal}\n`,
            `存储仍拒绝部分行，例如：${outcome.firstRefusal}\n`,
          ),
        );
      if (outcome.refusedAgain + outcome.unreadable > 0) process.exitCode = 1;
    });
}
