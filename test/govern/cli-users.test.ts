import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addUserToProject, createFirstOwner } from '../../src/cli/users.js';
import { listAudit } from '../../src/govern/audit.js';
import { effectiveProjectRole, listProjectMembers, verifyLogin } from '../../src/govern/users.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { listOrganisations } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-govern-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('pulseloop users', () => {
  it('creates the first owner once, owner of the organisation and of projects created later', async () => {
    const metadata = await openMetadataStore({ dataDir: join(root, 'a') });
    try {
      await migrateMetadata(metadata);
      const owner = await createFirstOwner(metadata, {
        email: 'boss@example.com',
        password: 'correct horse battery',
      });
      const [organisation] = await listOrganisations(metadata);
      expect(organisation?.name).toBe('My organisation');
      const project = await createProject(metadata, {
        organisationId: organisation!.id,
        name: 'Tea',
        timeZone: 'Asia/Shanghai',
        currency: 'CNY',
      });
      expect(await effectiveProjectRole(metadata, project.id, owner.id)).toBe('owner');
      expect((await verifyLogin(metadata, 'boss@example.com', 'correct horse battery'))?.id).toBe(owner.id);
      await expect(
        createFirstOwner(metadata, { email: 'second@example.com', password: 'correct horse battery' }),
      ).rejects.toMatchObject({ code: 'owner_exists' });

      const { user, created } = await addUserToProject(metadata, {
        email: 'ana@example.com',
        password: 'another long password',
        projectId: project.id,
        role: 'analyst',
      });
      expect(created).toBe(true);
      const again = await addUserToProject(metadata, {
        email: 'ANA@example.com',
        password: 'ignored for an existing user',
        projectId: project.id,
        role: 'marketer',
      });
      expect(again).toMatchObject({ created: false, user: { id: user.id } });
      expect((await listProjectMembers(metadata, project.id)).map((m) => `${m.email}:${m.role}`)).toEqual([
        'ana@example.com:marketer',
      ]);
      await expect(
        addUserToProject(metadata, {
          email: 'x@example.com',
          password: 'long enough pw',
          projectId: project.id,
          role: 'god',
        }),
      ).rejects.toMatchObject({ code: 'invalid_role' });
      // Refused before anything was created.
      expect(await verifyLogin(metadata, 'x@example.com', 'long enough pw')).toBeUndefined();
      const audit = await listAudit(metadata, { projectId: project.id });
      expect(audit.entries.map((e) => `${e.action}:${e.actorType}`)).toEqual(
        expect.arrayContaining(['user.create:cli', 'role.set:cli']),
      );
    } finally {
      await metadata.close();
    }
  });
});
