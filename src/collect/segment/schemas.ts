import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { MAX_BATCH_EVENTS, MAX_EVENT_NAME_LENGTH, MAX_ID_LENGTH, MAX_MESSAGE_ID_LENGTH } from './limits.js';
import type { CallType } from './validate.js';

/**
 * The wire format of the Segment HTTP Tracking API as Pulseloop accepts it, for the OpenAPI
 * document and for typed clients. These schemas describe; `validateMessage` decides (it answers
 * per-event error codes, reads ids that are numbers, and accepts times such as `2015-2-02T00:30Z`
 * that a strict `date-time` format would refuse). Unknown fields are allowed everywhere, as in
 * Segment.
 */

const Id = (description: string) =>
  Type.Union([Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }), Type.Number()], {
    description: `${description} A string of at most ${MAX_ID_LENGTH} characters, or a number (stored as its decimal text; send integers above 2^53 as strings).`,
  });

const Time = (description: string) =>
  Type.Union([Type.String(), Type.Number()], {
    description: `${description} An ISO 8601 string (\`2024-05-01T08:30:00.000Z\`, \`2024-05-01T16:30:00+08:00\`; no offset means UTC) or milliseconds since the epoch.`,
    examples: ['2024-05-01T08:30:00.000Z'],
  });

const Dictionary = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });

const Text = (description: string) => Type.Optional(Type.String({ description }));
const TextOrNumber = (description: string) =>
  Type.Optional(Type.Union([Type.String(), Type.Number()], { description }));

/** Segment's `context`: facts about the device, page and campaign; the known fields become columns. */
export const ContextSchema = Type.Object(
  {
    active: Type.Optional(Type.Boolean({ description: 'Whether the user is active.' })),
    app: Type.Optional(
      Type.Object(
        {
          name: Text('Application name.'),
          version: TextOrNumber('Application version (stored as `app_version`).'),
          build: TextOrNumber('Build number.'),
          namespace: Text('Bundle id or package name.'),
        },
        { description: 'The current application; its presence marks the platform as `app`.' },
      ),
    ),
    campaign: Type.Optional(
      Type.Object(
        {
          name: Text('utm_campaign.'),
          source: Text('utm_source.'),
          medium: Text('utm_medium.'),
          term: Text('utm_term.'),
          content: Text('utm_content.'),
          id: TextOrNumber('Pulseloop campaign id (stored as `campaign_id`).'),
        },
        {
          description:
            'The campaign that led to the call (UTM parameters). When absent, utm_* parameters of the page URL are read.',
        },
      ),
    ),
    device: Type.Optional(
      Type.Object(
        {
          id: Text('Device id.'),
          advertisingId: Text('Advertising id.'),
          manufacturer: Text('Manufacturer.'),
          model: Text('Model.'),
          name: Text('Device name.'),
          type: Text('Device type, e.g. ios, android, mobile, desktop (stored as `device_type`).'),
        },
        { description: 'The device.' },
      ),
    ),
    ip: Text("The user's IP address; wins over the address the request came from."),
    library: Type.Optional(
      Type.Object(
        { name: Text('Library name; hints at the platform.'), version: Text('Library version.') },
        { description: 'The library that sent the call.' },
      ),
    ),
    locale: Text('Locale, e.g. zh-CN.'),
    location: Type.Optional(
      Type.Object(
        {
          country: Text('Country.'),
          region: Text('Region or province.'),
          city: Text('City.'),
          latitude: Type.Optional(Type.Number()),
          longitude: Type.Optional(Type.Number()),
        },
        { description: "The user's location." },
      ),
    ),
    network: Type.Optional(Dictionary('The network connection: bluetooth, carrier, cellular, wifi.')),
    os: Type.Optional(
      Type.Object(
        { name: Text('Operating system name (stored as `os`).'), version: Text('Operating system version.') },
        { description: 'The operating system.' },
      ),
    ),
    page: Type.Optional(
      Type.Object(
        {
          path: Text('Path of the page.'),
          referrer: Text('URL of the previous page; decides the channel when no UTM is given.'),
          search: Text('Query string.'),
          title: Text('Title.'),
          url: Text('Full URL; utm_*, share_from and sharer parameters are read from it.'),
        },
        { description: 'The current web page.' },
      ),
    ),
    referrer: Type.Optional(
      Type.Object(
        {
          type: Text('Referrer type.'),
          name: Text('Referrer name.'),
          url: Text('Referrer URL.'),
          link: Text('Link.'),
        },
        { description: 'How the user was referred to the app or site.' },
      ),
    ),
    screen: Type.Optional(Dictionary('The screen: width, height, density.')),
    timezone: Text('IANA time zone, e.g. Asia/Shanghai.'),
    groupId: Text('Group or account id.'),
    traits: Type.Optional(Dictionary("Traits of the user, as in identify's `traits`.")),
    userAgent: Text('User agent of the device.'),
    sessionId: TextOrNumber('Session id (Pulseloop extension; stored as `session_id`).'),
    platform: Text(
      'Pulseloop extension: douyin, kuaishou, xiaohongshu, wechat_channels, wechat_miniprogram, douyin_miniprogram, bilibili, weibo, web, app, server or other (also uni-app/Taro names such as mp-weixin).',
    ),
  },
  {
    description:
      'Context of the call. In a batch, the batch-level context is merged into each event (the event wins).',
    additionalProperties: true,
  },
);

const common = {
  userId: Type.Optional(Id('The id of a known user. Either userId or anonymousId is required.')),
  anonymousId: Type.Optional(Id('The id of a not-yet-known user. Either userId or anonymousId is required.')),
  messageId: Type.Optional(
    Type.String({
      maxLength: MAX_MESSAGE_ID_LENGTH,
      description:
        'Unique id of the call, used to drop re-deliveries. Generated (prefixed `pl-`) when absent; then retries are stored twice.',
    }),
  ),
  timestamp: Type.Optional(Time('When the event happened (historical imports set this).')),
  originalTimestamp: Type.Optional(Time('When the event happened, by the client clock.')),
  sentAt: Type.Optional(
    Time(
      'When the client sent the call, by its clock. With it the event time is corrected for clock skew: receivedAt − (sentAt − (originalTimestamp ?? timestamp)).',
    ),
  ),
  context: Type.Optional(ContextSchema),
  integrations: Type.Optional(Dictionary('Destinations on or off; accepted and ignored.')),
  writeKey: Type.Optional(Type.String({ description: 'Write key, when not sent as Basic-auth user name.' })),
} satisfies TProperties;

const Properties = (description: string) => Type.Optional(Dictionary(description));
const Traits = (description: string) => Type.Optional(Dictionary(description));

const callFields = {
  track: {
    event: Type.String({
      minLength: 1,
      maxLength: MAX_EVENT_NAME_LENGTH,
      description: 'Name of the action, e.g. "Order Completed".',
    }),
    properties: Properties(
      'Free-form properties. Read into columns: revenue (total/value on order events), currency, campaign_id, content_id (video_id, post_id), sharer_id, session_id / $session_id, platform.',
    ),
  },
  page: {
    name: Type.Optional(Type.String({ maxLength: MAX_EVENT_NAME_LENGTH, description: 'Name of the page.' })),
    category: Type.Optional(
      Type.String({ maxLength: MAX_EVENT_NAME_LENGTH, description: 'Category of the page.' }),
    ),
    properties: Properties('Page properties: url, path, referrer, title, search, and any others.'),
  },
  screen: {
    name: Type.Optional(
      Type.String({ maxLength: MAX_EVENT_NAME_LENGTH, description: 'Name of the screen.' }),
    ),
    category: Type.Optional(
      Type.String({ maxLength: MAX_EVENT_NAME_LENGTH, description: 'Category of the screen.' }),
    ),
    properties: Properties('Screen properties.'),
  },
  identify: {
    traits: Traits('What is known about the user: email, name, phone, …'),
  },
  group: {
    groupId: Id('The group (company, account, team) the user belongs to.'),
    traits: Traits('What is known about the group.'),
  },
  alias: {
    previousId: Id('The earlier id of the user, now known as userId.'),
  },
} as const satisfies Record<string, TProperties>;

const CALL_DESCRIPTIONS = {
  track: 'Records an action the user performed.',
  page: 'Records a web page view (stored as event `$pageview`).',
  screen: 'Records an app screen view (stored as event `$screen`).',
  identify: 'Ties the user to their traits (stored as event `$identify`).',
  group: 'Ties the user to a group (stored as event `$group`).',
  alias: 'Declares that previousId and userId are the same user (stored as event `$alias`).',
} as const;

function call<T extends keyof typeof callFields>(type: T, typeRequired: boolean) {
  const typeField = Type.Literal(type, { description: 'The call type.' });
  return Type.Object(
    {
      ...common,
      type: typeRequired ? typeField : Type.Optional(typeField),
      ...callFields[type],
    },
    { description: CALL_DESCRIPTIONS[type], additionalProperties: true },
  );
}

/** Body of `POST /v1/track`. */
export const TrackCallSchema = call('track', false);
/** Body of `POST /v1/page`. */
export const PageCallSchema = call('page', false);
/** Body of `POST /v1/screen`. */
export const ScreenCallSchema = call('screen', false);
/** Body of `POST /v1/identify`. */
export const IdentifyCallSchema = call('identify', false);
/** Body of `POST /v1/group`. */
export const GroupCallSchema = call('group', false);
/** Body of `POST /v1/alias`. */
export const AliasCallSchema = call('alias', false);

/** One event inside a batch: like the single calls, but `type` is required. */
export const BatchItemSchema = Type.Union(
  [
    call('track', true),
    call('page', true),
    call('screen', true),
    call('identify', true),
    call('group', true),
    call('alias', true),
  ],
  { description: 'One call; its `type` decides which.' },
);

/** Body of `POST /v1/batch`. */
export const BatchBodySchema = Type.Object(
  {
    batch: Type.Array(BatchItemSchema, {
      maxItems: MAX_BATCH_EVENTS,
      description: `Up to ${MAX_BATCH_EVENTS} calls, 500 KB in all (decompressed), 32 KB each. Invalid events are quarantined one by one; the others are stored.`,
    }),
    context: Type.Optional(ContextSchema),
    integrations: Type.Optional(Dictionary('Merged into each event; accepted and ignored.')),
    sentAt: Type.Optional(Time('When the client sent the batch; used for events that carry no sentAt.')),
    writeKey: Type.Optional(
      Type.String({ description: 'Write key, when not sent as Basic-auth user name.' }),
    ),
  },
  { description: 'Several calls in one request.', additionalProperties: true },
);

/** What every accepted request is answered with, as Segment does. */
export const SuccessResponseSchema = Type.Object(
  { success: Type.Literal(true) },
  { description: 'The request was accepted.' },
);

/** The body schema of each collection endpoint, by call type (`batch` for `POST /v1/batch`). */
export const COLLECT_BODY_SCHEMAS = {
  track: TrackCallSchema,
  identify: IdentifyCallSchema,
  page: PageCallSchema,
  screen: ScreenCallSchema,
  group: GroupCallSchema,
  alias: AliasCallSchema,
  batch: BatchBodySchema,
} as const satisfies Record<CallType | 'batch', TSchema>;

export type TrackCall = Static<typeof TrackCallSchema>;
export type PageCall = Static<typeof PageCallSchema>;
export type ScreenCall = Static<typeof ScreenCallSchema>;
export type IdentifyCall = Static<typeof IdentifyCallSchema>;
export type GroupCall = Static<typeof GroupCallSchema>;
export type AliasCall = Static<typeof AliasCallSchema>;
export type BatchItem = Static<typeof BatchItemSchema>;
export type BatchBody = Static<typeof BatchBodySchema>;
