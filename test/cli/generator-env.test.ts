import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatorEnv, SERVER_TRIM_TUNABLE } from '../../src/cli/generator-env.js';

describe('the demo builder’s environment', () => {
  it('is the pulseloop command’s own setting the builder takes out', () => {
    const shebang = readFileSync('bin/pulseloop.js', 'utf8').split('\n', 1)[0];
    expect(shebang).toContain(`GLIBC_TUNABLES=\${GLIBC_TUNABLES}:${SERVER_TRIM_TUNABLE} `);
  });

  it('drops the command’s trim threshold and keeps the user’s own tunables', () => {
    // As env -S expands the shebang with and without a GLIBC_TUNABLES of the user's.
    expect(generatorEnv({ GLIBC_TUNABLES: `:${SERVER_TRIM_TUNABLE}`, HOME: '/h' })).toEqual({ HOME: '/h' });
    expect(
      generatorEnv({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${SERVER_TRIM_TUNABLE}` }).GLIBC_TUNABLES,
    ).toBe('glibc.malloc.arena_max=2');
    // A user's own threshold before the command's stays theirs.
    expect(
      generatorEnv({ GLIBC_TUNABLES: `glibc.malloc.trim_threshold=1048576:${SERVER_TRIM_TUNABLE}` })
        .GLIBC_TUNABLES,
    ).toBe('glibc.malloc.trim_threshold=1048576');
  });

  it('leaves an environment the command did not set up as it is', () => {
    const env = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', PATH: '/bin' };
    expect(generatorEnv(env)).toBe(env);
    expect(generatorEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin' });
  });
});
