import type { FactsEngine, QueryParams } from './engine.js';

/**
 * Rows read per page. The embedded engine hands an answer over as one string, and a string holds at
 * most 512 MiB: a large table read in one answer (millions of ids) fails outright. 250,000 rows of
 * the longest values the store takes stay well under that.
 */
export const KEY_PAGE_ROWS = 250_000;

/**
 * Rows per page of persons with their traits: a profile with many (encrypted) traits runs to kilobytes,
 * and 250,000 of 2 KB would come near the limit.
 */
export const PERSON_PAGE_ROWS = 25_000;

export interface KeyPagesQuery<Row> {
  /** The first page: a SELECT ordered by the table's sort key, with `LIMIT {limit:UInt32}`. */
  first: string;
  /** The pages after it: the same, with a condition that the key is past the cursor's parameters. */
  next: string;
  params?: QueryParams;
  /** Rows a page (KEY_PAGE_ROWS unless set: fewer when rows are large). */
  pageRows?: number;
  /** The cursor's parameters, from the last row of a page. */
  cursor(last: Row): QueryParams;
  /** Awaited before the next page is read. */
  onPage(rows: Row[]): void | Promise<void>;
}

/**
 * Reads an answer too large to hold at once in pages along a table's sort key, each starting after
 * the last row of the one before (the store reads each as one range of its key). Answers the rows read.
 */
export async function readInKeyPages<Row>(engine: FactsEngine, query: KeyPagesQuery<Row>): Promise<number> {
  let read = 0;
  let cursor: QueryParams | undefined;
  for (;;) {
    const limit = query.pageRows ?? KEY_PAGE_ROWS;
    const params = { ...query.params, ...cursor, limit };
    const page = await engine.query<Row>(cursor ? query.next : query.first, params);
    await query.onPage(page);
    read += page.length;
    if (page.length < limit) return read;
    cursor = query.cursor(page.at(-1)!);
  }
}
