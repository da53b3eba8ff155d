import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Server, startServer } from '../../src/api/server.js';
import { type ConfigOverrides, loadConfig } from '../../src/config/config.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { createSource } from '../../src/store/metadata/sources.js';

export interface TestServer {
  server: Server;
  url: string;
  dataDir: string;
  projectId: string;
  writeKey: string;
  /** Creates another project with its own key (tenant isolation tests). */
  newProject(name: string): Promise<{ projectId: string; writeKey: string }>;
  /** Waits until the batch writer has moved everything acknowledged into the store. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A real server on an ephemeral port over a temporary data directory (chdb + SQLite). */
export async function startTestServer(
  overrides: ConfigOverrides = {},
  dataDir?: string,
): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'pulseloop-server-'));
  const config = loadConfig({ PULSELOOP_DATA: dir, PORT: '0', LOG_LEVEL: 'silent' }, overrides);
  const server = await startServer(config, {
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  const newProject = async (name: string) => {
    const organisation = await createOrganisation(server.metadata, { name: `${name} org` });
    const project = await createProject(server.metadata, {
      organisationId: organisation.id,
      name,
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
    });
    const { writeKey } = await createSource(server.metadata, {
      projectId: project.id,
      name: 'web',
      kind: 'website',
    });
    return { projectId: project.id, writeKey: writeKey.key };
  };
  const first = await newProject('Test brand');
  return {
    server,
    url: server.url,
    dataDir: dir,
    ...first,
    newProject,
    async settle() {
      await server.writer.flush();
      await server.writer.flush();
    },
    async close() {
      await server.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Basic auth header for a write key (user name = key, empty password). */
export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}
