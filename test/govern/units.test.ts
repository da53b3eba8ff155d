import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { laplaceNoise, seededRng, suppressSmallCells } from '../../src/govern/aggregates.js';
import { csvCell } from '../../src/govern/audit.js';
import {
  consentChangesFromIdentify,
  consentFromTraits,
  consentRecordsOf,
  PURPOSES,
} from '../../src/govern/consent.js';
import { validated } from '../../src/govern/http/body.js';
import { createIpRateLimiter, LOG_REDACTION } from '../../src/govern/http/hardening.js';
import { can, PERMISSION_MATRIX, PERMISSIONS, ROLES, weakerRole } from '../../src/govern/permissions.js';
import {
  decryptField,
  encryptField,
  encryptPiiFields,
  keyedContactHash,
  keyedContactId,
  keyIdOf,
  reencryptJsonText,
} from '../../src/govern/pii/crypto.js';
import {
  KEY_FILE_NAME,
  loadPiiKeyring,
  parsePiiKeys,
  retirePiiKey,
  rotatePiiKey,
} from '../../src/govern/pii/keys.js';
import { maskEmail, maskIdNumber, maskName, maskPhone, serialiseForRole } from '../../src/govern/pii/mask.js';
import { validRetentionDays } from '../../src/govern/retention.js';
import { normaliseEmail } from '../../src/govern/users.js';
import { hashContact } from '../../src/identity/resolver.js';
import { refusal } from '../support/refusal.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-govern-units-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`);

describe('permission matrix', () => {
  it('gives owners every permission and viewers only reading analyses', () => {
    for (const p of PERMISSIONS) expect(can('owner', p)).toBe(true);
    expect(PERMISSIONS.filter((p) => can('viewer', p))).toEqual(['analyses.read']);
  });

  it('lets only owners and admins see PII, erase, manage users and read the audit log', () => {
    for (const p of [
      'pii.read',
      'persons.erase',
      'users.manage',
      'audit.read',
      'retention.configure',
    ] as const) {
      expect(ROLES.filter((r) => can(r, p))).toEqual(['owner', 'admin']);
    }
  });

  it('is the table docs/governance.md shows', () => {
    const doc = readFileSync(new URL('../../docs/governance.md', import.meta.url), 'utf8');
    for (const [permission, roles] of Object.entries(PERMISSION_MATRIX)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${permission}\``));
      expect(row, permission).toBeDefined();
      const cells = row!
        .split('|')
        .slice(3, 3 + ROLES.length)
        .map((c) => c.trim());
      expect(cells, permission).toEqual(
        ROLES.map((r) => ((roles as readonly string[]).includes(r) ? '✓' : '')),
      );
    }
  });

  it('never lets a token carry more than the weaker of two roles', () => {
    expect(weakerRole('owner', 'viewer')).toBe('viewer');
    expect(weakerRole('analyst', 'admin')).toBe('analyst');
  });
});

describe('PII encryption', () => {
  it('round-trips Chinese and e-mail values, with a fresh IV each time', () => {
    const ring = loadPiiKeyring({ dataDir: freshDir() });
    const a = encryptField(ring, '13812341234');
    const b = encryptField(ring, '13812341234');
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('13812341234');
    expect(decryptField(ring, a)).toBe('13812341234');
    expect(decryptField(ring, encryptField(ring, '张三 zhang@example.com'))).toBe('张三 zhang@example.com');
    expect(decryptField(ring, 'plain legacy value')).toBe('plain legacy value');
    // IVs come from a pool of random bytes: never repeated, also across refills of the pool.
    const ivs = Array.from({ length: 2000 }, () => encryptField(ring, 'x').split(':')[3]);
    expect(new Set(ivs).size).toBe(2000);
  });

  it('refuses a tampered ciphertext', () => {
    const ring = loadPiiKeyring({ dataDir: freshDir() });
    const value = encryptField(ring, 'secret');
    const parts = value.split(':');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => decryptField(ring, parts.join(':'))).toThrow(/fails authentication/);
  });

  it('creates the key file readable by its owner only, and reads the same keys back', () => {
    const dataDir = freshDir();
    const ring = loadPiiKeyring({ dataDir });
    expect(statSync(join(dataDir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    const again = loadPiiKeyring({ dataDir });
    expect(again.activeKeyId).toBe(ring.activeKeyId);
    expect(decryptField(again, encryptField(ring, 'x'))).toBe('x');
  });

  it('takes keys from PULSELOOP_PII_KEYS and refuses to rotate them there', () => {
    const fileRing = loadPiiKeyring({ dataDir: freshDir() });
    const env = JSON.stringify({
      version: 1,
      active: 'envkey',
      hashKey: fileRing.hashKey.toString('base64'),
      keys: [{ id: 'envkey', key: Buffer.alloc(32, 7).toString('base64'), createdAt: '' }],
    });
    const ring = loadPiiKeyring({ dataDir: freshDir(), envValue: env });
    expect(keyIdOf(encryptField(ring, 'a'))).toBe('envkey');
    expect(() => rotatePiiKey(ring)).toThrow(/PULSELOOP_PII_KEYS/);
    expect(() =>
      loadPiiKeyring({
        dataDir: freshDir(),
        envValue: '{"keys":[{"id":"x","key":"c2hvcnQ="}],"active":"x"}',
      }),
    ).toThrow(/32 bytes/);
  });

  it('rotates: new values use the new key, old ones stay readable until re-encrypted, then the old key retires', () => {
    const dataDir = freshDir();
    const first = loadPiiKeyring({ dataDir });
    const old = encryptField(first, '13900001111');
    const traits = JSON.stringify({
      phone: old,
      nested: { email: encryptField(first, 'a@b.cn') },
      plan: 'gold',
    });
    const ring = rotatePiiKey(first);
    expect(ring.activeKeyId).not.toBe(first.activeKeyId);
    expect(keyIdOf(encryptField(ring, 'x'))).toBe(ring.activeKeyId);
    expect(decryptField(ring, old)).toBe('13900001111');
    const moved = reencryptJsonText(ring, traits)!;
    expect(moved).not.toContain(`enc:v1:${first.activeKeyId}:`);
    expect(reencryptJsonText(ring, moved)).toBeUndefined();
    const retired = retirePiiKey(ring, first.activeKeyId);
    const reloaded = loadPiiKeyring({ dataDir });
    expect([...reloaded.keys.keys()]).toEqual([ring.activeKeyId]);
    const parsed = JSON.parse(moved) as { phone: string; nested: { email: string }; plan: string };
    expect(decryptField(retired, parsed.phone)).toBe('13900001111');
    expect(decryptField(reloaded, parsed.nested.email)).toBe('a@b.cn');
    expect(() => decryptField(reloaded, old)).toThrow(/not in the key ring/);
    expect(() => retirePiiKey(reloaded, reloaded.activeKeyId)).toThrow(/active/);
  });

  it('encrypts only the configured PII fields of a record', () => {
    const ring = loadPiiKeyring({ dataDir: freshDir() });
    const out = encryptPiiFields(ring, { phone: '13812341234', plan: 'gold', name: '张三', age: 30 });
    expect(out.plan).toBe('gold');
    expect(out.age).toBe(30);
    expect(String(out.phone)).toMatch(/^enc:v1:/);
    expect(String(out.name)).toMatch(/^enc:v1:/);
  });

  it('keys contact hashes: same input same key → same join key; another key or the unkeyed hash differ', () => {
    const a = loadPiiKeyring({ dataDir: freshDir() });
    const b = loadPiiKeyring({ dataDir: freshDir() });
    expect(keyedContactHash(a, 'phone', '138-1234-1234')).toBe(keyedContactHash(a, 'phone', '13812341234'));
    expect(keyedContactHash(a, 'email', ' Z@Example.com ')).toBe(
      keyedContactHash(a, 'email', 'z@example.com'),
    );
    expect(keyedContactHash(a, 'phone', '13812341234')).not.toBe(keyedContactHash(b, 'phone', '13812341234'));
    expect(keyedContactHash(a, 'phone', '13812341234')).not.toBe(hashContact('phone', '13812341234'));
    expect(keyedContactHash(a, 'phone', '13812341234')).toMatch(/^[0-9a-f]{40}$/);
    expect(keyedContactId(a, 'email', 'z@example.com')).toBe(
      `email_k:${keyedContactHash(a, 'email', 'z@example.com')}`,
    );
  });
});

describe('masking by role', () => {
  it('masks phones, e-mails, names and id numbers the way Chinese apps show them', () => {
    expect(maskPhone('13812341234')).toBe('138****1234');
    expect(maskPhone('+8613812341234')).toBe('+86138****1234');
    expect(maskEmail('zhang@example.com')).toBe('z***@example.com');
    expect(maskName('张三')).toBe('张*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskName('John Smith')).toBe('J*** S***');
    expect(maskIdNumber('110105199001011234')).toBe('110***********1234');
  });

  it('shows owners and admins the decrypted value and masks it for everyone else', () => {
    const ring = loadPiiKeyring({ dataDir: freshDir() });
    const record = {
      phone: encryptField(ring, '13812341234'),
      email: 'zhang@example.com',
      name: '张三',
      plan: 'gold',
    };
    for (const role of ['owner', 'admin'] as const) {
      expect(serialiseForRole(ring, role, record)).toEqual({ ...record, phone: '13812341234' });
    }
    for (const role of ['analyst', 'marketer', 'viewer'] as const) {
      expect(serialiseForRole(ring, role, record)).toEqual({
        phone: '138****1234',
        email: 'z***@example.com',
        name: '张*',
        plan: 'gold',
      });
    }
  });
});

describe('consent from identify traits', () => {
  it('reads consent objects, a blanket false and per-purpose traits, the specific one winning', () => {
    expect(consentFromTraits({ consent: { email: true, sms: false, bogus: true } })).toEqual([
      { purpose: 'email', granted: true },
      { purpose: 'sms', granted: false },
    ]);
    const all = consentFromTraits({ consent: false, consent_email: true });
    expect(all.find((c) => c.purpose === 'analytics')).toEqual({ purpose: 'analytics', granted: false });
    expect(all.find((c) => c.purpose === 'email')).toEqual({ purpose: 'email', granted: true });
    expect(consentFromTraits({ plan: 'gold', consent_push: 'yes' })).toEqual([]);
    expect(
      consentChangesFromIdentify('u-1', { consent_sms: true }, Date.parse('2025-03-01T00:00:00Z')),
    ).toEqual([
      {
        subjectId: 'u-1',
        purpose: 'sms',
        granted: true,
        source: 'identify',
        occurredAt: '2025-03-01T00:00:00.000Z',
      },
    ]);
  });
});

describe('privacy-safe aggregates', () => {
  it('withholds the numbers of cells with fewer than k persons, keeps the others and the labels', () => {
    const rows = [
      { city: '上海', persons: 120, revenue: 9000 },
      { city: '拉萨', persons: 3, revenue: 400 },
      { city: '三沙', persons: 0, revenue: 0 },
      { city: '杭州', persons: 5, revenue: 700 },
    ];
    expect(suppressSmallCells(rows, { personsColumn: 'persons' })).toEqual([
      { city: '上海', persons: 120, revenue: 9000, suppressed: false },
      { city: '拉萨', persons: null, revenue: null, suppressed: true },
      { city: '三沙', persons: 0, revenue: 0, suppressed: false },
      { city: '杭州', persons: 5, revenue: 700, suppressed: false },
    ]);
    expect(
      suppressSmallCells(rows, { personsColumn: 'persons', k: 10 }).filter((r) => r.suppressed),
    ).toHaveLength(2);
  });

  it('adds Laplace noise with mean 0 and scale sensitivity/ε (reproducible with a seed)', () => {
    const epsilon = 0.5;
    const rng = seededRng(42);
    const n = 50_000;
    const noise = Array.from({ length: n }, () => laplaceNoise(100, { epsilon, rng }) - 100);
    const mean = noise.reduce((s, x) => s + x, 0) / n;
    const meanAbs = noise.reduce((s, x) => s + Math.abs(x), 0) / n;
    const variance = noise.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    // Laplace(0, b): E|X| = b, Var = 2b², b = 1/ε = 2.
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(meanAbs).toBeGreaterThan(2 * 0.97);
    expect(meanAbs).toBeLessThan(2 * 1.03);
    expect(variance).toBeGreaterThan(8 * 0.93);
    expect(variance).toBeLessThan(8 * 1.07);
    // Half the mass within b·ln 2 of the centre.
    const within = noise.filter((x) => Math.abs(x) < 2 * Math.LN2).length / n;
    expect(within).toBeGreaterThan(0.49);
    expect(within).toBeLessThan(0.51);
    const again = seededRng(42);
    expect(laplaceNoise(100, { epsilon, rng: again })).toBe(noise[0]! + 100);
    expect(() => laplaceNoise(1, { epsilon: 0 })).toThrow(/epsilon/);
  });
});

describe('hardening helpers', () => {
  it('rate-limits per IP with a burst, then refills at the configured rate', () => {
    const limiter = createIpRateLimiter({ perMinute: 60, burst: 3 });
    const t = 1_000_000;
    expect([0, 0, 0].map(() => limiter.take('1.2.3.4', t))).toEqual([0, 0, 0]);
    expect(limiter.take('1.2.3.4', t)).toBeGreaterThan(0);
    expect(limiter.take('5.6.7.8', t)).toBe(0);
    expect(limiter.take('1.2.3.4', t + 1000)).toBe(0);
  });

  it('never writes passwords, tokens, cookies or write keys to the log', () => {
    let output = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const logger = pino({ redact: LOG_REDACTION }, sink);
    logger.info(
      {
        req: { headers: { authorization: 'Bearer pl_pat_SECRET1', cookie: 'pl_session=SECRET2' } },
        body: { email: 'a@b.cn', password: 'SECRET3', writeKey: 'pl_wk_SECRET4' },
        token: 'SECRET5',
        config: { connector: { secret: 'SECRET6' } },
      },
      'request',
    );
    expect(output).toContain('a@b.cn');
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4', 'SECRET5', 'SECRET6'])
      expect(output).not.toContain(secret);
  });

  it('writes CSV cells that spreadsheets will not run as formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  });
});

describe('refusals in both languages', () => {
  const ROWS: [string, () => unknown, string, string][] = [
    [
      'an e-mail address that is none',
      () => normaliseEmail('nope'),
      'Invalid request: "nope" is not an e-mail address.',
      '请求无效："nope" 不是有效的邮箱地址。',
    ],
    [
      'a retention period out of range',
      () => validRetentionDays('events', 0),
      'Invalid retention for "events": expected a whole number of days from 1 to 36500, or null to keep forever.',
      '"events" 的保留期限无效：必须是 1 到 36500 之间的整数天数，或为 null（永久保留）。',
    ],
    [
      'a consent purpose nobody knows',
      () =>
        consentRecordsOf('p', [
          { subjectId: 'u', purpose: 'telepathy' as 'sms', granted: true, source: 'api' },
        ]),
      `Invalid consent: unknown purpose "telepathy"; use ${PURPOSES.join(', ')}.`,
      `同意记录无效：未知用途 "telepathy"；请使用 ${PURPOSES.join('、')} 之一。`,
    ],
    [
      'a key ring that is not JSON',
      () => parsePiiKeys('not json', 'PULSELOOP_PII_KEYS'),
      'The PII keys are invalid: PULSELOOP_PII_KEYS: not valid JSON.',
      'PII 密钥无效：PULSELOOP_PII_KEYS：不是有效的 JSON。',
    ],
    [
      'a body field of the wrong type (the validator’s English, its problem worded in Chinese)',
      () => validated(Type.Object({ name: Type.String() }), { name: 1 }, 'body'),
      'Invalid request: name: Expected string',
      '请求无效：字段 "name"：应为字符串',
    ],
  ];

  it.each(ROWS)('says what is wrong with %s in English and wholly in Chinese', (_case, run, en, zh) => {
    const error = refusal(run);
    expect(error.message).toBe(en);
    expect(error.zh).toBe(zh);
  });
});
