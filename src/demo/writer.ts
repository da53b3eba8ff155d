import { type FactsEngine, insertRows } from '../store/facts/engine.js';
import type { ChunkRows } from './chunk.js';
import {
  attachLoadedEventsSql,
  createEventLoadSql,
  createStagingSql,
  expandVisitsSql,
  rollupStagedSql,
} from './event-expansion.js';
import { STAGING_COLUMNS } from './event-plan.js';

/**
 * Rows of one table from the chunks generated so far, kept as the chunks' own buffers until they are
 * written: the engine's insert takes the pieces as they are, where appending them to one buffer
 * copied every byte once more on the thread that feeds the engine (~0.9 s of a scale-1 world).
 */
export class PendingRows {
  private pieces: Buffer[] = [];
  lines = 0;

  add(rows: ChunkRows): void {
    if (rows.lines === 0) return;
    this.pieces.push(Buffer.from(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.byteLength));
    this.lines += rows.lines;
  }

  /** The pieces so far; the rows start over empty. */
  take(): Buffer[] {
    const pieces = this.pieces;
    this.pieces = [];
    this.lines = 0;
    return pieces;
  }
}

/**
 * Sends the world to the facts engine. Writes run one at a time, in order, while JavaScript goes
 * on generating (the engine works on its own threads). A batch of visits waits only for the batch
 * of visits before it, so at most one is in flight. Staged visits are expanded into events in a
 * few large steps: fewer, larger inserts write fewer parts, which the engine would otherwise merge
 * in the background while generation runs. Events are expanded into a load table and attached to
 * `events` from there, and the hourly rollup is filled from the staged visits (event-expansion.ts).
 */
export class FactsWriter {
  private queue: Promise<void> = Promise.resolve();
  private previousVisits: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly engine: FactsEngine,
    private readonly stagingTable: string,
    private readonly loadTable: string,
    private readonly expansionParams: Record<string, unknown>,
    /** UTC month boundaries: visits are expanded one month at a time. */
    private readonly months: number[],
  ) {}

  async prepare(): Promise<void> {
    await this.dropWorkTables();
    await this.engine.command(createStagingSql(this.stagingTable));
    await this.engine.command(createEventLoadSql(this.loadTable));
    // Its parts are attached to `events` and merged once by the compaction that follows; merging
    // them here as well ran beside the next month's expansion for nothing (scale 1, AMD host, three
    // alternating pairs: generation 18.4–21.1 s against 20.5–25.6 s, 3–6 CPU-s less in all).
    await this.engine.command(`SYSTEM STOP MERGES ${this.loadTable}`);
  }

  /** Queues visits for the staging table; waits while the previous batch is still being inserted. */
  async stageVisits(visits: PendingRows): Promise<void> {
    if (visits.lines === 0) return;
    await this.previousVisits;
    this.throwIfFailed();
    const payload = visits.take();
    this.previousVisits = this.enqueue(() =>
      insertRows(this.engine, this.stagingTable, payload, {
        format: 'RowBinary',
        columns: STAGING_COLUMNS,
      }),
    );
  }

  /**
   * Queues the expansion of everything staged into `events` (one month at a time, into the load
   * table, then attached), its rollup, then empties the staging table. Events go in before the rollup:
   * were the run stopped between the two, the rollup would lack them, which the metrics compiler's
   * check against `events` notices (the other way round, it would count events that are not there).
   */
  expandStaged(): void {
    this.enqueue(async () => {
      for (let m = 0; m + 1 < this.months.length; m++) {
        const range = { fromMs: this.months[m], toMs: this.months[m + 1] };
        await this.engine.command(expandVisitsSql(this.stagingTable, this.loadTable), {
          ...this.expansionParams,
          ...range,
        });
      }
      for (const sql of attachLoadedEventsSql(this.loadTable)) await this.engine.command(sql);
      await this.engine.command(rollupStagedSql(this.stagingTable), this.expansionParams);
      await this.engine.command(`TRUNCATE TABLE ${this.stagingTable}`);
    });
  }

  /** Queues RowBinary rows for a facts table, in `columns` (the others take their defaults). */
  writeBinaryRows(table: string, rows: PendingRows, columns: readonly string[]): void {
    if (rows.lines === 0) return;
    const payload = rows.take();
    this.enqueue(() => insertRows(this.engine, table, payload, { format: 'RowBinary', columns }));
  }

  /** Queues JSONEachRow lines for a facts table. */
  writeRows(table: string, rows: PendingRows | string[]): void {
    if (Array.isArray(rows) ? rows.length === 0 : rows.lines === 0) return;
    const payload = Array.isArray(rows) ? Buffer.from(rows.join('\n')) : rows.take();
    this.enqueue(() => this.engine.insertJsonEachRow(table, payload));
  }

  /** Waits for everything queued, then drops the work tables. */
  async finish(): Promise<void> {
    await this.queue;
    this.throwIfFailed();
    await this.dropWorkTables();
  }

  /**
   * Drops the work tables after a failure, without masking the original error. Nothing queued from
   * here on runs (chunks still arriving while the generator threads stop), and staging throws.
   */
  async abandon(): Promise<void> {
    this.failure ??= new Error('demo generation was abandoned');
    await this.queue;
    await this.dropWorkTables({ ignoreErrors: true });
  }

  /** Drops the staging and load tables (each tried, after a failure, whatever the other did). */
  private async dropWorkTables(options: { ignoreErrors?: boolean } = {}): Promise<void> {
    for (const table of [this.stagingTable, this.loadTable]) {
      const dropping = this.engine.command(`DROP TABLE IF EXISTS ${table}`);
      await (options.ignoreErrors ? dropping.catch(() => undefined) : dropping);
    }
  }

  // Each step runs after the previous one; a failure skips the rest and is reported at the next wait.
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => (this.failure === undefined ? step() : undefined));
    this.queue = run.catch((error: unknown) => {
      this.failure ??= error;
    });
    return this.queue;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
