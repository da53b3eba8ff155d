import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { headlineKpis } from '../analyze/headline.js';
import { loadConfig } from '../config/config.js';
import { demoScaleProblem, demoSeedProblem } from '../demo/limits.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { ownerExists, randomSecret } from '../govern/users.js';
import { isCalendarDate } from '../lib/calendar-date.js';
import { compactFacts } from '../store/facts/compact.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { createOrganisation, listOrganisations } from '../store/metadata/organisations.js';
import { createProject, listProjects, type Project } from '../store/metadata/projects.js';
import { createSource, listWriteKeys } from '../store/metadata/sources.js';
import { openStores } from './context.js';
import { generatorEnv } from './generator-env.js';
import { integer, say } from './lang.js';
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
 * as it ran (over the 0.5 GB the server is held to). The builder runs without the command's glibc
 * trim threshold, which slows generation (generator-env.ts); so `--no-serve` builds in one too.
 */
async function buildInChildProcess(options: {
  scale: number;
  seed: number;
  endDate: string;
  bench?: boolean;
}) {
  const entry = process.argv[1];
  if (!entry) {
    throw new PulseloopError(
      'demo_build_failed',
      detailText('no command path to start', '找不到要启动的命令路径'),
    );
  }
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
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: generatorEnv(process.env) });
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    },
  );
  if (outcome.code !== 0) {
    throw new PulseloopError(
      'demo_build_failed',
      outcome.signal
        ? detailText(`stopped by ${outcome.signal}`, `被 ${outcome.signal} 信号终止`)
        : detailText(`exit code ${outcome.code}`, `退出码 ${outcome.code}`),
    );
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
      say(
        `Building the demo world (scale ${build.scale}, seed ${build.seed}) into ${dataDir} …\n`,
        `正在构建演示数据（规模 ${build.scale}，种子 ${build.seed}），写入 ${dataDir} …\n`,
      ),
    );
    if (build.scale !== 1) process.stderr.write(`${SCALE_NOTE}\n`);
    // Loaded only here: `serve` and the other commands never need the generator.
    const { generateDemoWorld, writeGroundTruth } = await import('../demo/index.js');
    const bar = progressBar(say('Generating', '生成中'), say('steps', '步'));
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
      say(
        `Generated ${integer.format(events)} events in ${seconds.toFixed(1)} s (${integer.format(events / seconds)} events/s)\n`,
        `已生成 ${integer.format(events)} 个事件，用时 ${seconds.toFixed(1)} 秒（每秒 ${integer.format(events / seconds)} 个）\n`,
      ),
    );
    if (build.bench) process.stdout.write(`BENCH ${JSON.stringify({ events, seconds })}\n`);
    // One part per partition: every analysis's FINAL read is then as cheap as a plain read.
    const compacting = progressBar(say('Compacting the store', '整理存储'), say('partitions', '分区'));
    const compactStarted = performance.now();
    await compactFacts(facts, (done, total) => compacting.update(done, total));
    compacting.stop();
    const compactSeconds = ((performance.now() - compactStarted) / 1000).toFixed(1);
    process.stderr.write(
      say(`Compacted the store in ${compactSeconds} s\n`, `存储整理完成，用时 ${compactSeconds} 秒\n`),
    );
    const truthPath = join(dataDir, GROUND_TRUTH_FILE);
    await writeGroundTruth(truthPath, summary.truth);
    process.stderr.write(say(`Ground truth written to ${truthPath}\n`, `真值文件已写入 ${truthPath}\n`));
  } else if (!quiet.quietWhenPresent) {
    const count = integer.format(Number(n));
    process.stderr.write(
      say(
        `The demo world is already in ${dataDir} (${count} events).\n`,
        `演示数据已在 ${dataDir} 中（${count} 个事件）。\n`,
      ),
    );
  }
}

/**
 * Said when a world is built at another scale: `--scale` multiplies the tracked persons and their
 * events, while the brand's posts, their platform-side plays and the ad budgets stay as at scale 1
 * (src/demo/ads.ts says why), so plays, spend and ROAS do not scale with orders.
 */
const SCALE_NOTE = say(
  'Note: --scale multiplies persons and their events; posts, platform-side plays and ad spend stay as at scale 1, so ROAS and plays per order differ from scale 1.',
  '注意：--scale 只按比例改变人数及其事件；内容、平台侧播放量和广告花费与规模 1 相同，因此 ROAS 和每单播放量与规模 1 不同。',
);

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      say(
        'Build the seeded demo world into the embedded store (if absent), then start the server.',
        '将带种子的演示数据构建到内置存储中（若尚未构建），然后启动服务器。',
      ),
    )
    .option(
      '--scale <n>',
      say(
        'size of the world: 1 = 50k persons, ≥ 5M events (posts, plays and ad spend do not scale)',
        '数据规模：1 = 5 万人、500 万以上事件（内容、播放量和广告花费不随规模变化）',
      ),
      '1',
    )
    .option(
      '--seed <n>',
      say('random seed: the same seed gives the same world', '随机种子：相同的种子生成相同的数据'),
      '42',
    )
    .option('--no-serve', say('only build the world, do not start the server', '只构建数据，不启动服务器'))
    .option(
      '--end-date <yyyy-mm-dd>',
      say(
        'last day of the world (default: yesterday in Asia/Shanghai)',
        '数据的最后一天（默认：上海时间的昨天）',
      ),
    )
    .option(
      '--bench',
      say(
        'print the generation rate as a JSON line (for npm run bench)',
        '以 JSON 行输出生成速度（供 npm run bench 使用）',
      ),
    )
    .addOption(
      new Option('--only-build', 'build the world and stop (the process `demo` starts for it)').hideHelp(),
    )
    .action(async (options: DemoOptions) => {
      const config = loadConfig();
      const scale = Number(options.scale);
      const seed = Number(options.seed);
      for (const [flag, given, problem] of [
        ['--scale', options.scale, demoScaleProblem(scale)],
        ['--seed', options.seed, demoSeedProblem(seed)],
      ] as const) {
        if (!problem) continue;
        const shown = given.slice(0, 40);
        throw new PulseloopError(
          'invalid_request',
          detailText(`${flag} ${problem.en}, got "${shown}".`, `${flag} ${problem.zh}，而不是 "${shown}"。`),
        );
      }
      const endDate = options.endDate ?? yesterdayInShanghai();
      if (!isCalendarDate(endDate)) {
        const given = endDate.slice(0, 40);
        throw new PulseloopError(
          'invalid_request',
          detailText(
            `--end-date must be a real date written like 2025-06-30, got "${given}".`,
            `--end-date 必须是真实存在的日期，格式如 2025-06-30，而不是 "${given}"。`,
          ),
        );
      }
      let builtInChild = false;
      if (!options.onlyBuild && !existsSync(join(config.dataDir, GROUND_TRUTH_FILE))) {
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
        process.stdout.write(
          say(`\nPulseloop is running at ${server.url}\n`, `\nPulseloop 已在 ${server.url} 运行\n`),
        );
      }
      const signIn = owner
        ? say(
            `Sign in: ${owner.email}  password: ${owner.password}${owner.generated ? '  (shown once; set PULSELOOP_DEMO_PASSWORD to choose it)' : ''}`,
            `登录：${owner.email}  密码：${owner.password}${owner.generated ? '  （仅显示一次；可用 PULSELOOP_DEMO_PASSWORD 指定）' : ''}`,
          )
        : say(
            `Sign in with the existing owner account (${DEMO_OWNER_EMAIL} when the demo created it)`,
            `使用已有的所有者账号登录（若由演示创建，则为 ${DEMO_OWNER_EMAIL}）`,
          );
      const n = (value: number) => integer.format(value);
      process.stdout.write(
        [
          ...(url ? [say(`Dashboard: ${url}/`, `控制台：${url}/`)] : []),
          signIn,
          say(
            `Project: ${project.name} (${project.id}), ${project.timeZone}, ${project.currency}`,
            `项目：${project.name}（${project.id}），${project.timeZone}，${project.currency}`,
          ),
          say(`Write key: ${writeKey.key}`, `写入密钥：${writeKey.key}`),
          say(
            `Last 30 days: plays ${n(kpis.plays)} · orders ${n(kpis.orders)} · GMV ¥${n(kpis.gmv)} · ad spend ¥${n(kpis.adSpend)} · ROAS ${kpis.roas.toFixed(2)}`,
            `近 30 天：播放 ${n(kpis.plays)} · 订单 ${n(kpis.orders)} · GMV ¥${n(kpis.gmv)} · 广告花费 ¥${n(kpis.adSpend)} · ROAS ${kpis.roas.toFixed(2)}`,
          ),
          say(
            `All time: ${n(kpis.events)} events from ${n(kpis.persons)} distinct ids`,
            `全部时间：${n(kpis.events)} 个事件，来自 ${n(kpis.persons)} 个不同标识`,
          ),
          '',
        ].join('\n'),
      );
    });
}
