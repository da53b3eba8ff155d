import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/api/server.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const env = (extra: Record<string, string>) => ({ PULSELOOP_DATA: '/tmp/pulseloop-config-test', ...extra });

function validKeys(): string {
  return JSON.stringify({
    version: 1,
    active: 'k1',
    hashKey: randomBytes(32).toString('base64'),
    keys: [{ id: 'k1', key: randomBytes(32).toString('base64') }],
  });
}

describe('governance settings', () => {
  it('turns ingestion governance on by default and reads on/off from PULSELOOP_INGEST_GOVERNANCE', () => {
    expect(loadConfig(env({})).ingest.governance).toBe(true);
    expect(loadConfig(env({ PULSELOOP_INGEST_GOVERNANCE: 'off' })).ingest.governance).toBe(false);
    expect(loadConfig(env({ PULSELOOP_INGEST_GOVERNANCE: 'true' })).ingest.governance).toBe(true);
    expect(() => loadConfig(env({ PULSELOOP_INGEST_GOVERNANCE: 'maybe' }))).toThrowError(
      /PULSELOOP_INGEST_GOVERNANCE.*"maybe"/,
    );
    expect(() => loadConfig(env({ PULSELOOP_GOVERNANCE_REFRESH_SECONDS: '0' }))).toThrowError(
      /PULSELOOP_GOVERNANCE_REFRESH_SECONDS/,
    );
  });

  it('emits only keyed contact ids unless PULSELOOP_LEGACY_CONTACT_HASHES asks for the old ones too', () => {
    expect(loadConfig(env({})).ingest.legacyContactHashes).toBe(false);
    expect(loadConfig(env({ PULSELOOP_LEGACY_CONTACT_HASHES: 'on' })).ingest.legacyContactHashes).toBe(true);
    expect(() => loadConfig(env({ PULSELOOP_LEGACY_CONTACT_HASHES: 'sometimes' }))).toThrowError(
      /PULSELOOP_LEGACY_CONTACT_HASHES/,
    );
  });

  it('carries PULSELOOP_PII_KEYS and refuses an unusable ring without showing the key', () => {
    const keys = validKeys();
    expect(loadConfig(env({ PULSELOOP_PII_KEYS: keys })).piiKeys).toBe(keys);
    const shortKey = randomBytes(16).toString('base64');
    const bad = JSON.stringify({
      version: 1,
      active: 'k1',
      hashKey: randomBytes(32).toString('base64'),
      keys: [{ id: 'k1', key: shortKey }],
    });
    let error: unknown;
    try {
      loadConfig(env({ PULSELOOP_PII_KEYS: bad }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PULSELOOP_PII_KEYS');
    expect(message).toContain('32 bytes');
    expect(message).toContain('配置无效');
    expect(message).not.toContain(shortKey);
    expect(() => loadConfig(env({ PULSELOOP_PII_KEYS: 'not json' }))).toThrowError(
      /PULSELOOP_PII_KEYS: not valid JSON/,
    );
  });
});

describe('the server logger', () => {
  it('never writes authorization headers, cookies, passwords, tokens or write keys', () => {
    let output = '';
    const capture = new Writable({
      write(chunk, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ logLevel: 'info' }, capture);
    const secrets = {
      basic: `Basic ${Buffer.from('pl_wk_secretwritekey:').toString('base64')}`,
      cookie: 'pl_session=sessionsecret123; pl_csrf=csrfsecret456',
      csrf: 'csrfheadersecret789',
      setCookie: 'pl_session=newsessionsecret; HttpOnly',
      password: 'hunter2-password-secret',
      token: 'pl_pat_tokensecret',
      writeKey: 'pl_wk_bodywritekeysecret',
      nestedPassword: 'nested-password-secret',
    };
    // A request as Fastify hands it to a log call, and a body as a route would log it.
    logger.info(
      {
        req: {
          method: 'POST',
          url: '/v1/batch',
          headers: { authorization: secrets.basic, cookie: secrets.cookie, 'x-csrf-token': secrets.csrf },
        },
        res: { statusCode: 200, headers: { 'set-cookie': secrets.setCookie } },
        body: { email: 'visible-route@example.com', password: secrets.password, writeKey: secrets.writeKey },
        token: secrets.token,
        user: { profile: { password: secrets.nestedPassword } },
      },
      'request logged',
    );
    logger.warn({ headers: { authorization: secrets.basic, cookie: secrets.cookie } }, 'outgoing call');
    logger.flush();
    expect(output).toContain('/v1/batch');
    expect(output).toContain('visible-route@example.com');
    expect(output).toContain('[redacted]');
    for (const [name, secret] of Object.entries(secrets)) {
      expect(output.includes(secret), `${name} in the log`).toBe(false);
    }
  });
});
