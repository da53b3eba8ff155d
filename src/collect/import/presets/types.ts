import type { ImportKind } from '../kinds/index.js';

/**
 * A preset knows the column names of one platform's export (Chinese and English, old and new
 * back-end versions) and the values the file does not say, such as the platform.
 */
export interface Preset {
  name: string;
  kind: ImportKind;
  en: string;
  zh: string;
  /** Values for fields that have no column (platform, channel, currency). */
  defaults: Record<string, string>;
  /** Canonical field → the column names this platform uses for it. */
  columns: Record<string, readonly string[]>;
}
