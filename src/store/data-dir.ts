import { accessSync, constants, mkdirSync } from 'node:fs';
import { detailText, PulseloopError } from '../errors/registry.js';

/**
 * Creates a directory of the data directory (PULSELOOP_DATA), or says which setting to change: a
 * path that is a file, read-only or not permitted is the user's to fix, not a crash.
 */
export function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    // An existing directory another user made is found here, not by the engine's stack trace.
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = REASONS[code];
    throw new PulseloopError('data_dir_unusable', {
      dir,
      ...(reason ? detailText(reason.en, reason.zh) : { detail: (error as Error).message }),
    });
  }
}

const REASONS: Record<string, { en: string; zh: string }> = {
  ENOTDIR: { en: 'a file is in the way', zh: '路径上有同名文件' },
  EEXIST: { en: 'a file is in the way', zh: '路径上有同名文件' },
  EACCES: { en: 'permission denied', zh: '没有权限' },
  EPERM: { en: 'permission denied', zh: '没有权限' },
  EROFS: { en: 'the file system is read-only', zh: '文件系统为只读' },
  ENOSPC: { en: 'the disk is full', zh: '磁盘已满' },
  ENOENT: { en: 'a part of the path is a broken link', zh: '路径中有失效的链接' },
};
