import { listDetail, PulseloopError } from '../../../errors/registry.js';
import { adSpend } from './ad-spend.js';
import { comments } from './comments.js';
import { contentStats } from './content-stats.js';
import { events } from './events.js';
import { orders } from './orders.js';
import { persons } from './persons.js';
import type { KindSpec } from './types.js';

/** Every kind of file the importer takes, by the name `--kind` uses. */
export const IMPORT_KINDS = {
  content_stats: contentStats,
  ad_spend: adSpend,
  orders,
  comments,
  events,
  persons,
} as const satisfies Record<string, KindSpec>;
export type ImportKind = keyof typeof IMPORT_KINDS;

export function isImportKind(value: unknown): value is ImportKind {
  return typeof value === 'string' && Object.hasOwn(IMPORT_KINDS, value);
}

/** The kind's specification; import_unknown_kind when there is none of that name. */
export function kindSpec(kind: string): KindSpec {
  if (!isImportKind(kind)) {
    throw new PulseloopError('import_unknown_kind', {
      value: kind,
      ...listDetail('kinds', Object.keys(IMPORT_KINDS)),
    });
  }
  return IMPORT_KINDS[kind];
}
