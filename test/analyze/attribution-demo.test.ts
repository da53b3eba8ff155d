import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttributionResult, runAttribution } from '../../src/analyze/attribution/index.js';
import { parseAttributionQuery } from '../../src/analyze/attribution/query.js';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import type { MetadataStore } from '../../src/store/metadata/open.js';

// The demo world plants each channel's contribution to first purchases (src/demo/attribution-truth.ts):
// P(first purchase | channels S) = 1 − (1 − base) · Π (1 − lift_c), and the ground truth ranks the
// channels by their expected Shapley conversions over the paths the world holds (contributionOrder).
// The world's path is a person's sessions up to their first order_completed (whole history if none),
// so the query counts each person's first conversion and looks back over the whole 90 days.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-attribution-demo-'));
let engine: FactsEngine;
let world: DemoSummary;
let result: AttributionResult;

beforeAll(async () => {
  engine = await openChdbEngine(dataDir, 'pulseloop_attribution_demo');
  await migrateFacts(engine);
  world = await generateDemoWorld(engine, { projectId: 'demo_attr', seed: 11, scale: 0.05 });
  const query = parseAttributionQuery({
    dateRange: { from: world.startDate, to: world.endDate },
    conversion: { source: 'event', event: 'order_completed' },
    lookbackDays: world.days,
    count: 'first',
  });
  const project = { projectId: 'demo_attr', timeZone: world.truth.brand.timeZone, currency: 'CNY' };
  // Attribution reads only facts; no metadata is needed.
  result = await runAttribution(
    { facts: engine, metadata: undefined as unknown as MetadataStore, project },
    query,
  );
}, 180_000);

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function ranking(model: 'markov' | 'shapley'): string[] {
  return [...result.rows]
    .sort((a, b) => (b.models[model]?.conversions ?? 0) - (a.models[model]?.conversions ?? 0))
    .map((r) => r.value);
}

describe('attribution on the demo world', () => {
  it('sees the paths the truth was computed from', () => {
    const truth = world.truth.attribution;
    expect(result.totals.journeys).toBe(truth.paths);
    expect(result.totals.attributedConversions).toBe(truth.convertedPaths);
    for (const channel of truth.channels) {
      const row = result.rows.find((r) => r.value === channel.channel);
      expect(row?.journeys, channel.channel).toBe(channel.paths);
      expect(row?.convertingJourneys, channel.channel).toBe(channel.convertedPaths);
    }
  });

  // The planted base rate (a purchase in a person's first session whatever its channel) is credited
  // to no channel by the truth, but the data cannot tell it from the first channel's own effect: it
  // lands on the channels people arrive by, and lifts `direct` (lift 0.001, truth 1.6 conversions) to
  // about `sms` (lift 0.012, truth 3.5). So the two last places are checked as a pair.
  it.each(['markov', 'shapley'] as const)(
    '%s ranks the channels in the planted contribution order',
    (model) => {
      const planted = world.truth.attribution.contributionOrder;
      const measured = ranking(model);
      expect(measured.slice(0, 7)).toEqual(planted.slice(0, 7));
      expect(new Set(measured.slice(7))).toEqual(new Set(planted.slice(7)));
    },
  );

  it('Markov and Shapley credits are close to the expected Shapley conversions of the truth', () => {
    for (const channel of world.truth.attribution.channels.slice(0, 3)) {
      const row = result.rows.find((r) => r.value === channel.channel)!;
      const credited = row.models.shapley!.conversions;
      // Within 30 % for the three big channels (hundreds of conversions each at this scale).
      expect(
        Math.abs(credited - channel.expectedShapleyConversions) / channel.expectedShapleyConversions,
      ).toBeLessThan(0.3);
    }
  });

  it('the classic removal effect and first touch do not recover the order: they credit the frequent direct visits', async () => {
    const project = { projectId: 'demo_attr', timeZone: world.truth.brand.timeZone, currency: 'CNY' };
    const classic = await runAttribution(
      { facts: engine, metadata: undefined as unknown as MetadataStore, project },
      parseAttributionQuery({
        dateRange: { from: world.startDate, to: world.endDate },
        conversion: { source: 'event', event: 'order_completed' },
        lookbackDays: world.days,
        count: 'first',
        models: ['first_touch', 'markov'],
        markovRemoval: 'drop',
      }),
    );
    const direct = classic.rows.find((r) => r.value === 'direct')!;
    const email = classic.rows.find((r) => r.value === 'email')!;
    expect(direct.models.markov!.conversions).toBeGreaterThan(email.models.markov!.conversions);
    expect(direct.models.first_touch!.conversions).toBeGreaterThan(email.models.first_touch!.conversions);
  });
});
