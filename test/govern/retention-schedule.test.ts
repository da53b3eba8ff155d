import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { listAudit } from '../../src/govern/audit.js';
import { enforceRetention, setRetention } from '../../src/govern/retention.js';
import { scheduleRetention } from '../../src/govern/retention-schedule.js';
import { EVENT_ROLLUP_TABLE } from '../../src/store/facts/rollups.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Retention runs by itself: the schedule deletes rows past the project's period, leaves the rest,
// writes the deletion to the audit log as the system's act and sets the table TTL.
let t: TestServer;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const silent = { info: () => undefined, warn: () => undefined };

/** Events of `distinctId`, `ageDays` old each, written straight into the store. */
async function insertEvents(distinctId: string, now: number, events: [id: string, ageDays: number][]) {
  const row = ([id, ageDays]: [string, number]) =>
    JSON.stringify({
      project_id: t.projectId,
      message_id: id,
      type: 'track',
      event: 'open',
      distinct_id: distinctId,
      timestamp: now - ageDays * DAY,
      received_at: now - ageDays * DAY,
    });
  await t.server.facts.insertJsonEachRow('events', events.map(row).join('\n'));
}

/**
 * The events the persons list counts for `distinctId` (a person of its own: no identify linked it),
 * over the days from `fromDaysAgo` to `toMs`; undefined when it is not listed. Each test asks over
 * its own days: the list's answers are cached by their query.
 */
async function listedEvents(distinctId: string, now: number, fromDaysAgo: number, toMs: number) {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const response = await t.api(
    `/api/v1/projects/${t.projectId}/persons?from=${day(now - fromDaysAgo * DAY)}&to=${day(toMs)}`,
  );
  const { persons } = (await response.json()) as { persons: { personId: string; events: number }[] };
  return persons.find((p) => p.personId === distinctId)?.events;
}

async function eventIds(): Promise<string[]> {
  const rows = await t.server.facts.query<{ message_id: string }>(
    "SELECT message_id FROM events WHERE project_id = {p:String} AND distinct_id = 'x' ORDER BY message_id",
    { p: t.projectId },
  );
  return rows.map((r) => r.message_id);
}

describe('scheduled retention', () => {
  // First: the scheduled run below sets the table's TTL, which drops old rows as they are inserted.
  it('drops cached results as soon as the rows are deleted, not only once the rollup is rebuilt', async () => {
    const now = Date.now();
    await insertEvents('y', now, [
      ['y-old', 100],
      ['y-recent', 3],
    ]);
    await setRetention(t.server.metadata, t.projectId, { events: 30 });
    const eventsOfY = () => listedEvents('y', now, 110, now);
    expect(await eventsOfY()).toBe(2);
    // What the list answers when the rollup's rebuild begins (the rebuild takes seconds on a large
    // project): the deleted event is gone already.
    const facts = t.server.facts;
    const command = facts.command;
    let duringRebuild: number | undefined;
    facts.command = async (sql, params) => {
      if (duringRebuild === undefined && sql.includes(EVENT_ROLLUP_TABLE)) duringRebuild = await eventsOfY();
      return command.call(facts, sql, params);
    };
    try {
      const removed = await enforceRetention(facts, t.server.metadata, t.projectId);
      expect(removed.events).toBe(1);
    } finally {
      facts.command = command;
    }
    expect(duringRebuild).toBe(1);
    expect(await eventsOfY()).toBe(1);
  });

  it('deletes what is older than the period on its own, audits it and sets the TTL', async () => {
    const now = Date.now();
    await insertEvents('x', now, [
      ['old', 100],
      ['recent', 2],
    ]);
    await setRetention(t.server.metadata, t.projectId, { events: 30 });
    expect(await eventIds()).toEqual(['old', 'recent']);
    // A result read now is cached; the deletion must drop it.
    const persons = async () => [await listedEvents('x', now, 120, now + DAY)].filter((n) => n !== undefined);
    expect(await persons()).toEqual([2]);

    const schedule = scheduleRetention({
      facts: t.server.facts,
      metadata: t.server.metadata,
      logger: silent,
      intervalMs: 200,
      firstDelayMs: 10,
    });
    try {
      await expect.poll(eventIds, { timeout: 20_000, interval: 100 }).toEqual(['recent']);
      expect(await persons()).toEqual([1]);
      const round = await schedule.runOnce();
      // Every project of this server keeps events 30 days, so the table's TTL follows.
      expect(round.ttl.events).toBe(30);
      const [table] = await t.server.facts.query<{ engine_full: string }>(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'",
      );
      expect(table?.engine_full).toMatch(/TTL .*toIntervalDay\(30\)/);
    } finally {
      await schedule.stop();
    }
    const { entries } = await listAudit(t.server.metadata, {
      projectId: t.projectId,
      action: 'retention.apply',
      limit: 10,
    });
    expect(
      entries.some((e) => e.actorType === 'system' && JSON.stringify(e.details).includes('"events":1')),
    ).toBe(true);
  });

  it('reads its interval from PULSELOOP_RETENTION_INTERVAL_MINUTES and refuses a bad one by name', () => {
    expect(loadConfig({}).retentionIntervalMinutes).toBe(360);
    expect(loadConfig({ PULSELOOP_RETENTION_INTERVAL_MINUTES: '0' }).retentionIntervalMinutes).toBe(0);
    expect(() => loadConfig({ PULSELOOP_RETENTION_INTERVAL_MINUTES: 'hourly' })).toThrow(
      /PULSELOOP_RETENTION_INTERVAL_MINUTES/,
    );
  });
});
