import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerUsersCommand } from '../../src/cli/users.js';
import { addConnectorInstance } from '../../src/collect/connectors/instances.js';
import { KEY_FILE_NAME, loadPiiKeyring } from '../../src/govern/pii/keys.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { newProjectIn } from '../connectors/setup.js';

// The `pulseloop users …` and `pulseloop pii …` commands run in-process against a temporary data
// directory (this file's process opens one chdb engine at a time, as the CLI does).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-govern-cli-cmd-'));
process.env.PULSELOOP_DATA = dataDir;
process.env.LOG_LEVEL = 'silent';
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerUsersCommand(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'pulseloop', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

describe('pulseloop users and pii commands', () => {
  it('creates the owner with a generated password shown once, lists users, and refuses a second owner', async () => {
    const created = await run('users', 'create-owner', '--email', 'Boss@Example.com');
    expect(created.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.stderr).toMatch(/password \(shown once\): \S{20,}/);
    expect((await run('users', 'list')).stdout).toContain('boss@example.com');
    await expect(run('users', 'create-owner', '--email', 'other@example.com')).rejects.toMatchObject({
      code: 'owner_exists',
    });
  });

  it('rotates the PII key and lists keys with the rows they protect', async () => {
    // The first use creates the key file.
    expect((await run('pii', 'keys')).stdout).toMatch(/yes/);
    const before = JSON.parse(readFileSync(join(dataDir, KEY_FILE_NAME), 'utf8')) as { active: string };
    const rotated = await run('pii', 'rotate-key');
    const after = JSON.parse(readFileSync(join(dataDir, KEY_FILE_NAME), 'utf8')) as {
      active: string;
      keys: unknown[];
    };
    expect(after.active).not.toBe(before.active);
    expect(after.keys).toHaveLength(2);
    expect(rotated.stdout).toContain(after.active);
    const keys = (await run('pii', 'keys')).stdout;
    expect(keys).toContain(before.active);
    expect(keys).toMatch(new RegExp(`${after.active}\\s+yes`));
    expect((await run('pii', 'retire-key', before.active)).stdout).toContain(`retired ${before.active}`);
    await expect(run('pii', 'retire-key', after.active)).rejects.toMatchObject({ code: 'pii_keys_invalid' });
  });

  it('keeps a key that a stored connector token needs until `pii reencrypt` has moved the token', async () => {
    const metadata = await openMetadataStore({ dataDir });
    try {
      await migrateMetadata(metadata);
      await addConnectorInstance(metadata, {
        projectId: await newProjectIn(metadata),
        connector: 'douyin',
        name: 'dy-main',
        config: { openId: 'open-1' },
        credentials: { token: 'act.secret-token', keyring: loadPiiKeyring({ dataDir }) },
      });
    } finally {
      await metadata.close();
    }
    const before = JSON.parse(readFileSync(join(dataDir, KEY_FILE_NAME), 'utf8')) as { active: string };
    await run('pii', 'rotate-key', '--no-reencrypt');
    expect((await run('pii', 'keys')).stdout).toMatch(new RegExp(`${before.active}\\s+\\S+\\s+0\\s+1`));
    await expect(run('pii', 'retire-key', before.active)).rejects.toMatchObject({
      code: 'pii_key_in_use',
      details: { keyId: before.active, count: 1 },
    });
    expect((await run('pii', 'reencrypt')).stdout).toContain('connector tokens: 1');
    expect((await run('pii', 'retire-key', before.active)).stdout).toContain(`retired ${before.active}`);
  });
});
