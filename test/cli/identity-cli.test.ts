import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../bench/server-process.js';
import { startTestServer } from '../support/server.js';

// `pulseloop identity` on a store a server filled through the collection API, then stopped (the
// embedded store opens in one process at a time).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-identity-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function pulseloop(args: string[], lang = 'en') {
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], {
    env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn', PULSELOOP_LANG: lang },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

beforeAll(async () => {
  const t = await startTestServer({}, dataDir);
  const send = async (path: string, body: Record<string, unknown>) =>
    expect((await t.collect(path, body)).status).toBe(200);
  await send('/v1/page', { anonymousId: 'kiosk-9', timestamp: '2026-11-20T08:00:00Z' });
  await send('/v1/identify', {
    anonymousId: 'kiosk-9',
    userId: 'member-1',
    timestamp: '2026-11-20T08:01:00Z',
  });
  await send('/v1/identify', {
    anonymousId: 'kiosk-9',
    userId: 'member-2',
    timestamp: '2026-11-20T08:05:00Z',
  });
  await t.settle();
  await t.close();
});

describe('pulseloop identity', () => {
  it('lists the conflicts with both ids and the reason, and the total', () => {
    const { code, stdout } = pulseloop(['identity', 'conflicts']);
    expect(code).toBe(0);
    const [heading, row, blank, total] = stdout.split('\n');
    expect(blank).toBe('');
    expect(heading).toMatch(
      /^at\s+distinct_id\s+other_distinct_id\s+person\s+other_person\s+reason\s+times\s+now$/,
    );
    expect(row).toMatch(
      /^2026-11-20 08:05:00\s+member-2\s+kiosk-9\s+\S+\s+\S+\s+a new user id arrived.*\s+1\s+open$/,
    );
    expect(total).toBe('1 conflict in all; `pulseloop identity show <id>` shows a person.');
  });

  it("shows a person's ids and the conflict, from any of its ids, in English and in Chinese", () => {
    const en = pulseloop(['identity', 'show', 'kiosk-9']);
    expect(en.code).toBe(0);
    expect(en.stdout).toMatch(/^person \S+\n\nid\s+type\s+linked_at\n/);
    expect(en.stdout).toMatch(/\nkiosk-9\s+anonymous\s+2026-11-20 08:00:00\n/);
    expect(en.stdout).toMatch(/\nmember-1\s+user\s+2026-11-20 08:01:00\n/);
    expect(en.stdout).not.toMatch(/member-2\s+user/);
    expect(en.stdout).toMatch(
      /merges and conflicts \(1 conflict\)\n.*\n2026-11-20 08:05:00\s+conflict\s+member-2\s+kiosk-9/,
    );

    const zh = pulseloop(['identity', 'show', 'member-1'], 'zh');
    expect(zh.stdout).toMatch(/^人员 \S+\n/);
    expect(zh.stdout).toMatch(/标识类型/);
    expect(zh.stdout).toMatch(/合并与冲突（冲突 1 条）/);
    expect(zh.stdout).toMatch(/冲突\s+member-2\s+kiosk-9\s+\S+\s+新的用户 ID 与另一个已知用户的标识一同出现/);
  });

  it('counts the conflicts in status, where an operator looks first', () => {
    const { code, stdout } = pulseloop(['status']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'identity conflicts (two known users whose ids met, kept apart): 1, 1 of them to decide (merge or keep apart); `pulseloop identity conflicts` lists them',
    );
    expect(pulseloop(['status'], 'zh').stdout).toContain(
      '身份冲突（两个已知用户的标识相遇，已保持分开）：1 条',
    );
  });

  it('says so, in both languages, for an id the project has never seen and for a bad --limit', () => {
    const missing = pulseloop(['identity', 'show', 'nobody']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No person or distinct id "nobody"/);
    expect(missing.stderr).toMatch(/没有人员或标识 "nobody"/);
    const bad = pulseloop(['identity', 'conflicts', '--limit', 'all']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--limit must be a whole number from 1 to 500, got "all"/);
    expect(bad.stderr).toMatch(/--limit 必须是 1 到 500 之间的整数/);
  });
});
