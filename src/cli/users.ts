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
import { chooseProject, openStores, printTable, withMetadata } from './context.js';
import { say } from './lang.js';
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
    .description(
      say('Create the first owner, add users and set their roles.', '创建首个所有者、添加用户并设置其角色。'),
    );
  users
    .command('create-owner')
    .description(
      say(
        'Create the first owner (owner of every organisation and project).',
        '创建首个所有者（所有组织和项目的所有者）。',
      ),
    )
    .requiredOption('--email <email>', say('e-mail address to sign in with', '用于登录的邮箱地址'))
    .option('--name <name>', say('display name', '显示名称'))
    .option(
      '--password-stdin',
      say(
        'read the password from standard input (else one is generated and printed)',
        '从标准输入读取密码（否则自动生成并打印）',
      ),
    )
    .action(async (options: { email: string; name?: string; passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await withMetadata(async (metadata) => {
        const user = await createFirstOwner(metadata, {
          email: options.email,
          password,
          ...(options.name && { name: options.name }),
        });
        process.stdout.write(`${user.id}\n`);
        if (generated)
          process.stderr.write(
            say(`password (shown once): ${password}\n`, `密码（仅显示一次）：${password}\n`),
          );
      });
    });
  users
    .command('add')
    .description(
      say(
        'Add a user to a project with a role (creates the user when new).',
        '以指定角色将用户加入项目（用户不存在时会先创建）。',
      ),
    )
    .requiredOption('--email <email>', say('e-mail address', '邮箱地址'))
    .requiredOption('--project <id>', say('project id or name', '项目 ID 或名称'))
    .requiredOption(
      '--role <role>',
      say('owner, admin, analyst, marketer or viewer', '角色：owner、admin、analyst、marketer 或 viewer'),
    )
    .option(
      '--password-stdin',
      say(
        'read the new user’s password from standard input (else one is generated)',
        '从标准输入读取新用户的密码（否则自动生成）',
      ),
    )
    .action(async (options: { email: string; project: string; role: string; passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await withMetadata(async (metadata) => {
        const projectId = (await chooseProject(metadata, options.project)).id;
        const { user, created } = await addUserToProject(metadata, { ...options, projectId, password });
        process.stdout.write(`${user.id}\n`);
        if (created && generated)
          process.stderr.write(
            say(`password (shown once): ${password}\n`, `密码（仅显示一次）：${password}\n`),
          );
      });
    });
  users
    .command('list')
    .description(
      say(
        'List users, or the members of one project with their roles.',
        '列出用户，或列出某个项目的成员及其角色。',
      ),
    )
    .option('--project <id>', say('project id or name', '项目 ID 或名称'))
    .action(async (options: { project?: string }) => {
      await withMetadata(async (metadata) => {
        if (options.project) {
          const projectId = (await chooseProject(metadata, options.project)).id;
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
    .description(say('Change a user’s role in a project.', '更改用户在项目中的角色。'))
    .requiredOption('--email <email>', say('e-mail address', '邮箱地址'))
    .requiredOption('--project <id>', say('project id or name', '项目 ID 或名称'))
    .requiredOption(
      '--role <role>',
      say('owner, admin, analyst, marketer or viewer', '角色：owner、admin、analyst、marketer 或 viewer'),
    )
    .action(async (options: { email: string; project: string; role: string }) => {
      await withMetadata(async (metadata) => {
        const projectId = (await chooseProject(metadata, options.project)).id;
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

  const pii = program
    .command('pii')
    .description(
      say('PII encryption keys: rotate, re-encrypt, retire.', 'PII 加密密钥：轮换、重新加密、停用。'),
    );
  pii
    .command('rotate-key')
    .description(
      say(
        'Make a new PII key active, then re-encrypt stored values with it.',
        '启用一个新的 PII 密钥，然后用它重新加密已存储的值。',
      ),
    )
    .option(
      '--no-reencrypt',
      say(
        'only rotate; run `pulseloop pii reencrypt` later',
        '只轮换密钥；稍后再运行 `pulseloop pii reencrypt`',
      ),
    )
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
        process.stdout.write(
          say(`active PII key: ${ring.activeKeyId}\n`, `当前 PII 密钥：${ring.activeKeyId}\n`),
        );
        if (options.reencrypt) await reencryptWithProgress(stores, ring);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('reencrypt')
    .description(
      say(
        'Re-encrypt every stored PII value with the active key.',
        '用当前密钥重新加密所有已存储的 PII 值。',
      ),
    )
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
    .description(
      say(
        'List PII keys and how many stored rows each still protects.',
        '列出 PII 密钥，以及每个密钥仍在保护的已存储行数。',
      ),
    )
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
            active: key.id === ring.activeKeyId ? say('yes', '是') : '',
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
    .description(
      say(
        'Link keyed phone/e-mail ids (phone_k:, email_k:) to the persons whose traits hold them.',
        '将带密钥的手机号/邮箱标识（phone_k:、email_k:）关联到属性中含有这些值的人员。',
      ),
    )
    .requiredOption('--project <id>', say('project id or name', '项目 ID 或名称'))
    .action(async (options: { project: string }) => {
      const stores = await openStores();
      try {
        const ring = loadPiiKeyring({
          dataDir: stores.config.dataDir,
          envValue: process.env.PULSELOOP_PII_KEYS,
        });
        const projectId = (await chooseProject(stores.metadata, options.project)).id;
        const bar = progressBar(
          say('linking keyed contact ids', '关联带密钥的联系方式标识'),
          say('persons', '人'),
        );
        let report: Awaited<ReturnType<typeof backfillKeyedContactIds>>;
        try {
          report = await backfillKeyedContactIds(stores.facts, ring, projectId, {
            onProgress: (done, total) => bar.update(done, total),
          });
        } finally {
          bar.stop();
        }
        printTable([{ ...report }]);
      } finally {
        await stores.close();
      }
    });
  pii
    .command('retire-key <keyId>')
    .description(
      say(
        'Delete an old PII key once no stored value uses it.',
        '在没有已存储的值使用旧 PII 密钥后将其删除。',
      ),
    )
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
        process.stdout.write(say(`retired ${keyId}\n`, `已停用 ${keyId}\n`));
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
  const progress = progressBar(say('re-encrypting', '重新加密'), say('rows', '行'));
  const rewritten = await reencryptFacts(stores.facts, ring, (_table, done, total) =>
    progress.update(done, total),
  );
  progress.stop();
  for (const [table, count] of Object.entries(rewritten)) process.stdout.write(`${table}: ${count}\n`);
  const tokens = await reencryptStoredTokens(stores.metadata, ring);
  process.stdout.write(say(`connector tokens: ${tokens}\n`, `连接器令牌：${tokens}\n`));
}
