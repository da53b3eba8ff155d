import { Command, Help, type Option } from 'commander';
import { ConfigError } from '../config/config.js';
import { PulseloopError } from '../errors/registry.js';
import { registerConnectorsCommand } from './connectors.js';
import { registerDemoCommand } from './demo.js';
import { registerIdentityCommand } from './identity.js';
import { registerImportCommand } from './import.js';
import { registerKeysCommand } from './keys.js';
import { say, warnAboutUnknownLanguage } from './lang.js';
import { registerMigrateCommand } from './migrate.js';
import { registerProjectsCommand } from './projects.js';
import { registerQuarantineCommand } from './quarantine.js';
import { registerServeCommand } from './serve.js';
import { registerStatusCommand } from './status.js';
import { usageErrorInBothLanguages } from './usage-errors.js';
import { registerUsersCommand } from './users.js';

warnAboutUnknownLanguage();

const HELP_TITLES_ZH: Record<string, string> = {
  'Usage:': '用法：',
  'Options:': '选项：',
  'Commands:': '命令：',
  'Arguments:': '参数：',
  'Global Options:': '全局选项：',
};

/**
 * An option's description with commander's "(default: …)" in the command line's language. Only
 * defaults are worded: no option of ours has choices, a preset or an environment variable.
 */
function optionDescription(this: Help, option: Option): string {
  const described = Help.prototype.optionDescription.call(this, option);
  const value = option.defaultValueDescription || JSON.stringify(option.defaultValue);
  const suffix = ` (default: ${value})`;
  if (!described.endsWith(suffix)) return described;
  return say(described, `${described.slice(0, -suffix.length)}（默认：${value}）`);
}

const program = new Command()
  .name('pulseloop')
  .description(
    say(
      // English in paragraphs, which commander wraps to the terminal's width.
      'Pulseloop: marketing analytics and automation. Configuration comes from the environment ' +
        '(PULSELOOP_DATA, PORT, CLICKHOUSE_URL, DATABASE_URL, …) or pulseloop.config.json.\n\n' +
        'Output is in English or Chinese: PULSELOOP_LANG=en|zh, else the locale (LANG).',
      // commander counts characters, not columns: the Chinese text keeps its own short lines.
      'Pulseloop：营销分析与自动化。配置来自环境变量\n' +
        '（PULSELOOP_DATA、PORT、CLICKHOUSE_URL、DATABASE_URL 等）或 pulseloop.config.json。\n\n' +
        '输出语言为英文或中文：PULSELOOP_LANG=en|zh，否则按系统区域设置（LANG）。',
    ),
  )
  .version('0.1.0', '-V, --version', say('output the version number', '显示版本号'))
  .helpOption('-h, --help', say('display help for command', '显示命令帮助'))
  // Set before the subcommands are added: they inherit it.
  .helpCommand('help [command]', say('display help for command', '显示命令帮助'))
  .showHelpAfterError(say('(run with --help for usage)', '（使用 --help 查看用法）'))
  .configureOutput({ outputError: (text, write) => write(usageErrorInBothLanguages(text)) })
  // Headings of every command's help, which the subcommands inherit.
  .configureHelp({ styleTitle: (title) => say(title, HELP_TITLES_ZH[title] ?? title), optionDescription });

registerServeCommand(program);
registerDemoCommand(program);
registerMigrateCommand(program);
registerProjectsCommand(program);
registerKeysCommand(program);
registerIdentityCommand(program);
registerStatusCommand(program);
registerConnectorsCommand(program);
registerImportCommand(program);
registerQuarantineCommand(program);
registerUsersCommand(program);

// `pulseloop status | head` closes the pipe before everything is written: that is the reader's
// choice, not an error to print with a stack trace. A running server stops as on SIGTERM, draining
// what it acknowledged; any other command ends there.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
  else process.exit(0);
});

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
