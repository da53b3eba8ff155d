import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FACTS_TABLES, type FactsTable } from '../store/facts/schema.js';

/**
 * The write-ahead log: an acknowledged request is on disk before the client hears 200.
 *
 * A segment file is a sequence of frames:
 *   u32 payload length | u32 crc32(payload) | u8 table index | u32 row count | payload
 * where the payload is that table's rows — the same bytes the batch writer later hands to the facts
 * store, so each event is serialised exactly once. The rows are newline-terminated JSONEachRow, or
 * RowBinary in every column of the table's binary layout when the table index byte has its high bit
 * set (`events`, see event-binary.ts; logs written before binary rows hold JSON only).
 *
 * Appends are group-committed: every append waiting while a write+fdatasync runs goes into the
 * next single write+fdatasync. A torn frame at the end (crash mid-write) was never acknowledged
 * and is cut off when the log is reopened.
 */

export interface WalRecord {
  table: FactsTable;
  /** JSONEachRow rows, each ending with '\n', or RowBinary rows when `format` says so. */
  rows: Buffer;
  rowCount: number;
  /** Absent: JSONEachRow. */
  format?: 'RowBinary';
}

/** The table index byte's high bit: the frame's rows are RowBinary. */
const BINARY_ROWS_FLAG = 0x80;

/** A place in the log: segment number and byte offset in it. Ordered by (segment, offset). */
export interface WalPosition {
  segment: number;
  offset: number;
}

export interface WalOptions {
  /** A segment is closed and a new one started beyond this size. */
  segmentBytes?: number;
}

const HEADER_BYTES = 13;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export function comparePositions(a: WalPosition, b: WalPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}

export function formatPosition(p: WalPosition): string {
  return `${p.segment}.${p.offset}`;
}

function segmentName(segment: number): string {
  return `${String(segment).padStart(10, '0')}.wal`;
}

/** The segment numbers present in a WAL directory, ascending. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => /^\d{10}\.wal$/.test(name))
    .map((name) => Number(name.slice(0, 10)))
    .sort((a, b) => a - b);
}

export function encodeFrame(record: WalRecord): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(record.rows.length, 0);
  header.writeUInt32LE(crc32(record.rows), 4);
  const binary = record.format === 'RowBinary' ? BINARY_ROWS_FLAG : 0;
  header.writeUInt8(FACTS_TABLES.indexOf(record.table) | binary, 8);
  header.writeUInt32LE(record.rowCount, 9);
  return header;
}

export interface DecodedFrame extends WalRecord {
  /** Position just after this frame. */
  end: WalPosition;
}

/**
 * Reads the valid frames of one segment from a byte offset. Stops at the first torn or corrupt
 * frame and reports where the valid data ends.
 */
export function readSegment(
  dir: string,
  segment: number,
  fromOffset = 0,
): { frames: DecodedFrame[]; validBytes: number } {
  const data = readFileSync(join(dir, segmentName(segment)));
  const frames: DecodedFrame[] = [];
  let offset = fromOffset;
  while (offset + HEADER_BYTES <= data.length) {
    const length = data.readUInt32LE(offset);
    const checksum = data.readUInt32LE(offset + 4);
    const tableByte = data.readUInt8(offset + 8);
    const rowCount = data.readUInt32LE(offset + 9);
    const start = offset + HEADER_BYTES;
    const table = FACTS_TABLES[tableByte & ~BINARY_ROWS_FLAG];
    if (start + length > data.length || table === undefined) break;
    const rows = data.subarray(start, start + length);
    if (crc32(rows) !== checksum) break;
    offset = start + length;
    const frame: DecodedFrame = { table, rows, rowCount, end: { segment, offset } };
    if (tableByte & BINARY_ROWS_FLAG) frame.format = 'RowBinary';
    frames.push(frame);
  }
  return { frames, validBytes: offset };
}

interface PendingAppend {
  buffers: Buffer[];
  bytes: number;
  resolve: (end: WalPosition) => void;
  reject: (error: Error) => void;
}

export interface Wal {
  readonly dir: string;
  /** Appends records as one group; resolves with the position after them once they are fsynced. */
  append(records: WalRecord[]): Promise<WalPosition>;
  /** Position after the last durable frame. */
  end(): WalPosition;
  /**
   * Deletes whole segments that end before the given position, off the serving thread: unlinking a
   * 64 MiB segment took ~16 ms here (ext4 with discard), a stall of every request in flight.
   */
  removeSegmentsBefore(position: WalPosition): Promise<void>;
  /**
   * Closes the current segment and starts a new one (an erasure does, so that the segments holding
   * the erased person's events can be deleted once stored); resolves with the new segment's start.
   */
  startNewSegment(): Promise<WalPosition>;
  close(): Promise<void>;
}

/** Opens (or creates) the log in a directory, cutting off a torn tail left by a crash. */
export async function openWal(dir: string, options: WalOptions = {}): Promise<Wal> {
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  mkdirSync(dir, { recursive: true });
  const segments = listSegments(dir);
  let segment = segments.at(-1) ?? 1;
  let offset = 0;
  const path = (n: number) => join(dir, segmentName(n));
  if (segments.length > 0) {
    const { validBytes } = readSegment(dir, segment);
    offset = validBytes;
    if (statSync(path(segment)).size !== validBytes) {
      // Only an unacknowledged, torn write can lie past the last valid frame.
      const fd = openSync(path(segment), 'r+');
      try {
        ftruncateSync(fd, validBytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  let handle: FileHandle = await open(path(segment), 'a');
  let durableEnd: WalPosition = { segment, offset };
  let queue: PendingAppend[] = [];
  let writing = false;
  let closed = false;

  async function rotate(): Promise<void> {
    await handle.close();
    segment += 1;
    offset = 0;
    handle = await open(path(segment), 'a');
    // Make the new file's directory entry durable too.
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  async function drain(): Promise<void> {
    writing = true;
    try {
      while (queue.length > 0) {
        const group = queue;
        queue = [];
        try {
          if (offset >= segmentBytes) await rotate();
          const buffers = group.flatMap((p) => p.buffers);
          const bytes = group.reduce((sum, p) => sum + p.bytes, 0);
          await handle.writev(buffers);
          await handle.datasync();
          offset += bytes;
          durableEnd = { segment, offset };
          for (const p of group) p.resolve(durableEnd);
        } catch (error) {
          for (const p of group) p.reject(error as Error);
        }
      }
    } finally {
      writing = false;
    }
  }

  return {
    dir,
    append(records: WalRecord[]): Promise<WalPosition> {
      if (closed) return Promise.reject(new Error('The write-ahead log is closed.'));
      const buffers: Buffer[] = [];
      let bytes = 0;
      for (const record of records) {
        const header = encodeFrame(record);
        buffers.push(header, record.rows);
        bytes += header.length + record.rows.length;
      }
      return new Promise<WalPosition>((resolve, reject) => {
        queue.push({ buffers, bytes, resolve, reject });
        if (!writing) void drain();
      });
    },
    end: () => durableEnd,
    async startNewSegment(): Promise<WalPosition> {
      // Wait for the group being written; appends meanwhile queue and are written after the switch.
      while (writing) await new Promise((r) => setTimeout(r, 1));
      writing = true;
      try {
        if (offset > 0) await rotate();
        durableEnd = { segment, offset };
      } finally {
        writing = false;
      }
      if (queue.length > 0) void drain();
      return durableEnd;
    },
    async removeSegmentsBefore(position: WalPosition): Promise<void> {
      const old = listSegments(dir).filter((n) => n < position.segment);
      await Promise.all(old.map((n) => rm(path(n), { force: true })));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      while (writing || queue.length > 0) await new Promise((r) => setTimeout(r, 5));
      await handle.close();
    },
  };
}
