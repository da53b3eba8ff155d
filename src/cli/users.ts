import type { Command } from 'commander';
import { countStoredTokensUnderKey, reencryptStoredTokens } from '../collect/connectors/secrets.js';
import { PulseloopError } from '../errors/registry.js';
import { CLI_ACTOR, recordAudit } from '../govern/audit.js';
import { parseRole } from '../govern/permissions.js';
import { backfillKeyedContactIds } from '../govern/pii/contact-ids.js';
import { loadPiiKeyring, rotatePiiKey } from '../govern/pii/keys.js';
import { countUnderKey, reencryptFacts, retireKeyWhenUnused } from '../govern/pii/rotation.js';
import {
  addOrganisationMember,
  createUser,
  findUserByEmail,
  listProjectMembers,
  listUsers,
  ownerExists,
  randomSecret,
  setProjectRole,
  type User,
} from '../govern/users.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { createOrganisation, listOrganisations } from '../store/metadata/organisations.js';
import { listProjects } from '../store/metadata/projects.js';
import { openStores, printTable, withMetadata } from './context.js';
import { progressBar } from './progress.js';

/**
 * `pulseloop users …` (the first owner, users and their project roles) and `pulseloop pii …`
 * (PII key rotation, re-encryption and key retirement).
 */

/** Reads the whole of standard input (a password piped in), without its final line break. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function passwordFrom(options: {
  passwordStdin?: boolean;
}): Promise<{ password: string; generated: boolean }> {
  if (options.passwordStdin) return { password: await readStdin(), generated: false };
  return { password: randomSecret(18), generated: true };
}

async function projectIdOf(metadata: MetadataStore, given: string): Promise<string> {
  const match = (await listProjects(metadata)).find((p) => p.id === given || p.name === given);
  if (!match) throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: given });
  return match.id;
}

/**
 * Creates the first owner: owner of every organisation (one named `organisationName` is created
 * when there is none) and so of every project in them. Refuses once an owner exists.
 */
export async function createFirstOwner(
  metadata: MetadataStore,
  input: { email: string; password: string; name?: string; organisationName?: string },
): Promise<User> {
  if (await ownerExists(metadata)) throw new PulseloopError('owner_exists');
  const user = await createUser(metadata, input);
  let organisations = await listOrganisations(metadata);
  if (organisations.length === 0) {
    organisations = [
      await createOrganisation(metadata, { name: input.organisationName ?? 'My organisation' }),
    ];
  }
  for (const organisation of organisations)
    await addOrganisationMember(metadata, organisation.id, user.id, 'owner');
  for (const project of await listProjects(metadata))
    await setProjectRole(metadata, project.id, user.id, 'owner');
  await recordAudit(metadata, {
    action: 'user.create',
    actor: CLI_ACTOR,
    target: { type: 'user', id: user.id },
    details: { owner: true },
  });
  return user;
}

/** Adds a user (or reuses one with that e-mail) to a project with a role. */
export async function addUserToProject(
  metadata: MetadataStore,
  input: { email: string; password: string; projectId: string; role: string },
): Promise<{ user: User; created: boolean }> {
  parseRole(input.role);
  const existing = await findUserByEmail(metadata, input.email);
  const user = existing ?? (await createUser(metadata, { email: input.email, password: input.password }));
  const project = (await listProjects(metadata)).find((p) => p.id === input.projectId);
  if (project) await addOrganisationMember(metadata, project.organisationId, user.id, 'member');
  const result = await setProjectRole(metadata, input.projectId, user.id, input.role);
  if (!existing) {
    await recordAudit(metadata, {
      action: 'user.create',
      actor: CLI_ACTOR,
      projectId: input.projectId,
      target: { type: 'user', id: user.id },
    });
  }
  await recordAudit(metadata, {
    action: 'role.set',
    actor: CLI_ACTOR,
    projectId: input.projectId,
    target: { type: 'user', id: user.id },
    details: { previous: result.previous ?? null, role: result.role },
  });
  return { user, created: !existing };
}

export function registerUsersCommand(program: Command): void {
  const users = program
    .command('users')
    .description('Create the first owner, add users and set their roles.');
  users
    .command('create-owner')
    .description('Create the first owner (owner of every organisation and project).')
    .requiredOption('--email <email>', 'e-mail address to sign in with')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input (else one is generated and printed)')
    .action(async (options: { email: string; name?: string; passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await withMetadata(async (metadata) => {
        const user = await createFirstOwner(metadata, {
          email: options.email,
          password,
          ...(options.name && { name: options.name }),
        });
        process.stdout.write(`${user.id}\n`);
        if (generated) process.stderr.write(`password (shown once) / 密码（仅显示一次）: ${password}\n`);
      });
    });
  users
    .command('add')
    .description('Add a user to a project with a role (creates the user when new).')
    .requiredOption('--email <email>', 'e-mail address')
    .requiredOption('--project <id>', 'project id or name')
    .requiredOption('--role <role>', 'owner, admin, analyst, marketer or viewer')
    .option('--password-stdin', 'read the new user’s password from standard input (else one is generated)')
    .action(async (options: { email: string; project: string; role: string; passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await withMetadata(async (metadata) => {
        const projectId = await projectIdOf(metadata, options.project);
        const { user, created } = await addUserToProject(metadata, { ...options, projectId, password });
        process.stdout.write(`${user.id}\n`);
        if (created && generated)
          process.stderr.write(`password (shown once) / 密码（仅显示一次）: ${password}\n`);
      });
    });
  users
    .command('list')
    .description('List users, or the members of one project with their roles.')
    .option('--project <id>', 'project id or name')
    .action(async (options: { project?: string }) => {
      await withMetadata(async (metadata) => {
        if (options.project) {
          const projectId = await projectIdOf(metadata, options.project);
          printTable(
            (await listProjectMembers(metadata, projectId)).map((m) => ({
              email: m.email,
              role: m.role,
              user: m.userId,
            })),
          );
          return;
        }
        printTable(
          (await listUsers(metadata)).map((u) => ({
            email: u.email,
            name: u.name,
            id: u.id,
            created_at: u.createdAt,
          })),
        );
      });
    });
  users
    .command('set-role')
    .description('Change a user’s role in a project.')
    .requiredOption('--email <email>', 'e-mail address')
    .requiredOption('--project <id>', 'project id or name')
    .requiredOption('--role <role>', 'owner, admin, analyst, marketer or viewer')
    .action(async (options: { email: string; project: string; role: string }) => {
      await withMetadata(async (metadata) => {
        const projectId = await projectIdOf(metadata, options.project);
        const user = await findUserByEmail(metadata, options.email);
        if (!user)
          throw new PulseloopError('not_found', { what: 'User', what_zh: '用户', id: options.email });
        const result = await setProjectRole(metadata, projectId, user.id, options.role);
        await recordAudit(metadata, {
          action: 'role.set',
          actor: CLI_ACTOR,
          projectId,
          target: { type: 'user', id: user.id },
          details: { previous: result.previous ?? null, role: result.role },
        });
        process.stdout.write(`${options.email}: ${result.previous ?? '-'} → ${result.role}\n`);
      });
    });

  const pii = program.command('pii').description('PII encryption keys: rotate, re-encrypt, retire.');
  pii
    .command('rotate-key')
    .description('Make a new PII key active, then re-encrypt stored values with it.')
    .option('--no-reencrypt', 'only rotate; run `pulseloop pii reencrypt` later')
    .action(async (options: { reencrypt: boolean }) => {
      const stores = await openStores();
      try {
        const before = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        const ring = rotatePiiKey(before);
        await recordAudit(stores.metadata, {
          action: 'pii_key.rotate',
          actor: CLI_ACTOR,
          target: { type: 'pii_key', id: ring.activeKeyId },
          details: { previous: before.activeKeyId },
        });
        process.stdout.write(`active PII key / 当前 PII 密钥: ${ring.activeKeyId}\n`);
        if (options.reencrypt) await reencryptWithProgress(stores, ring);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('reencrypt')
    .description('Re-encrypt every stored PII value with the active key.')
    .action(async () => {
      const stores = await openStores();
      try {
        const ring = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        await reencryptWithProgress(stores, ring);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('keys')
    .description('List PII keys and how many stored rows each still protects.')
    .action(async () => {
      const stores = await openStores();
      try {
        const ring = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        const rows = [];
        for (const key of ring.keys.values()) {
          rows.push({
            id: key.id,
            active: key.id === ring.activeKeyId ? 'yes' : '',
            created_at: key.createdAt,
            rows: await countUnderKey(stores.facts, key.id),
            connector_tokens: await countStoredTokensUnderKey(stores.metadata, key.id),
          });
        }
        printTable(rows);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('link-keyed-contacts')
    .description('Link keyed phone/e-mail ids (phone_k:, email_k:) to the persons whose traits hold them.')
    .requiredOption('--project <id>', 'project id or name')
    .action(async (options: { project: string }) => {
      const stores = await openStores();
      try {
        const ring = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        const projectId = await projectIdOf(stores.metadata, options.project);
        const report = await backfillKeyedContactIds(stores.facts, ring, projectId);
        printTable([{ ...report }]);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('retire-key <keyId>')
    .description('Delete an old PII key once no stored value uses it.')
    .action(async (keyId: string) => {
      const stores = await openStores();
      try {
        const ring = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        // Stored connector tokens need the key as much as the facts do.
        const tokens = await countStoredTokensUnderKey(stores.metadata, keyId);
        if (tokens > 0) throw new PulseloopError('pii_key_in_use', { keyId, count: tokens });
        await retireKeyWhenUnused(stores.facts, ring, keyId);
        await recordAudit(stores.metadata, {
          action: 'pii_key.retire',
          actor: CLI_ACTOR,
          target: { type: 'pii_key', id: keyId },
        });
        process.stdout.write(`retired / 已停用 ${keyId}\n`);
      } finally {
        await stores.close();
      }
    });
}

/** Re-encrypts the facts store's PII and the stored connector tokens with the active key. */
async function reencryptWithProgress(
  stores: { facts: Parameters<typeof reencryptFacts>[0]; metadata: MetadataStore },
  ring: Parameters<typeof reencryptFacts>[1],
) {
  const progress = progressBar('re-encrypting / 重新加密', 'rows');
  const rewritten = await reencryptFacts(stores.facts, ring, (_table, done, total) =>
    progress.update(done, total),
  );
  progress.stop();
  for (const [table, count] of Object.entries(rewritten)) process.stdout.write(`${table}: ${count}\n`);
  const tokens = await reencryptStoredTokens(stores.metadata, ring);
  process.stdout.write(`connector tokens / 连接器令牌: ${tokens}\n`);
}
