import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../bench/server-process.js';
import { csvText, gbk } from './fixtures.js';

// The built `pulseloop` command, as a user runs it (`npm test` builds first).
const dir = mkdtempSync(join(tmpdir(), 'pulseloop-import-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pulseloop(...args: string[]) {
  return pulseloopIn({}, ...args);
}

function pulseloopIn(env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], {
    env: { ...process.env, PULSELOOP_DATA: join(dir, 'data'), LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

const file = join(dir, '抖音作品数据.csv');
writeFileSync(
  file,
  gbk(
    csvText([
      ['数据导出 2025-03-01'],
      ['作品名称', '作品ID', '播放量', '点赞量', '完播率'],
      ['春日新茶', 'v1', '1.2万', '300', '35%'],
      ['冷泡', 'v2', '800', 'n/a?', '12%'],
      ['合计', '', '12800', '', ''],
    ]),
  ),
);

describe('pulseloop import', () => {
  it('proposes the preset and shows a preview with --detect', () => {
    const detect = pulseloop('import', '--detect', file);
    expect(detect.code).toBe(0);
    expect(detect.stdout).toContain('--preset douyin_content');
    expect(detect.stdout).toContain('"plays":12000');
    expect(detect.stdout).toContain('header on row 2');
    const zh = pulseloopIn({ PULSELOOP_LANG: 'zh' }, 'import', '--detect', file);
    expect(zh.stdout).toContain('表头在第 2 行');
    expect(zh.stdout).toContain('建议：--kind');
    expect(zh.stdout).not.toContain('Candidates');
  });

  it('says in Chinese what --detect finds missing when no mapping fits', () => {
    const undated = join(dir, 'undated.csv');
    writeFileSync(
      undated,
      csvText([
        ['作品名称', '播放量', '点赞量'],
        ['春日新茶', '1.2万', '300'],
      ]),
    );
    expect(pulseloop('import', '--detect', undated).stdout).toContain(
      'Missing: The file has no column for date',
    );
    const zh = pulseloopIn({ PULSELOOP_LANG: 'zh' }, 'import', '--detect', undated).stdout;
    expect(zh).toContain('缺失：文件中没有以下字段对应的列：date（数据日期，缺失时用标题行中的日期）。');
    expect(zh).not.toContain('The file has no column');
    // Lists in Chinese text are joined with 、.
    expect(zh).toContain('列：作品名称、播放量、点赞量');
    expect(zh).toContain('未映射：作品名称、播放量、点赞量');
    expect(zh).toContain('找到的列：作品名称、播放量、点赞量。');
  });

  it('imports with the title-line date, reports the bad row, and a second run changes nothing', () => {
    expect(pulseloop('projects', 'create', '--name', 'CLI import').code).toBe(0);
    const first = pulseloop('import', file, '--preset', 'douyin_content', '--json');
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout.split('\n').pop()!);
    expect(summary).toMatchObject({ imported: 1, quarantined: 1, skipped: { summary: 1 } });
    expect(summary.errors[0]).toMatchObject({ row: 4, column: '点赞量', value: 'n/a?' });
    const human = pulseloop('import', file, '--preset', 'douyin_content');
    expect(human.stdout).toMatch(/^unchanged\s+1$/m);
    expect(human.stdout).not.toContain('未变');
    // Row errors are errors: both languages, whatever the command line speaks.
    expect(human.stdout).toContain('第 4 行');
    const zh = pulseloopIn({ PULSELOOP_LANG: 'zh' }, 'import', file, '--preset', 'douyin_content');
    expect(zh.stdout).toMatch(/^未变\s+1$/m);
    expect(zh.stdout).toMatch(/^已隔离\s+\d+$/m);
    expect(zh.stdout).toContain('行错误（1 行，均已隔离）：');
    expect(zh.stdout).toContain('空行 0，合计行 1，重复表头 0');
    expect(zh.stdout).not.toContain('unchanged');
  });

  it('takes the day of the numbers from --date for an export without a date, and refuses a wrong day', () => {
    const undated = join(dir, 'post-list.csv');
    writeFileSync(
      undated,
      csvText([
        ['作品名称', '作品ID', '播放量', '点赞量'],
        ['春日新茶', 'd1', '1.2万', '300'],
      ]),
    );
    const refused = pulseloop('import', undated, '--preset', 'douyin_content');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--date YYYY-MM-DD');
    expect(refused.stderr).toContain('也可以指定数据所属的日期');
    const json = (...args: string[]) =>
      JSON.parse(
        pulseloop(...args)
          .stdout.split('\n')
          .pop()!,
      );
    const args = ['import', undated, '--preset', 'douyin_content', '--json'];
    expect(json(...args, '--date', '2025-03-09')).toMatchObject({ imported: 1, quarantined: 0 });
    expect(json(...args, '--date', '2025-03-09')).toMatchObject({ imported: 0, unchanged: 1 });
    // Another day's numbers are another row of the post's history.
    expect(json(...args, '--date', '2025-03-10')).toMatchObject({ imported: 1, unchanged: 0 });
    const wrong = pulseloop('import', undated, '--preset', 'douyin_content', '--date', '2025-02-30');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('must be a date as YYYY-MM-DD, not "2025-02-30"');
    expect(wrong.stderr).toContain('必须是 YYYY-MM-DD 格式的日期');
  });

  it('reads a UTF-8 export with the engine, says so, and reads it alike with --reader javascript', () => {
    const utf8 = join(dir, 'douyin-utf8.csv');
    writeFileSync(
      utf8,
      csvText([
        ['作品ID', '作品名称', '日期', '播放量', '点赞量'],
        ['u1', '春日新茶', '2025-03-02', '1.2万', '300'],
        ['u2', '冷泡', '2025-03-02', '1,800', '12'],
      ]),
    );
    const engine = JSON.parse(
      pulseloop('import', utf8, '--preset', 'douyin_content', '--json').stdout.split('\n').pop()!,
    );
    // `1,800` is a spelling only JavaScript reads: that row is handed over, the other is the engine's.
    expect(engine).toMatchObject({ imported: 2, parsedBy: { engine: 1, javascript: 1 } });
    const again = JSON.parse(
      pulseloop('import', utf8, '--preset', 'douyin_content', '--reader', 'javascript', '--json')
        .stdout.split('\n')
        .pop()!,
    );
    expect(again).toMatchObject({ imported: 0, unchanged: 2, parsedBy: { engine: 0, javascript: 2 } });
    const human = pulseloop('import', utf8, '--preset', 'douyin_content');
    expect(human.stdout).toContain('read by the engine 1 rows, by JavaScript 1');
    const zh = pulseloopIn({ PULSELOOP_LANG: 'zh' }, 'import', utf8, '--preset', 'douyin_content');
    expect(zh.stdout).toContain('引擎解析 1 行，JavaScript 解析 1 行');
    const wrong = pulseloop('import', utf8, '--reader', 'fast');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('Unknown reader "fast"');
    expect(wrong.stderr).toContain('未知的读取方式');
  });

  it('explains an unknown kind in both languages and exits 2', () => {
    const result = pulseloop('import', file, '--kind', 'tweets');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('tweets');
    expect(result.stderr).toContain('未知的导入类型');
  });
});
