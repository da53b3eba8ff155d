import { describe, expect, it } from 'vitest';
import { redactedUrl } from '../../src/config/redact.js';

describe('redactedUrl', () => {
  it.each([
    ['postgres://pulse:s3cret@db:5432/test', 'postgres://pulse:***@db:5432/test'],
    ['postgres://pulse:p@ss@db/test', 'postgres://pulse:***@db/test'],
    ['postgres://:s3cret@db/test', 'postgres://:***@db/test'],
    [
      'postgres://pulse@db/test?sslmode=require&password=s3cret',
      'postgres://pulse@db/test?sslmode=require&password=***',
    ],
    ['http://db:8123/?PASSWORD=s3cret', 'http://db:8123/?PASSWORD=***'],
    ['http://db:8123', 'http://db:8123'],
    // Text that is no URL at all is still masked where it looks like one.
    ['db host //pulse:s3cret@db', 'db host //pulse:***@db'],
  ])('shows %s as %s', (url, shown) => {
    expect(redactedUrl(url)).toBe(shown);
  });
});
