import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../bench/server-process.js';
import { addDays, dayIn } from '../../src/collect/connectors/config.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { type FakePlatforms, makeAdReport, startFakePlatforms } from './fake-platforms.js';

// The built `pulseloop` command, as a user runs it (`npm test` builds first), killed with SIGKILL
// mid-sync and run again; the facts store is opened by this process only after every child is gone.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-connectors-cli-'));
let fake: FakePlatforms;

beforeAll(async () => {
  fake = await startFakePlatforms();
});
afterAll(async () => {
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({
  ...process.env,
  PULSELOOP_DATA: dataDir,
  LOG_LEVEL: 'warn',
  OE_TOKEN: fake.oceanEngine.token,
});

function pulseloop(args: string[], extraEnv: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI_ENTRY, ...args], {
    env: { ...env(), ...extraEnv },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

function startSync(name: string): {
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
} {
  const child = spawn(process.execPath, [CLI_ENTRY, 'connectors', 'sync', name], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ? -1 : code)),
  );
  return { child, exit, output: () => output };
}

describe('pulseloop connectors (process level)', () => {
  const yesterday = addDays(dayIn('Asia/Shanghai', new Date()), -1);
  const startDate = addDays(yesterday, -6);

  it("adds an account, survives two SIGKILLs mid-sync and ends with exactly the platform's rows", async () => {
    fake.oceanEngine.rows = makeAdReport(startDate, 7, 25); // 7 days × 3 pages of 10, 25, 25 … = 21 pages, 175 rows
    expect(pulseloop(['projects', 'create', '--name', 'Kill test']).code).toBe(0);
    const added = pulseloop([
      'connectors',
      'add',
      '--connector',
      'oceanengine',
      '--name',
      'oe-main',
      '--token-env',
      'OE_TOKEN',
      '--set',
      `advertiserId=${fake.oceanEngine.advertiserId}`,
      '--set',
      `startDate=${startDate}`,
      '--set',
      'pageSize=10',
      '--set',
      `baseUrl=${fake.url}`,
    ]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^[0-9a-f-]{36}$/);
    expect(pulseloop(['connectors', 'list']).stdout).toContain('oe-main');

    // Run 1: killed while waiting for the 9th page (8 pages written and checkpointed).
    const first = startSync('oe-main');
    fake.onRequest = async (_record, n) => {
      if (n === 9) {
        first.child.kill('SIGKILL');
        await first.exit;
      }
    };
    expect(await first.exit).toBe(-1);

    // Run 2: killed a moment after the 15th page was answered, while it writes or checkpoints it.
    const before = fake.requests.length;
    const second = startSync('oe-main');
    fake.onRequest = (_record, n) => {
      if (n === before + 7) setTimeout(() => second.child.kill('SIGKILL'), 15);
    };
    expect(await second.exit).toBe(-1);
    fake.onRequest = undefined;

    // Run 3 takes over the dead run's job and finishes.
    const third = startSync('oe-main');
    expect(await third.exit).toBe(0);
    expect(third.output()).toContain('(resumed from the last checkpoint)');

    const status = pulseloop(['connectors', 'status', 'oe-main']);
    expect(status.stdout).toMatch(/ad_report\s+complete/);
    // 21 pages and 175 rows written in all, counted once; the next run is already scheduled.
    expect(status.stdout).toMatch(/\s21\s+175\s+queued/);

    // Every page was asked for; the ones around the kills more than once.
    const pages = fake.requests.map((r) => `${r.query.start_date}#${r.query.page}`);
    expect(new Set(pages).size).toBe(21);

    const facts = await openChdbEngine(join(dataDir, 'facts'), 'pulseloop');
    try {
      const stored = await facts.query<{
        date: string;
        ad_group_id: string;
        impressions: number;
        spend: number;
      }>(
        `SELECT toString(date) AS date, ad_group_id, impressions, toFloat64(spend) AS spend
         FROM ad_spend FINAL ORDER BY date, ad_group_id`,
      );
      const expected = fake.oceanEngine.rows
        .map((r) => ({
          date: r.stat_datetime.slice(0, 10),
          ad_group_id: r.ad_id,
          impressions: r.show,
          spend: r.cost,
        }))
        .sort((a, b) => (a.date + a.ad_group_id).localeCompare(b.date + b.ad_group_id));
      expect(stored).toEqual(expected);
    } finally {
      await facts.close();
    }
  });

  it('exits with a clear message in English and Chinese when the platform refuses the token', async () => {
    const added = pulseloop([
      'connectors',
      'add',
      '--connector',
      'oceanengine',
      '--name',
      'oe-expired',
      '--token',
      'expired-token',
      '--set',
      `advertiserId=${fake.oceanEngine.advertiserId}`,
      '--set',
      `startDate=${startDate}`,
      '--set',
      `baseUrl=${fake.url}`,
    ]);
    expect(added.code).toBe(0);
    // Run asynchronously: the fake platform answers from this process.
    const sync = startSync('oe-expired');
    expect(await sync.exit).toBe(2);
    expect(sync.output()).toContain('failed, not retried');
    expect(sync.output()).toContain('Ocean Engine API refused the access token');
    expect(sync.output()).toContain('访问令牌');
    expect(pulseloop(['connectors', 'status', 'oe-expired']).stdout).toMatch(
      /failed \(attempt 1\).*connector_bad_credentials/,
    );
  });
});
