import { open, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { replaceFileDurably } from '../lib/durable-file.js';
import type { CompactTier } from './dedupe.js';

/**
 * The dedupe window's compact tier on disk, so that a restart reads its ids back from a file at disk
 * speed instead of from the store at ~7 µs an id (173M ids, 48 hours at 1,000 events/s: 20 minutes).
 * Written every few minutes while ids come in, at every hour's turn and at shutdown; after a crash,
 * the ids received since the snapshot was taken are read from the store as before.
 *
 * Layout: "PLDEDUP1" | u32 header length | header JSON | each table's slots (u32) | u32 crc32
 * of all before it. A file that is cut short, changed, or does not add up is not used (the window is
 * then read from the store in full), so a snapshot can never make the window wrong, only slower to fill;
 * and a compact entry that is wrong anyway costs a store lookup, not an event.
 */

const MAGIC = Buffer.from('PLDEDUP1', 'ascii');
/** Slots are written and checked in pieces of this many bytes. */
const CHUNK_BYTES = 4 << 20;

interface Header {
  /** Slots are written in the machine's byte order; a file from another order is not used. */
  endianness: string;
  coveredUntil: number;
  windowHours: number;
  hour: number;
  /** Absent in files written before it was recorded. */
  keptHours?: number;
  tables: { projectId: string; slots: number }[];
}

function isHeader(value: unknown): value is Header {
  const header = value as Header;
  return (
    typeof header === 'object' &&
    header !== null &&
    Number.isFinite(header.coveredUntil) &&
    Number.isInteger(header.windowHours) &&
    Number.isInteger(header.hour) &&
    (header.keptHours === undefined || (Number.isInteger(header.keptHours) && header.keptHours >= 0)) &&
    Array.isArray(header.tables) &&
    header.tables.every(
      (table) =>
        typeof table?.projectId === 'string' &&
        Number.isInteger(table.slots) &&
        table.slots > 0 &&
        // Two words a slot.
        table.slots % 2 === 0,
    )
  );
}

function chunksOf(slots: Uint32Array<ArrayBufferLike>): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < slots.byteLength; offset += CHUNK_BYTES) {
    const length = Math.min(CHUNK_BYTES, slots.byteLength - offset);
    chunks.push(Buffer.from(slots.buffer, slots.byteOffset + offset, length));
  }
  return chunks;
}

/** Writes the tier to `path` (through a temporary file and a rename: a crash leaves the old one). */
export async function writeWindowSnapshot(path: string, tier: CompactTier): Promise<void> {
  const header: Header = {
    endianness: endianness(),
    coveredUntil: tier.coveredUntil,
    windowHours: tier.windowHours,
    hour: tier.hour,
    ...(tier.keptHours !== undefined ? { keptHours: tier.keptHours } : {}),
    tables: tier.tables.map((table) => ({ projectId: table.projectId, slots: table.slots.length })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length);
  await replaceFileDurably(path, async (file) => {
    let crc = crc32(MAGIC);
    crc = crc32(length, crc);
    crc = crc32(headerBytes, crc);
    await file.write(Buffer.concat([MAGIC, length, headerBytes]));
    // The window goes on taking ids between the writes: each piece is copied before it is summed and
    // written, so that the file's bytes are the summed ones. Pieces copied later may hold ids added
    // since the first. Ids leave a table only by expiry, which moves the entries after an expired one
    // back a few slots: one moved back across a piece already written is missed (its re-delivery after
    // a restart would be stored again, and folded by queries); every other id is there.
    const copy = Buffer.allocUnsafe(CHUNK_BYTES);
    for (const table of tier.tables) {
      for (const chunk of chunksOf(table.slots)) {
        const piece = copy.subarray(0, chunk.length);
        chunk.copy(piece);
        crc = crc32(piece, crc);
        await file.write(piece);
      }
    }
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(crc);
    await file.write(trailer);
  });
}

export type SnapshotRead = { tier: CompactTier } | { missing: true } | { unusable: string };

/** Reads a snapshot back; `unusable` says why a file that is there cannot be used. */
export async function readWindowSnapshot(path: string): Promise<SnapshotRead> {
  try {
    return await readSnapshotFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    // Unreadable (a directory, an I/O error, no memory for it): the window is read from the store.
    return { unusable: `it cannot be read (${(error as Error).message})` };
  }
}

async function readSnapshotFile(path: string): Promise<SnapshotRead> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const read = async (bytes: Buffer, position: number): Promise<boolean> =>
      (await file.read(bytes, 0, bytes.length, position)).bytesRead === bytes.length;
    const start = Buffer.alloc(MAGIC.length + 4);
    if (!(await read(start, 0)) || !start.subarray(0, MAGIC.length).equals(MAGIC))
      return { unusable: 'not a dedupe window snapshot' };
    const headerLength = start.readUInt32LE(MAGIC.length);
    if (start.length + headerLength > size) return { unusable: 'cut short in its header' };
    const headerBytes = Buffer.alloc(headerLength);
    if (!(await read(headerBytes, start.length))) return { unusable: 'cut short in its header' };
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch {
      return { unusable: 'its header is not JSON' };
    }
    if (!isHeader(header)) return { unusable: 'its header is not one of a snapshot' };
    if (header.endianness !== endianness()) return { unusable: 'written on a machine of another byte order' };
    const slotBytes = header.tables.reduce((sum, table) => sum + table.slots * 4, 0);
    if (size !== start.length + headerBytes.length + slotBytes + 4)
      return { unusable: `its size (${size} bytes) does not match its header` };
    let crc = crc32(headerBytes, crc32(start));
    let position = start.length + headerBytes.length;
    const tables: CompactTier['tables'] = [];
    for (const { projectId, slots: count } of header.tables) {
      const slots = new Uint32Array(count);
      for (const chunk of chunksOf(slots)) {
        if (!(await read(chunk, position))) return { unusable: 'cut short' };
        crc = crc32(chunk, crc);
        position += chunk.length;
      }
      tables.push({ projectId, slots });
    }
    const trailer = Buffer.alloc(4);
    if (!(await read(trailer, position)) || trailer.readUInt32LE() !== crc)
      return { unusable: 'its checksum does not match (changed while written, or damaged)' };
    return {
      tier: {
        coveredUntil: header.coveredUntil,
        windowHours: header.windowHours,
        hour: header.hour,
        ...(header.keptHours !== undefined ? { keptHours: header.keptHours } : {}),
        tables,
      },
    };
  } finally {
    await file.close();
  }
}

/** Removes a snapshot (one found unusable is not read again at the next start). */
export async function removeWindowSnapshot(path: string): Promise<void> {
  await rm(path, { force: true });
}
