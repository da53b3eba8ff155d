import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { PulseloopError } from '../errors/registry.js';
import { registerConnectorsCommand } from './connectors.js';
import { registerDemoCommand } from './demo.js';
import { registerImportCommand } from './import.js';
import { registerKeysCommand } from './keys.js';
import { registerMigrateCommand } from './migrate.js';
import { registerProjectsCommand } from './projects.js';
import { registerServeCommand } from './serve.js';
import { registerStatusCommand } from './status.js';
import { registerUsersCommand } from './users.js';

const program = new Command()
  .name('pulseloop')
  .description(
    'Pulseloop: marketing analytics and automation. Configuration comes from the environment\n' +
      '(PULSELOOP_DATA, PORT, CLICKHOUSE_URL, DATABASE_URL, …) or pulseloop.config.json.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerServeCommand(program);
registerDemoCommand(program);
registerMigrateCommand(program);
registerProjectsCommand(program);
registerKeysCommand(program);
registerStatusCommand(program);
registerConnectorsCommand(program);
registerImportCommand(program);
registerUsersCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof PulseloopError || error instanceof ConfigError) {
    process.stderr.write(`pulseloop: ${error.message}\n`);
    if (error instanceof PulseloopError) process.stderr.write(`           ${error.zh}\n`);
    process.exit(2);
  }
  throw error;
}
