import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLI_ENTRY,
  freePort,
  SERVER_ENV,
  SERVER_NODE_FLAGS,
  serverStatus,
  startServerProcess,
} from '../../bench/server-process.js';
import { displayWidth } from '../../src/cli/width.js';
import { setAsideRows } from '../../src/collect/set-aside.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { FactsQueryError } from '../../src/store/facts/engine.js';
import { writeEventBinary } from '../../src/store/facts/event-binary.js';
import { openHttpEngine } from '../../src/store/facts/http-engine.js';
import { startClickHouseHttpFront } from '../support/clickhouse-http-front.js';
import { EMPTY_EVENT } from '../support/event-rows.js';

// The built `pulseloop` command, as a user runs it (`npm test` builds first).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function pulseloop(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], {
    env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

/** `pulseloop` without blocking this process (which may be serving the store the command uses). */
function pulseloopAsync(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI_ENTRY, ...args],
      { env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (error.code as number | null) : 0,
          stdout: stdout.trim(),
          stderr: stderr.trim(),
        }),
    );
  });
}

describe('pulseloop CLI', () => {
  it('runs as an executable with its Node.js flags and environment, which the npm scripts and the benchmarks share', () => {
    expect(SERVER_NODE_FLAGS).toContain('--initial-old-space-size=128');
    expect(SERVER_ENV.GLIBC_TUNABLES).toMatch(/(^|:)glibc\.malloc\.trim_threshold=131072$/);
    // A preloaded script reports what the process started with.
    const report = join(dataDir, 'report-start.cjs');
    writeFileSync(
      report,
      'process.stderr.write(JSON.stringify({ tunables: process.env.GLIBC_TUNABLES, flags: process.execArgv }) + "\\n");',
    );
    const direct = spawnSync(join(import.meta.dirname, '..', '..', 'bin', 'pulseloop.js'), ['--help'], {
      env: { ...process.env, NODE_OPTIONS: `--require ${report}` },
      encoding: 'utf8',
    });
    expect(direct.status).toBe(0);
    expect(direct.stdout).toContain('serve');
    const started = JSON.parse(direct.stderr.trim().split('\n')[0]!) as { tunables: string; flags: string[] };
    expect(started.tunables).toBe(SERVER_ENV.GLIBC_TUNABLES);
    expect(started.flags).toEqual(expect.arrayContaining([...SERVER_NODE_FLAGS]));
    // A user's own tunables are kept, ours added after them.
    const own = spawnSync(join(import.meta.dirname, '..', '..', 'bin', 'pulseloop.js'), ['--version'], {
      env: {
        ...process.env,
        NODE_OPTIONS: `--require ${report}`,
        GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
      },
      encoding: 'utf8',
    });
    expect(JSON.parse(own.stderr.trim().split('\n')[0]!).tunables).toBe(
      'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072',
    );
    const scripts = (
      JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    for (const name of ['demo', 'serve']) {
      expect(scripts[name]).toMatch(new RegExp(`&& \\./bin/pulseloop\\.js ${name}$`));
    }
  });

  it('explains every command with --help', () => {
    const help = pulseloop(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'demo', 'migrate', 'keys', 'status', 'projects', 'quarantine'])
      expect(help.stdout).toContain(command);
    const keys = pulseloop(['keys', '--help']);
    expect(keys.stdout).toContain('revoke');
  });

  it('migrates both stores, and a second run changes nothing', () => {
    const first = pulseloop(['migrate']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('facts     1');
    expect(first.stdout).toContain('core facts tables');
    const second = pulseloop(['migrate']);
    expect(second.stdout).toBe(first.stdout);
    const zh = pulseloop(['migrate'], { PULSELOOP_LANG: 'zh' });
    expect(zh.stdout).toContain('事实存储  1  核心事实表');
    expect(zh.stdout).toContain('元数据存储  已是最新');
    expect(zh.stdout).not.toMatch(/core facts tables|up to date/);
  });

  it('creates a project, creates, lists and revokes write keys', () => {
    const projectId = pulseloop(['projects', 'create', '--name', 'CLI brand']).stdout;
    expect(projectId).toMatch(/^[0-9a-f-]{36}$/);
    const key = pulseloop([
      'keys',
      'create',
      '--project',
      'CLI brand',
      '--name',
      'Mini-program',
      '--kind',
      'mini_program',
    ]);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(/^pl_wk_[A-Za-z0-9]{32}$/);
    expect(pulseloop(['keys', 'list', '--project', projectId]).stdout).toContain(key.stdout);
    expect(pulseloop(['keys', 'revoke', key.stdout]).code).toBe(0);
    const listed = pulseloop(['keys', 'list', '--project', projectId]).stdout;
    expect(listed.split('\n').find((line) => line.startsWith(key.stdout))).toMatch(
      /\d{4}-\d{2}-\d{2}T.*\d{4}-\d{2}-\d{2}T/,
    );
  });

  it('speaks Chinese in the help and outcome lines of keys, users, import and connectors; keys stay alone on their line', () => {
    const zh = { PULSELOOP_LANG: 'zh' };
    const keysHelp = pulseloop(['keys', '--help'], zh).stdout;
    expect(keysHelp).toContain('创建、列出和吊销写入密钥。');
    expect(pulseloop(['keys', 'create', '--help'], zh).stdout).toContain(
      '项目 ID 或名称（默认：唯一的项目）',
    );
    const usersHelp = pulseloop(['users', '--help'], zh).stdout;
    expect(usersHelp).toContain('创建首个所有者、添加用户并设置其角色。');
    expect(usersHelp).not.toContain('Create the first owner');
    const createOwnerHelp = pulseloop(['users', 'create-owner', '--help'], zh).stdout;
    expect(createOwnerHelp).toContain('用于登录的邮箱地址');
    expect(createOwnerHelp).not.toContain('电子邮件');
    expect(pulseloop(['import', '--help'], zh).stdout).toContain(
      '只建议预设和映射并显示预览，不导入任何数据',
    );
    expect(pulseloop(['connectors', 'add', '--help'], zh).stdout).toContain(
      '每次同步时从此环境变量读取访问令牌',
    );
    expect(pulseloop(['connectors', '--help']).stdout).toContain(
      'Pull data from platform APIs (Ocean Engine, Douyin) and receive webhooks.',
    );

    const key = pulseloop(['keys', 'create', '--project', 'CLI brand'], zh);
    expect(key.stdout).toMatch(/^pl_wk_[A-Za-z0-9]{32}$/);
    const listed = pulseloop(['keys', 'list', '--project', 'CLI brand'], zh).stdout;
    expect(listed.split('\n')[0]).toMatch(/^密钥\s+来源\s+创建时间\s+吊销时间$/);
    expect(pulseloop(['keys', 'revoke', key.stdout], zh).stdout).toBe(`已吊销 ${key.stdout}`);
    expect(pulseloop(['connectors', 'run-due'], zh).stdout).toBe('没有到期的同步');
    expect(pulseloop(['connectors', 'run-due']).stdout).toBe('no sync is due');
  });

  it('speaks Chinese in commander’s own help lines too: the help command and option defaults', () => {
    const zh = { PULSELOOP_LANG: 'zh' };
    expect(pulseloop(['--help'], zh).stdout).toMatch(/^ {2}help \[command\] +显示命令帮助$/m);
    expect(pulseloop(['keys', '--help'], zh).stdout).toMatch(/^ {2}help \[command\] +显示命令帮助$/m);
    const demoHelp = pulseloop(['demo', '--help'], zh).stdout;
    expect(demoHelp).toContain('随机种子：相同的种子生成相同的数据（默认："42"）');
    expect(demoHelp).not.toContain('default');
    expect(pulseloop(['demo', '--help']).stdout).toContain('(default: "42")');
    expect(pulseloop(['--help']).stdout).toMatch(/^ {2}help \[command\] +display help for command$/m);
  });

  it('says what to do when a project is ambiguous or unknown, in English and then wholly in Chinese', () => {
    pulseloop(['projects', 'create', '--name', 'Second brand']);
    const ambiguous = pulseloop(['keys', 'create']);
    expect(ambiguous.code).toBe(2);
    const [en = '', zh = ''] = ambiguous.stderr.split('\n');
    expect(en).toContain('Invalid request: there are several projects: choose one with --project');
    expect(zh).toContain('请求无效：有多个项目，请用 --project <ID 或名称> 选择一个');
    expect(zh).not.toContain('there are several projects');
    const unknown = pulseloop(['keys', 'create', '--project', 'nope']);
    expect(unknown.code).toBe(2);
    const [unknownEn = '', unknownZh = ''] = unknown.stderr.split('\n');
    expect(unknownEn).toContain('Project "nope" was not found.');
    expect(unknownZh).toContain('未找到项目 "nope"。');
  });

  it('refuses an invalid time zone with a message in both languages', () => {
    const result = pulseloop(['projects', 'create', '--name', 'Bad', '--time-zone', 'Mars/Olympus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Mars/Olympus');
    expect(result.stderr).toContain('时区');
  });

  it('reports counts, sizes and log lag with status', () => {
    const result = pulseloop(['status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^table\s+rows\s+size\s+parts$/m);
    expect(result.stdout).toMatch(/^events\s+\d+\s+[\d.]+ (B|KiB|MiB)\s+\d+$/m);
    expect(result.stdout).toContain('write-ahead log');
    // In Chinese the headings too, still lined up over the columns (two columns a character).
    const zh = pulseloop(['status'], { PULSELOOP_LANG: 'zh' });
    const lines = zh.stdout.split('\n');
    const heading = lines.find((line) => line.startsWith('表'));
    expect(heading).toMatch(/^表\s+行数\s+大小\s+分片$/);
    const events = lines.find((line) => line.startsWith('events'))!;
    expect(displayWidth(heading!.slice(0, heading!.indexOf('行数')))).toBe(events.search(/\d/));
    expect(zh.stdout).toMatch(/预写日志：\d+ B 尚未写入存储，共 \d+ 个段/);
  });

  it('ends quietly when the reader of its output goes away (pulseloop status | head -1)', async () => {
    const child = spawn(process.execPath, [CLI_ENTRY, 'status'], {
      env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the first line is written: every write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('asks a running server for status; when it cannot reach it, names the process that holds the store', async () => {
    const heldDir = mkdtempSync(join(tmpdir(), 'pulseloop-held-'));
    const server = await startServerProcess(heldDir);
    try {
      const pid = server.child.pid;
      const asked = pulseloop(['status'], { PULSELOOP_DATA: heldDir, PORT: new URL(server.url).port });
      expect(asked.code).toBe(0);
      expect(asked.stdout).toContain(`(from the running server at ${server.url})`);
      expect(asked.stdout).toMatch(
        /dedupe window: \d+ message ids \(\d+ not yet known to be stored, \d+ stored\), [\d.]+ (B|KiB|MiB) of memory/,
      );
      // A server told to listen on every address is asked on loopback.
      const wildcard = pulseloop(['status'], {
        PULSELOOP_DATA: heldDir,
        PORT: new URL(server.url).port,
        HOST: '0.0.0.0',
      });
      expect(wildcard.stdout).toContain(`(from the running server at ${server.url})`);
      // The server recorded where it listens in its data directory: status finds it from a shell
      // whose PORT says something else.
      const otherPort = String(await freePort());
      const found = pulseloop(['status'], { PULSELOOP_DATA: heldDir, PORT: otherPort });
      expect(found.code).toBe(0);
      expect(found.stdout).toContain(`(from the running server at ${server.url})`);
      expect(found.stderr).toBe('');
      // A record left by a server that is gone is not followed: the process that holds the store is named.
      const record = join(heldDir, 'server.json');
      writeFileSync(record, JSON.stringify({ ...JSON.parse(readFileSync(record, 'utf8')), pid: deadPid() }));
      // A file the server may be inserting from stays while another command is refused.
      const spooled = join(heldDir, 'facts', 'insert-spool', 'in-flight.json');
      writeFileSync(spooled, '{}\n');
      const elsewhere = String(await freePort());
      const status = pulseloop(['status'], { PULSELOOP_DATA: heldDir, PORT: elsewhere });
      expect(status.code).toBe(2);
      expect(status.stderr).toContain(
        `No Pulseloop server answered at http://127.0.0.1:${elsewhere}/status, yet process ${pid} holds the data directory`,
      );
      expect(status.stderr).toContain(`但进程 ${pid} 正占用数据目录`);
      // Only our message: the engine's own lock error is not printed before it.
      expect(status.stderr).not.toContain('DB::Exception');
      const migrate = pulseloop(['migrate'], { PULSELOOP_DATA: heldDir });
      expect(migrate.code).toBe(2);
      expect(migrate.stderr).toContain(`is in use by process ${pid} (a running Pulseloop server?)`);
      expect(migrate.stderr).toContain('内置存储同一时间只能由一个进程打开');
      // A retry of refused rows points to the running server's own way to do it.
      const retry = pulseloop(['quarantine', 'retry'], { PULSELOOP_DATA: heldDir });
      expect(retry.code).toBe(2);
      expect(retry.stderr).toContain(`is in use by process ${pid} (a running Pulseloop server?)`);
      expect(retry.stderr).toContain('Store again in the dashboard (Events explorer → Quarantine)');
      expect(retry.stderr).toContain('点击“重新存入”');
      expect(existsSync(spooled)).toBe(true);
    } finally {
      await server.stop('SIGTERM');
      rmSync(heldDir, { recursive: true, force: true });
    }
  });

  it('names the setting to change when a store cannot be opened, without passwords or stack traces', async () => {
    const inTheWay = join(dataDir, 'a-file');
    writeFileSync(inTheWay, '');
    const dir = pulseloop(['migrate'], { PULSELOOP_DATA: inTheWay });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain(
      `The data directory ${inTheWay}/facts cannot be used (a file is in the way). Set PULSELOOP_DATA`,
    );
    expect(dir.stderr).toContain('（路径上有同名文件）');

    const closedPort = await freePort();
    const postgres = pulseloop(['migrate'], {
      DATABASE_URL: `postgres://pulse:s3cret@127.0.0.1:${closedPort}/test`,
    });
    expect(postgres.code).toBe(2);
    expect(postgres.stderr).toContain(
      `Cannot use the metadata database at postgres://pulse:***@127.0.0.1:${closedPort}/test (connect ECONNREFUSED`,
    );
    expect(postgres.stderr).toContain('请检查 DATABASE_URL');

    const clickhouse = pulseloop(['migrate'], {
      CLICKHOUSE_URL: `http://pulse:s3cret@127.0.0.1:${closedPort}`,
    });
    expect(clickhouse.code).toBe(2);
    expect(clickhouse.stderr).toContain(
      `Cannot use the ClickHouse server at http://pulse:***@127.0.0.1:${closedPort} (`,
    );
    expect(clickhouse.stderr).toContain('请检查 CLICKHOUSE_URL');

    for (const result of [dir, postgres, clickhouse]) {
      expect(result.stderr).not.toContain('s3cret');
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stderr).not.toContain('@clickhouse/client');
    }
  });

  it('stores again the rows the store refused, once the cause is fixed (quarantine retry)', async () => {
    // Against a ClickHouse server (the test front, in this process: the command runs asynchronously).
    const frontDir = mkdtempSync(join(tmpdir(), 'pulseloop-retry-'));
    const front = await startClickHouseHttpFront({ dataDir: frontDir });
    const env = { CLICKHOUSE_URL: front.url, CLICKHOUSE_DATABASE: 'cli_retry' };
    const facts = await openHttpEngine({ url: front.url, database: 'cli_retry' });
    try {
      expect((await pulseloopAsync(['migrate'], env)).code).toBe(0);
      const sink = new ByteSink(64);
      for (const id of ['kept-1', 'kept-2'])
        writeEventBinary(sink, {
          ...EMPTY_EVENT,
          project_id: 'cli',
          message_id: id,
          event: '下单',
          revenue: 9.9,
        });
      const refusal = new FactsQueryError('Code: 6. Cannot parse text', 6, 'INSERT INTO events');
      const record = {
        table: 'events',
        rows: sink.copyAndReset(),
        rowCount: 2,
        format: 'RowBinary',
      } as const;
      await facts.insertJsonEachRow('quarantine', setAsideRows(record, 'cli-test', refusal).payload);
      await facts.insertJsonEachRow(
        'quarantine',
        `${JSON.stringify({ project_id: 'cli', id: 'odd', reason_code: 'store_refused_row', raw: 'not a row' })}\n`,
      );
      const retried = await pulseloopAsync(['quarantine', 'retry'], env);
      expect(retried.stdout).toBe('stored 2, refused again 0, unreadable 1');
      // Not everything went in: the exit status says so, for scripts.
      expect(retried.code).toBe(1);
      const stored = await facts.query<{ message_id: string; revenue: number }>(
        "SELECT message_id, revenue FROM events WHERE project_id = 'cli' ORDER BY message_id",
      );
      expect(stored).toEqual([
        { message_id: 'kept-1', revenue: 9.9 },
        { message_id: 'kept-2', revenue: 9.9 },
      ]);
      const again = await pulseloopAsync(['quarantine', 'retry'], { ...env, PULSELOOP_LANG: 'zh' });
      expect(again.stdout).toBe('已存入 0 行，再次被拒 0 行，无法读取 1 行');
      const help = await pulseloopAsync(['quarantine', 'retry', '--help'], env);
      expect(help.stdout).toContain('store_refused_row');
    } finally {
      await facts.close();
      await front.close();
      rmSync(frontDir, { recursive: true, force: true });
    }
  });

  it('says which port is taken when the server cannot listen', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const serve = pulseloop(['serve'], { PORT: String(port) });
      expect(serve.code).toBe(2);
      expect(serve.stderr).toContain(
        `Cannot listen on 127.0.0.1:${port}: another program is listening there (another Pulseloop server?); stop it or choose another PORT.`,
      );
      expect(serve.stderr).toContain(`无法在 127.0.0.1:${port} 上监听：已有其他程序在监听`);
      expect(serve.stderr).not.toMatch(/^\s+at /m);
    } finally {
      taken.close();
    }
  });

  it('lines up a table holding Chinese names (two columns per character)', () => {
    pulseloop(['projects', 'create', '--name', '山茶集旗舰店']);
    const list = pulseloop(['projects', 'list']).stdout.split('\n');
    const header = list[0]!;
    const row = list.find((line) => line.includes('山茶集旗舰店'))!;
    expect(displayWidth('山茶集旗舰店')).toBe(12);
    const columnAt = (line: string, chars: number) => displayWidth(line.slice(0, chars));
    // The time zone column starts at the same terminal column in the header and the row.
    expect(columnAt(row, row.indexOf('Asia/Shanghai'))).toBe(columnAt(header, header.indexOf('time_zone')));
  });

  it('names the invalid setting when the configuration is wrong, in both languages', () => {
    const result = pulseloop(['status'], { PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('/port (PORT): Expected integer (got "eighty")');
    expect(result.stderr).toContain('/port（PORT）：应为整数（实际为 "eighty"）');
    // A flag is named as the flag, with what was given (not as PORT, and not as "null").
    const flag = pulseloop(['serve', '--port', 'eighty']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain(
      '--port must be a whole number from 0 to 65535 (0: any free port), got "eighty".',
    );
    expect(flag.stderr).toContain(
      '--port 必须是 0 到 65535 之间的整数（0 表示任一空闲端口），而不是 "eighty"。',
    );
  });

  it('says a mistyped command line in English and in Chinese, with the suggestion', () => {
    const misspelt = pulseloop(['keys', 'lst']);
    expect(misspelt.code).toBe(1);
    expect(misspelt.stderr.split('\n')).toEqual([
      "error: unknown command 'lst'",
      '(Did you mean list?)',
      "错误：未知命令 'lst'",
      '（是否想输入 list？）',
      '(run with --help for usage)',
    ]);
    const missing = pulseloop(['projects', 'create'], { PULSELOOP_LANG: 'zh' });
    expect(missing.stderr).toContain("error: required option '--name <name>' not specified");
    expect(missing.stderr).toContain("错误：缺少必需的选项 '--name <name>'");
    expect(missing.stderr).toContain('（使用 --help 查看用法）');
    expect(pulseloop(['keys', 'create', '--bogus']).stderr).toContain("错误：未知选项 '--bogus'");
    expect(pulseloop(['import']).stderr).toContain("错误：缺少必需的参数 'file'");
  });
});

describe('pulseloop demo', () => {
  it('refuses an end date that is not a day of the calendar before building anything', () => {
    const result = pulseloop(['demo', '--scale', '0.02', '--end-date', '2026-02-30']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--end-date must be a real date');
    expect(result.stderr).toContain('2026-02-30');
    expect(result.stderr).not.toContain('Building the demo world');
  });

  it('speaks Chinese when PULSELOOP_LANG or the locale asks for it, and says both languages of an error', () => {
    const help = pulseloop(['demo', '--help'], { PULSELOOP_LANG: 'zh' });
    expect(help.stdout).toContain('将带种子的演示数据构建到内置存储中');
    expect(help.stdout).toContain('内容、播放量和广告花费不随规模变化');
    const byLocale = pulseloop(['demo', '--help'], {
      PULSELOOP_LANG: '',
      LANG: 'zh_CN.UTF-8',
      LC_ALL: '',
      LC_MESSAGES: '',
    });
    expect(byLocale.stdout).toContain('随机种子');
    const english = pulseloop(['demo', '--help'], {
      PULSELOOP_LANG: '',
      LANG: 'C.UTF-8',
      LC_ALL: '',
      LC_MESSAGES: '',
    });
    expect(english.stdout).toContain('random seed: the same seed gives the same world');

    const refused = pulseloop(['demo', '--end-date', '2026-02-30'], { PULSELOOP_LANG: 'zh' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      '--end-date must be a real date written like 2025-06-30, got "2026-02-30".',
    );
    expect(refused.stderr).toContain(
      '请求无效：--end-date 必须是真实存在的日期，格式如 2025-06-30，而不是 "2026-02-30"。',
    );

    // Out of the generator's range: refused up front, naming the value, not with the generator's stack.
    const tooLarge = pulseloop(['demo', '--scale', '200']);
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toContain('--scale must be a number above 0 and at most 100, got "200".');
    expect(tooLarge.stderr).not.toContain('RangeError');
    const negativeSeed = pulseloop(['demo', '--seed', '-5'], { PULSELOOP_LANG: 'zh' });
    expect(negativeSeed.code).toBe(2);
    expect(negativeSeed.stderr).toContain('--seed 必须是 0 到 4294967295 之间的整数，而不是 "-5"。');

    const unknown = pulseloop(['demo', '--end-date', '2026-02-30'], {
      PULSELOOP_LANG: 'fr',
      LANG: 'C.UTF-8',
      LC_ALL: '',
    });
    expect(unknown.stderr).toContain('PULSELOOP_LANG="fr" is neither en nor zh; using en.');
  });

  it('builds the world, then serves it; a second start serves what is there', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'pulseloop-cli-demo-'));
    const demoArgs = ['demo', '--scale', '0.02', '--end-date', '2026-06-30'];
    try {
      const first = await startServerProcess(demoDir, {}, [], { command: demoArgs, readyTimeoutMs: 300_000 });
      try {
        const output = await first.waitForOutput('All time:');
        expect(output).toContain('Building the demo world (scale 0.02, seed 42)');
        expect(output).toMatch(/Generated [\d,]+ events/);
        expect(output).toContain('Sign in: demo@pulseloop.local');
        expect(existsSync(join(demoDir, 'demo-ground-truth.json'))).toBe(true);
        const status = await serverStatus(first);
        expect(status.tables.find((t) => t.table === 'events')?.rows).toBeGreaterThan(10_000);
      } finally {
        expect(await first.stop('SIGTERM')).toBe(0);
      }
      const second = await startServerProcess(demoDir, {}, [], { command: demoArgs });
      try {
        const output = await second.waitForOutput('All time:');
        expect(output).toContain('The demo world is already in');
        expect(output).not.toContain('Building the demo world');
      } finally {
        expect(await second.stop('SIGTERM')).toBe(0);
      }
    } finally {
      rmSync(demoDir, { recursive: true, force: true });
    }
  });
});
