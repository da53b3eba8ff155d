import { afterEach, describe, expect, it } from 'vitest';
import { PulseloopError } from '../../src/errors/registry.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import type { MetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation, listOrganisations } from '../../src/store/metadata/organisations.js';
import { createProject, getProject, listProjects, updateProject } from '../../src/store/metadata/projects.js';
import {
  createSource,
  createWriteKey,
  findActiveWriteKey,
  listWriteKeys,
  revokeWriteKey,
} from '../../src/store/metadata/sources.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The metadata store's behaviour, run against each dialect; `open` must give an empty store each call. */
export function describeMetadataSuite(name: string, open: () => Promise<MetadataStore>): void {
  describe(`metadata store on ${name}`, () => {
    const opened: MetadataStore[] = [];

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function emptyStore(): Promise<MetadataStore> {
      const store = await open();
      opened.push(store);
      return store;
    }

    async function migratedStore(): Promise<MetadataStore> {
      const store = await emptyStore();
      await migrateMetadata(store);
      return store;
    }

    async function newProject(store: MetadataStore, name = 'Tea shop') {
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      return createProject(store, {
        organisationId: organisation.id,
        name,
        timeZone: 'Asia/Shanghai',
        currency: 'CNY',
      });
    }

    async function expectCode(promise: Promise<unknown>, code: string): Promise<PulseloopError> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PulseloopError);
      expect((error as PulseloopError).code).toBe(code);
      return error as PulseloopError;
    }

    it('runs the migrations once and then finds nothing left to run', async () => {
      const store = await emptyStore();
      const first = await migrateMetadata(store);
      expect(first.length).toBeGreaterThan(0);
      expect(first[0]).toMatch(/^0001_/);
      expect(await migrateMetadata(store)).toEqual([]);
      expect(await listOrganisations(store)).toEqual([]);
    });

    it('creates and lists organisations with an ISO UTC creation time', async () => {
      const store = await migratedStore();
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      expect(organisation.createdAt).toMatch(ISO_UTC);
      expect(await listOrganisations(store)).toEqual([organisation]);
    });

    it('creates a project in a valid time zone and currency, and reads it back', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      expect(project).toMatchObject({ name: 'Tea shop', timeZone: 'Asia/Shanghai', currency: 'CNY' });
      expect(await getProject(store, project.id)).toEqual(project);
      expect(await listProjects(store, project.organisationId)).toEqual([project]);
      expect(await getProject(store, 'no-such-project')).toBeUndefined();
    });

    it('rejects a project whose time zone is not an IANA name with invalid_time_zone', async () => {
      const store = await migratedStore();
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      for (const timeZone of ['Mars/Olympus', '', '+08:00']) {
        await expectCode(
          createProject(store, { organisationId: organisation.id, name: 'P', timeZone, currency: 'CNY' }),
          'invalid_time_zone',
        );
      }
      expect(await listProjects(store)).toEqual([]);
    });

    it('rejects a project whose currency is not an ISO 4217 code with invalid_currency', async () => {
      const store = await migratedStore();
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      for (const currency of ['RMB', 'yuan', '']) {
        await expectCode(
          createProject(store, { organisationId: organisation.id, name: 'P', timeZone: 'UTC', currency }),
          'invalid_currency',
        );
      }
      expect(await listProjects(store)).toEqual([]);
    });

    it('stores the canonical spelling of a time zone and the upper-case currency code', async () => {
      const store = await migratedStore();
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      const project = await createProject(store, {
        organisationId: organisation.id,
        name: 'P',
        timeZone: 'asia/shanghai',
        currency: 'usd',
      });
      expect(project).toMatchObject({ timeZone: 'Asia/Shanghai', currency: 'USD' });
    });

    it('rejects a project for an organisation that does not exist with not_found', async () => {
      const store = await migratedStore();
      await expectCode(
        createProject(store, { organisationId: 'nobody', name: 'P', timeZone: 'UTC', currency: 'CNY' }),
        'not_found',
      );
    });

    it('updates a project and validates the new time zone and currency', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const updated = await updateProject(store, project.id, {
        name: 'Tea shop EU',
        timeZone: 'Europe/Berlin',
      });
      expect(updated).toEqual({ ...project, name: 'Tea shop EU', timeZone: 'Europe/Berlin' });
      await expectCode(updateProject(store, project.id, { timeZone: 'Nowhere/City' }), 'invalid_time_zone');
      await expectCode(updateProject(store, project.id, { currency: 'XYZ1' }), 'invalid_currency');
      await expectCode(updateProject(store, 'no-such-project', { name: 'x' }), 'not_found');
      expect(await getProject(store, project.id)).toEqual(updated);
    });

    it('lists only the projects of the organisation asked for', async () => {
      const store = await migratedStore();
      const a = await newProject(store, 'A');
      const b = await newProject(store, 'B');
      expect(await listProjects(store, a.organisationId)).toEqual([a]);
      expect(await listProjects(store, b.organisationId)).toEqual([b]);
      expect((await listProjects(store)).map((p) => p.name).sort()).toEqual(['A', 'B']);
    });

    it('creates a source with a first write key that ingestion finds', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const { source, writeKey } = await createSource(store, {
        projectId: project.id,
        name: 'Web shop',
        kind: 'website',
      });
      expect(source).toMatchObject({ projectId: project.id, name: 'Web shop', kind: 'website' });
      expect(writeKey.key).toMatch(/^pl_wk_[0-9A-Za-z]{32}$/);
      expect(writeKey.revokedAt).toBeNull();
      expect(await findActiveWriteKey(store, writeKey.key)).toEqual({
        key: writeKey.key,
        sourceId: source.id,
        projectId: project.id,
        rateLimitPerSecond: null,
      });
      expect(await findActiveWriteKey(store, 'pl_wk_unknown')).toBeUndefined();
    });

    it('keeps the rate limit given to a new write key', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const { source } = await createSource(store, { projectId: project.id, name: 'App', kind: 'app' });
      const key = await createWriteKey(store, source.id, { rateLimitPerSecond: 200 });
      expect((await findActiveWriteKey(store, key.key))?.rateLimitPerSecond).toBe(200);
      const refused = await expectCode(
        createWriteKey(store, source.id, { rateLimitPerSecond: 0 }),
        'invalid_request',
      );
      expect(refused.zh).toBe('请求无效：rateLimitPerSecond 必须是正整数，而不是 0。');
    });

    it('rejects an unknown source kind and a write key for a missing source', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const unknownKind = await expectCode(
        createSource(store, { projectId: project.id, name: 'Fax', kind: 'fax' as 'website' }),
        'invalid_request',
      );
      expect(unknownKind.zh).toBe(
        '请求无效：未知的数据源类型 "fax"：请使用 website、app、mini_program、server、import 之一。',
      );
      const missing = await expectCode(createWriteKey(store, 'no-such-source'), 'not_found');
      expect([missing.message, missing.zh]).toEqual([
        'Source "no-such-source" was not found.',
        '未找到数据源 "no-such-source"。',
      ]);
      await expectCode(
        createSource(store, { projectId: 'no-such-project', name: 'Web', kind: 'website' }),
        'not_found',
      );
    });

    it('no longer finds a revoked key but keeps listing it with its revocation time', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const { writeKey } = await createSource(store, { projectId: project.id, name: 'Web', kind: 'website' });
      const before = new Date().toISOString();
      expect(await revokeWriteKey(store, writeKey.key)).toBe(true);
      const after = new Date().toISOString();

      expect(await findActiveWriteKey(store, writeKey.key)).toBeUndefined();
      const [listed] = await listWriteKeys(store, project.id);
      expect(listed).toMatchObject({ key: writeKey.key, createdAt: writeKey.createdAt });
      expect(listed?.revokedAt).toMatch(ISO_UTC);
      expect(listed!.revokedAt! >= before && listed!.revokedAt! <= after).toBe(true);

      expect(await revokeWriteKey(store, writeKey.key)).toBe(true);
      expect((await listWriteKeys(store, project.id))[0]?.revokedAt).toBe(listed?.revokedAt);
    });

    it('answers false when revoking a key that does not exist', async () => {
      const store = await migratedStore();
      expect(await revokeWriteKey(store, 'pl_wk_doesnotexist')).toBe(false);
    });

    it('gives every write key a different value and refuses to store a duplicate', async () => {
      const store = await migratedStore();
      const project = await newProject(store);
      const { source, writeKey } = await createSource(store, {
        projectId: project.id,
        name: 'S',
        kind: 'server',
      });
      const keys = [writeKey.key];
      for (let i = 0; i < 50; i++) keys.push((await createWriteKey(store, source.id)).key);
      expect(new Set(keys).size).toBe(keys.length);

      const duplicate = store.db
        .insertInto('write_keys')
        .values({
          key: writeKey.key,
          source_id: source.id,
          project_id: project.id,
          created_at: new Date().toISOString(),
        })
        .execute();
      await expect(duplicate).rejects.toThrow(/unique|duplicate/i);
    });

    it('lists the write keys of one project without those of another', async () => {
      const store = await migratedStore();
      const a = await newProject(store, 'A');
      const b = await newProject(store, 'B');
      const fromA = await createSource(store, { projectId: a.id, name: 'Web', kind: 'website' });
      const extraA = await createWriteKey(store, fromA.source.id);
      const fromB = await createSource(store, { projectId: b.id, name: 'Mini', kind: 'mini_program' });

      const keysOfA = (await listWriteKeys(store, a.id)).map((k) => k.key);
      expect(keysOfA.sort()).toEqual([fromA.writeKey.key, extraA.key].sort());
      expect((await listWriteKeys(store, b.id)).map((k) => k.key)).toEqual([fromB.writeKey.key]);
    });
  });
}
