import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { headlineKpis } from '../analyze/headline.js';
import { loadConfig } from '../config/config.js';
import { PulseloopError } from '../errors/registry.js';
import { ownerExists, randomSecret } from '../govern/users.js';
import { compactFacts } from '../store/facts/compact.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { createOrganisation, listOrganisations } from '../store/metadata/organisations.js';
import { createProject, listProjects, type Project } from '../store/metadata/projects.js';
import { createSource, listWriteKeys } from '../store/metadata/sources.js';
import { openStores } from './context.js';
import { progressBar } from './progress.js';
import { serveUntilSignal } from './serve.js';
import { createFirstOwner } from './users.js';

/** The same seed and end date always give the same world; the default ends yesterday so it looks current. */
function yesterdayInShanghai(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(
    new Date(Date.now() - 86_400_000),
  );
}

export const DEMO_PROJECT_NAME = 'Demo: 山茶集 Camellia Tea';

async function demoProject(metadata: MetadataStore): Promise<{ project: Project; created: boolean }> {
  const existing = (await listProjects(metadata)).find((p) => p.name === DEMO_PROJECT_NAME);
  if (existing) return { project: existing, created: false };
  const organisation =
    (await listOrganisations(metadata))[0] ?? (await createOrganisation(metadata, { name: 'Demo' }));
  const project = await createProject(metadata, {
    organisationId: organisation.id,
    name: DEMO_PROJECT_NAME,
    timeZone: 'Asia/Shanghai',
    currency: 'CNY',
  });
  return { project, created: true };
}

export const DEMO_OWNER_EMAIL = 'demo@pulseloop.local';

/**
 * The demo's first owner, when there is no owner yet: `demo@pulseloop.local` with the configured
 * password, or a generated one (returned so it can be shown once). Undefined when an owner exists.
 */
async function ensureDemoOwner(
  metadata: MetadataStore,
  configured: string | undefined,
): Promise<{ email: string; password: string; generated: boolean } | undefined> {
  if (await ownerExists(metadata)) return undefined;
  const password = configured ?? randomSecret(18);
  await createFirstOwner(metadata, { email: DEMO_OWNER_EMAIL, password, name: 'Demo owner' });
  return { email: DEMO_OWNER_EMAIL, password, generated: configured === undefined };
}

/** True for a YYYY-MM-DD text that names a day of the calendar (not 2026-02-30). */
function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}

/** Written last when the world is built: its presence means there is nothing to build. */
const GROUND_TRUTH_FILE = 'demo-ground-truth.json';

interface DemoOptions {
  scale: string;
  seed: string;
  serve: boolean;
  bench?: boolean;
  endDate?: string;
  onlyBuild?: boolean;
}

/**
 * Builds the world in a `pulseloop demo --only-build` process of its own and waits for it. The
 * server that runs afterwards then never held the generator's data: generating in the serving
 * process left its heap and allocator pools grown, ~20 MiB more resident memory at idle for as long
 * as it ran (over the 0.5 GB the server is held to).
 */
async function buildInChildProcess(options: {
  scale: number;
  seed: number;
  endDate: string;
  bench?: boolean;
}) {
  const entry = process.argv[1];
  if (!entry) throw new PulseloopError('demo_build_failed', { detail: 'no command path to start' });
  const args = [
    ...process.execArgv,
    entry,
    'demo',
    '--only-build',
    '--scale',
    String(options.scale),
    '--seed',
    String(options.seed),
    '--end-date',
    options.endDate,
    ...(options.bench ? ['--bench'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    },
  );
  if (outcome.code !== 0) {
    throw new PulseloopError('demo_build_failed', {
      detail: outcome.signal ? `stopped by ${outcome.signal}` : `exit code ${outcome.code}`,
    });
  }
}

/** Generates the world into the store and compacts it, unless the project has events already. */
async function buildWorldIfAbsent(
  facts: FactsEngine,
  dataDir: string,
  projectId: string,
  build: { scale: number; seed: number; endDate: string; bench?: boolean | undefined },
  quiet: { quietWhenPresent?: boolean } = {},
): Promise<void> {
  const [{ n } = { n: 0 }] = await facts.query<{ n: number }>(
    'SELECT count() AS n FROM events WHERE project_id = {project:String}',
    { project: projectId },
  );
  if (Number(n) === 0) {
    process.stderr.write(
      `Building the demo world (scale ${build.scale}, seed ${build.seed}) into ${dataDir} …\n`,
    );
    // Loaded only here: `serve` and the other commands never need the generator.
    const { generateDemoWorld, writeGroundTruth } = await import('../demo/index.js');
    const bar = progressBar('Generating', 'steps');
    const startedAt = performance.now();
    const summary = await generateDemoWorld(facts, {
      projectId,
      seed: build.seed,
      scale: build.scale,
      endDate: build.endDate,
      onProgress: (p) => bar.update(p.done, p.total),
    });
    const seconds = (performance.now() - startedAt) / 1000;
    bar.stop();
    const events = summary.counts.events;
    process.stderr.write(
      `Generated ${number.format(events)} events in ${seconds.toFixed(1)} s (${number.format(events / seconds)} events/s)\n`,
    );
    if (build.bench) process.stdout.write(`BENCH ${JSON.stringify({ events, seconds })}\n`);
    // One part per partition: every analysis's FINAL read is then as cheap as a plain read.
    const compacting = progressBar('Compacting the store', 'partitions');
    const compactStarted = performance.now();
    await compactFacts(facts, (done, total) => compacting.update(done, total));
    compacting.stop();
    process.stderr.write(
      `Compacted the store in ${((performance.now() - compactStarted) / 1000).toFixed(1)} s\n`,
    );
    const truthPath = join(dataDir, GROUND_TRUTH_FILE);
    await writeGroundTruth(truthPath, summary.truth);
    process.stderr.write(`Ground truth written to ${truthPath}\n`);
  } else if (!quiet.quietWhenPresent) {
    process.stderr.write(`The demo world is already in ${dataDir} (${number.format(Number(n))} events).\n`);
  }
}

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Build the seeded demo world into the embedded store (if absent), then start the server.')
    .option('--scale <n>', 'size of the world: 1 = 50k persons, ≥ 5M events', '1')
    .option('--seed <n>', 'random seed: the same seed gives the same world', '42')
    .option('--no-serve', 'only build the world, do not start the server')
    .option('--end-date <yyyy-mm-dd>', 'last day of the world (default: yesterday in Asia/Shanghai)')
    .option('--bench', 'print the generation rate as a JSON line (for npm run bench)')
    .addOption(
      new Option('--only-build', 'build the world and stop (the process `demo` starts for it)').hideHelp(),
    )
    .action(async (options: DemoOptions) => {
      const config = loadConfig();
      const scale = Number(options.scale);
      const seed = Number(options.seed);
      if (!(scale > 0) || !Number.isInteger(seed)) {
        throw new PulseloopError('invalid_request', {
          detail: '--scale must be a positive number and --seed an integer.',
        });
      }
      const endDate = options.endDate ?? yesterdayInShanghai();
      if (!isCalendarDate(endDate)) {
        throw new PulseloopError('invalid_request', {
          detail: `--end-date must be a real date written like 2025-06-30, got "${endDate.slice(0, 40)}".`,
        });
      }
      let builtInChild = false;
      if (options.serve && !options.onlyBuild && !existsSync(join(config.dataDir, GROUND_TRUTH_FILE))) {
        await buildInChildProcess({ scale, seed, endDate, bench: options.bench });
        builtInChild = true;
      }
      const stores = await openStores(config);
      const { facts, metadata } = stores;
      const { project } = await demoProject(metadata);
      if (options.onlyBuild) {
        await buildWorldIfAbsent(facts, config.dataDir, project.id, {
          scale,
          seed,
          endDate,
          bench: options.bench,
        });
        await stores.close();
        return;
      }
      const owner = await ensureDemoOwner(metadata, config.demoPassword);
      await buildWorldIfAbsent(
        facts,
        config.dataDir,
        project.id,
        { scale, seed, endDate, bench: options.bench },
        {
          quietWhenPresent: builtInChild,
        },
      );
      const writeKey =
        (await listWriteKeys(metadata, project.id)).find((k) => !k.revokedAt) ??
        (await createSource(metadata, { projectId: project.id, name: 'Web shop', kind: 'website' })).writeKey;
      const kpis = await headlineKpis(facts, project.id);
      let url = '';
      if (!options.serve) {
        await stores.close();
      } else {
        const server = await serveUntilSignal(config, { facts, metadata });
        url = server.url;
        process.stdout.write(`\nPulseloop is running at ${server.url}\n`);
      }
      const signIn = owner
        ? `Sign in / 登录: ${owner.email}  password / 密码: ${owner.password}${owner.generated ? '  (shown once / 仅显示一次; set PULSELOOP_DEMO_PASSWORD to choose it)' : ''}`
        : `Sign in with the existing owner account (${DEMO_OWNER_EMAIL} when the demo created it) / 使用已有的所有者账号登录`;
      process.stdout.write(
        [
          ...(url ? [`Dashboard / 控制台: ${url}/`] : []),
          signIn,
          `Project: ${project.name} (${project.id}), ${project.timeZone}, ${project.currency}`,
          `Write key: ${writeKey.key}`,
          `Last 30 days: plays ${number.format(kpis.plays)} · orders ${number.format(kpis.orders)} · GMV ¥${money.format(kpis.gmv)} · ad spend ¥${money.format(kpis.adSpend)} · ROAS ${kpis.roas.toFixed(2)}`,
          `All time: ${number.format(kpis.events)} events from ${number.format(kpis.persons)} distinct ids`,
          '',
        ].join('\n'),
      );
    });
}
