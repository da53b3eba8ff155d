import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_EVENTS } from '../../../src/collect/segment/limits.js';
import {
  AliasCallSchema,
  BatchBodySchema,
  COLLECT_BODY_SCHEMAS,
  GroupCallSchema,
  IdentifyCallSchema,
  PageCallSchema,
  ScreenCallSchema,
  TrackCallSchema,
} from '../../../src/collect/segment/schemas.js';
import { CALL_TYPES, validateBatchItem, validateMessage } from '../../../src/collect/segment/validate.js';

/** Segment's own examples (HTTP Tracking API reference), plus the common fields. */
const examples = {
  identify: {
    userId: '019mr8mf4r',
    traits: { email: 'pgibbons@example.com', name: 'Peter Gibbons', industry: 'Technology' },
    context: { ip: '24.5.68.47' },
    timestamp: '2012-12-02T00:30:08.276Z',
    writeKey: 'YOUR_WRITE_KEY',
  },
  track: {
    userId: '019mr8mf4r',
    event: 'Item Purchased',
    properties: { name: 'Leap to Conclusions Mat', revenue: 14.99 },
    context: {
      ip: '24.5.68.47',
      app: { name: 'InitechGlobal', version: '545', build: '3.0.1.545', namespace: 'com.production.segment' },
      campaign: {
        name: 'TPS Innovation Newsletter',
        source: 'Newsletter',
        medium: 'email',
        term: 'tps reports',
        content: 'image link',
      },
      library: { name: 'analytics.js', version: '2.11.1' },
      page: {
        path: '/academy/',
        referrer: '',
        search: '',
        title: 'Analytics Academy',
        url: 'https://segment.com/academy/',
      },
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X)',
    },
    messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
    sentAt: '2015-12-10T04:08:31.581Z',
    timestamp: '2012-12-02T00:30:12.984Z',
    integrations: { All: true, Mixpanel: false },
  },
  page: { userId: '019mr8mf4r', name: 'Tracking HTTP API', timestamp: '2012-12-02T00:31:29.738Z' },
  screen: { userId: '019mr8mf4r', name: 'Tracking HTTP API', timestamp: '2012-12-02T00:31:29.738Z' },
  group: {
    userId: '019mr8mf4r',
    groupId: '8e9df332ac',
    traits: { name: 'Initech', industry: 'Technology', employees: 420 },
    timestamp: '2012-12-02T00:31:38.208Z',
  },
  alias: {
    previousId: '39239-239239-239239-23923',
    userId: '019mr8mf4r',
    timestamp: '2012-12-02T00:31:29.738Z',
  },
} as const;

describe('Segment call schemas', () => {
  it.each(CALL_TYPES.map((type) => [type]))(
    'describe Segment’s own %s example, which the validator accepts too',
    (type) => {
      expect(Value.Check(COLLECT_BODY_SCHEMAS[type], examples[type])).toBe(true);
      expect(validateMessage(examples[type], type).ok).toBe(true);
    },
  );

  it.each<[TSchema, Record<string, unknown>, string]>([
    [TrackCallSchema, { userId: 'u' }, 'a track call without an event'],
    [GroupCallSchema, { userId: 'u' }, 'a group call without a groupId'],
    [AliasCallSchema, { userId: 'u' }, 'an alias call without a previousId'],
    [IdentifyCallSchema, { userId: 'u', traits: [1] }, 'traits that are not an object'],
    [PageCallSchema, { userId: 'u', properties: 'x' }, 'properties that are not an object'],
    [ScreenCallSchema, { userId: 'u', messageId: 'm'.repeat(101) }, 'a messageId over 100 characters'],
  ])('refuse %#: %s', (schema, body) => {
    expect(Value.Check(schema, body)).toBe(false);
  });

  it('accept numeric ids, as the validator does', () => {
    expect(Value.Check(TrackCallSchema, { userId: 42, event: 'x' })).toBe(true);
  });

  it('describe every field for the API document', () => {
    for (const [type, schema] of Object.entries(COLLECT_BODY_SCHEMAS)) {
      expect(schema.description, type).toBeTruthy();
      for (const [name, field] of Object.entries(schema.properties)) {
        expect((field as { description?: string }).description, `${type}.${name}`).toBeTruthy();
      }
    }
  });
});

describe('the batch body schema', () => {
  const batch = {
    batch: [
      { type: 'identify', ...examples.identify },
      { type: 'track', ...examples.track },
      { type: 'page', ...examples.page },
    ],
    context: { device: { type: 'phone', name: 'Apple iPhone 6' } },
    sentAt: '2024-05-01T08:30:00.000Z',
    writeKey: 'YOUR_WRITE_KEY',
  };

  it('describes Segment’s batch example, whose items the validator accepts', () => {
    expect(Value.Check(BatchBodySchema, batch)).toBe(true);
    for (const item of batch.batch) expect(validateBatchItem(item).ok).toBe(true);
  });

  it('requires a type on each item and at most 2,500 items', () => {
    expect(Value.Check(BatchBodySchema, { batch: [{ userId: 'u', event: 'x' }] })).toBe(false);
    const many = new Array(MAX_BATCH_EVENTS + 1).fill({ type: 'track', userId: 'u', event: 'x' });
    expect(Value.Check(BatchBodySchema, { batch: many })).toBe(false);
    expect(Value.Check(BatchBodySchema, { batch: many.slice(1) })).toBe(true);
  });
});
