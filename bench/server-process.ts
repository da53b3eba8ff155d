import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INGEST_THREAD_NAME } from '../src/collect/ingest-threads.js';

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = here.split('/').includes('dist') ? join(here, '..', '..') : join(here, '..');

/** The built CLI entry point (benchmarks and process-level tests run the real `pulseloop serve`). */
export const CLI_ENTRY = join(repositoryRoot, 'dist', 'src', 'cli', 'main.js');

/** The words of the `pulseloop` command's shebang line, which sets how the server runs. */
const SHEBANG_WORDS = readFileSync(join(repositoryRoot, 'bin', 'pulseloop.js'), 'utf8')
  .split('\n', 1)[0]!
  .split(' ');

/**
 * The Node.js flags the `pulseloop` command runs with: its shebang line holds them (package.json's
 * demo and serve scripts run that file), so the benchmarks measure the server as users start it.
 *
 * `--initial-old-space-size`: with the server's small old generation (~50 MB), V8 keeps its next
 * full-collection limit within a few megabytes of the live size and, under ingestion, marks and
 * compacts the whole heap three or four times a second although little of it is garbage (measured:
 * ~23 full collections in 10 s, ~4 µs an event on the helper threads). A larger initial old space
 * lets the heap grow before the first full collections: 5 in 10 s, helper-thread CPU per event halved.
 * V8 accepts it only on the command line (not in NODE_OPTIONS, not at run time).
 */
export const SERVER_NODE_FLAGS: readonly string[] = SHEBANG_WORDS.filter((word) => word.startsWith('--'));

/**
 * The environment the shebang line gives the server.
 *
 * `GLIBC_TUNABLES=${GLIBC_TUNABLES}:glibc.malloc.trim_threshold=131072` (a user's own tunables kept):
 * Node.js allocates with glibc's malloc (the embedded ClickHouse with the jemalloc inside chdb, see
 * CHDB_MALLOC_CONF), whose default trim threshold follows the largest block freed so far (up to
 * 64 MB), so after start-up loads the identity graph the server kept ~40 MB of freed memory at the
 * top of its heap and more in its threads' arenas. A fixed
 * threshold gives it back: idle RSS with the demo world loaded ~495 → ~430 MiB (A/B, two rounds
 * each), ingestion throughput and demo generation unchanged within noise. glibc reads it only at
 * process start.
 */
export const SERVER_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  SHEBANG_WORDS.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => {
    const at = word.indexOf('=');
    // `${NAME}` as env -S expands it: the variable's value, or nothing when it is not set.
    const value = word
      .slice(at + 1)
      .replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => process.env[name] ?? '');
    return [word.slice(0, at), value];
  }),
);

/** Bytes as whole MiB, for the benchmark's lines and rows. */
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** What the server's /status says of its events table and its batch writer. */
export interface ServerStatus {
  tables: Array<{ table: string; rows: number; parts: number }>;
  writer: { pendingRows: number; lagMs: number };
  dedupeWindow?: { exactIds: number; compactIds: number; bytes: number };
}

export async function serverStatus(server: Pick<ServerProcess, 'url'>): Promise<ServerStatus> {
  return (await (await fetch(`${server.url}/status`)).json()) as ServerStatus;
}

/**
 * Runs a `pulseloop` command on a data directory, with the flags and environment of the command's
 * shebang line as users start it, and answers its standard output, trimmed.
 */
export function runCli(dataDir: string, ...args: string[]): string {
  return execFileSync(process.execPath, [...SERVER_NODE_FLAGS, CLI_ENTRY, ...args], {
    env: { ...process.env, ...SERVER_ENV, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  }).trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Resident memory now and at its peak, from /proc (bytes). */
  memory(): { rss: number; peakRss: number };
  /** CPU seconds each thread of the server has used so far, by thread kind (from /proc). */
  threadCpu(): Map<string, number>;
  /** Minor page faults the whole process has taken so far (from /proc). */
  pageFaults(): number;
  /**
   * Seconds the serving (main) thread has spent on a core, and runnable but waiting for one
   * (/proc schedstat): with both, a busy thread's share of the wall clock.
   */
  mainThreadSchedule(): { onCpuSeconds: number; waitingSeconds: number };
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What the process wrote to stdout and stderr so far. */
  output(): string;
  /**
   * Waits until the process has written `text` and answers everything written so far: /readyz can
   * answer before lines the process printed after it started listening have reached this side.
   */
  waitForOutput(text: string, timeoutMs?: number): Promise<string>;
}

export interface StartOptions {
  /** The `pulseloop` command line that serves (default `serve`; `demo` builds the world first). */
  command?: string[];
  /** How long to wait for /readyz (default 2 minutes). */
  readyTimeoutMs?: number;
}

/**
 * The fields of a /proc `stat` line after the command name (which is in parentheses and may hold
 * spaces): index 0 is the line's third field, the state.
 */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The user + system CPU seconds in a /proc `stat` line (of a process or of one of its threads). */
export function statCpuSeconds(stat: string): number {
  const ticksPerSecond = 100;
  const fields = statFields(stat);
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Thread names as the kernel reports them, folded into what they do. */
function threadKind(pid: number, tid: string, name: string): string {
  if (tid === String(pid)) return 'main thread';
  // Node's own threads (garbage collector helpers, libuv's file-system pool) are all named "node".
  if (name === 'node') return 'Node.js helper threads (GC, file writes)';
  if (name === INGEST_THREAD_NAME) return 'ingestion threads (preparing batches)';
  return 'embedded ClickHouse threads';
}

/** Starts `pulseloop serve` in its own process on a free port and waits until it is ready. */
export async function startServerProcess(
  dataDir: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const command = options.command ?? ['serve'];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeArgs, CLI_ENTRY, ...command], {
    env: {
      ...process.env,
      ...SERVER_ENV,
      PULSELOOP_DATA: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`pulseloop ${command.join(' ')} exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pulseloop ${command.join(' ')} did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    async waitForOutput(text, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (child.exitCode !== null || Date.now() > until)
          throw new Error(`pulseloop ${command.join(' ')} did not print "${text}":\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return output;
    },
    threadCpu() {
      const pid = child.pid ?? 0;
      const out = new Map<string, number>();
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        let stat: string;
        try {
          stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        } catch {
          continue; // the thread ended meanwhile
        }
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const seconds = statCpuSeconds(stat);
        const kind = threadKind(pid, tid, name);
        out.set(kind, (out.get(kind) ?? 0) + seconds);
      }
      return out;
    },
    pageFaults() {
      // minflt, the line's 10th field.
      return Number(statFields(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))[7]);
    },
    mainThreadSchedule() {
      const pid = child.pid ?? 0;
      const [onCpu = 0, waiting = 0] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')
        .split(' ')
        .map(Number);
      return { onCpuSeconds: onCpu / 1e9, waitingSeconds: waiting / 1e9 };
    },
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const field = (name: string) =>
        Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
      return { rss: field('VmRSS'), peakRss: field('VmHWM') };
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}

/** A server under ingestion load: its own data directory, one project and its write key. */
export interface IngestServer {
  dataDir: string;
  writeKey: string;
  server: ServerProcess;
}

/**
 * `pulseloop serve` on a fresh data directory with one project and write key, its rate limit out of
 * the way of the load; `env` adds settings. The directory is removed if the server does not start.
 */
export async function startIngestServer(
  label: string,
  env: Record<string, string> = {},
): Promise<IngestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `pulseloop-bench-${label}-`));
  try {
    const projectId = runCli(dataDir, 'projects', 'create', '--name', `Bench ${label}`);
    const writeKey = runCli(dataDir, 'keys', 'create', '--project', projectId);
    const server = await startServerProcess(dataDir, { PULSELOOP_RATE_LIMIT_PER_KEY: '1000000', ...env });
    return { dataDir, writeKey, server };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the server and removes its data directory. */
export async function stopIngestServer({ server, dataDir }: IngestServer): Promise<void> {
  await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
