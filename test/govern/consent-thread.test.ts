import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from '../../bench/server-process.js';
import { consentHistory } from '../../src/govern/consent.js';
import type { openConsentThread } from '../../src/govern/consent-thread.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { importBuilt } from '../support/built.js';

// The thread runs the compiled worker, as `pulseloop serve` does (support/built.ts).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-consent-thread-'));
let store: MetadataStore;
let open: typeof openConsentThread;
let projectId: string;

beforeAll(async () => {
  open = (await importBuilt<{ openConsentThread: typeof openConsentThread }>('src/govern/consent-thread.js'))
    .openConsentThread;
  store = await openMetadataStore({ dataDir });
  await migrateMetadata(store);
  const organisation = await createOrganisation(store, { name: 'Tea' });
  projectId = (
    await createProject(store, {
      organisationId: organisation.id,
      name: 'Shop',
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
    })
  ).id;
});

afterAll(async () => {
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the consent thread', () => {
  it('records consent on its own connection, readable at once by the serving one', async () => {
    const thread = open(store.sqlitePath!);
    expect(thread).toBeDefined();
    try {
      const records = await thread!.record(projectId, [
        {
          subjectId: 'u-1',
          purpose: 'email',
          granted: true,
          source: 'identify',
          occurredAt: '2026-11-30T10:00:00.000Z',
        },
        {
          subjectId: 'u-1',
          purpose: 'analytics',
          granted: false,
          source: 'identify',
          occurredAt: '2026-11-30T10:00:01.000Z',
        },
      ]);
      expect(records.map((r) => [r.subjectId, r.purpose, r.granted])).toEqual([
        ['u-1', 'email', true],
        ['u-1', 'analytics', false],
      ]);
      const history = await consentHistory(store, projectId, ['u-1']);
      expect(history.map((r) => [r.purpose, r.granted, r.source, r.occurredAt])).toEqual([
        ['email', true, 'identify', '2026-11-30T10:00:00.000Z'],
        ['analytics', false, 'identify', '2026-11-30T10:00:01.000Z'],
      ]);
      // Every column as the thread answered it (its insert binds the values by position).
      expect(history).toEqual(records);
    } finally {
      await thread!.close();
    }
  });

  it('refuses an invalid change with the same error as the serving thread, and stores none of the batch', async () => {
    const thread = open(store.sqlitePath!)!;
    try {
      await expect(
        thread.record(projectId, [
          { subjectId: 'u-2', purpose: 'email', granted: true, source: 'identify' },
          { subjectId: 'u-2', purpose: 'telepathy' as 'email', granted: true, source: 'identify' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_consent', message: expect.stringContaining('telepathy') });
      // A project that does not exist: refused by the database, reported as an error.
      await expect(
        thread.record('no-such-project', [
          { subjectId: 'u-3', purpose: 'email', granted: true, source: 'identify' },
        ]),
      ).rejects.toThrow(/FOREIGN KEY/);
      expect(await consentHistory(store, projectId, ['u-2'])).toEqual([]);
    } finally {
      await thread.close();
    }
  });

  it('is where `pulseloop serve` records the consent identify calls carry, before it acknowledges them', async () => {
    const serverDir = mkdtempSync(join(tmpdir(), 'pulseloop-consent-serve-'));
    try {
      const project = runCli(serverDir, 'projects', 'create', '--name', 'Consent');
      const writeKey = runCli(serverDir, 'keys', 'create', '--project', project);
      const server = await startServerProcess(serverDir, { PULSELOOP_INGEST_GOVERNANCE: 'on' });
      try {
        const response = await fetch(`${server.url}/v1/batch`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
          },
          body: JSON.stringify({
            batch: [
              { type: 'identify', userId: 'u-9', traits: { consent_email: true, consent_analytics: false } },
            ],
          }),
        });
        expect(response.status).toBe(200);
        // Acknowledged, so already committed: read on a connection of our own while the server runs.
        const reader = await openMetadataStore({ dataDir: serverDir });
        try {
          const history = await consentHistory(reader, project, ['u-9']);
          expect(history.map((r) => [r.purpose, r.granted, r.source]).sort()).toEqual([
            ['analytics', false, 'identify'],
            ['email', true, 'identify'],
          ]);
        } finally {
          await reader.close();
        }
      } finally {
        expect(await server.stop('SIGTERM')).toBe(0);
      }
    } finally {
      rmSync(serverDir, { recursive: true, force: true });
    }
  });
});
