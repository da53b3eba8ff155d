import { EVENT_BINARY_COLUMNS, EVENT_INT64_COLUMNS } from '../../src/store/facts/event-binary.js';
import type { EventRow } from '../../src/store/facts/rows.js';

/** An `events` row with every column at the store's default: '' for text, 0 for times and amounts. */
export const EMPTY_EVENT: Readonly<EventRow> = Object.freeze(
  Object.fromEntries(
    EVENT_BINARY_COLUMNS.map((column) => [column, EVENT_INT64_COLUMNS.has(column) ? 0 : '']),
  ) as unknown as EventRow,
);
