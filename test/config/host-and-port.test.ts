import { describe, expect, it } from 'vitest';
import { serverUrl } from '../../src/cli/status.js';
import { hostAndPort, loadConfig } from '../../src/config/config.js';

describe('where a server listens', () => {
  it('writes an IPv6 address in brackets, other hosts as they are', () => {
    expect(hostAndPort('127.0.0.1', 8080)).toBe('127.0.0.1:8080');
    expect(hostAndPort('localhost', 80)).toBe('localhost:80');
    expect(hostAndPort('::1', 8080)).toBe('[::1]:8080');
    expect(hostAndPort('fe80::1%eth0', 9)).toBe('[fe80::1%eth0]:9');
  });

  it('asks a server on a wildcard address at loopback', () => {
    expect(serverUrl('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080');
    expect(serverUrl('::', 8080)).toBe('http://[::1]:8080');
    expect(serverUrl('10.0.0.5', 8080)).toBe('http://10.0.0.5:8080');
  });

  it('refuses a port that is not a whole number, quoting it as it was written', () => {
    const env = (port: string) => ({ PULSELOOP_DATA: '/tmp/pulseloop-config-test', PORT: port });
    expect(() => loadConfig(env('abc'))).toThrowError(/\/port \(PORT\): .* \(got "abc"\)/);
    expect(() => loadConfig(env('80.5'))).toThrowError(/\/port \(PORT\): .* \(got 80\.5\)/);
    expect(loadConfig(env('8081')).port).toBe(8081);
  });
});
