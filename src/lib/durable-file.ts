import { type FileHandle, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `path` with what `write` puts into a temporary file beside it: the file is synced, renamed
 * into place, and its directory synced, so that a crash leaves the old file or the new one, never a
 * part of one. Asynchronous: the disk waits do not hold up the requests being served.
 */
export async function replaceFileDurably(
  path: string,
  write: (file: FileHandle) => Promise<void>,
): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await write(file);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
