import type { FactsEngine, QueryParams } from '../../src/store/facts/engine.js';

/**
 * The engine, recording the largest answer a query gave: the embedded engine returns an answer as one
 * string (at most 512 MiB), so what must scale to millions of rows has to read them in pages.
 */
export function recordingAnswerSizes(engine: FactsEngine): { engine: FactsEngine; largestAnswer(): number } {
  let largest = 0;
  return {
    engine: {
      ...engine,
      async query<Row>(sql: string, params?: QueryParams) {
        const rows = await engine.query<Row>(sql, params);
        largest = Math.max(largest, rows.length);
        return rows;
      },
    },
    largestAnswer: () => largest,
  };
}
