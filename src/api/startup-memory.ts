import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Start-up parses the identity graph and the dedupe window out of query results: hundreds of MB of
 * short-lived objects for a large store, which an idle server never allocates enough to collect.
 * One full collection once loading is done gives that memory back before the server waits for
 * traffic (idle memory is one of the product's targets).
 */
type GcFunction = () => void;

export function collectStartupGarbage(): void {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (!gc) {
    // `gc` is only reachable with --expose-gc; setting the flag now exposes it to new contexts.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as GcFunction;
  }
  // The first collection frees the objects; the pages it emptied go back to the system at the next.
  gc();
  gc();
}
