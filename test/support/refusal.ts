import { PulseloopError } from '../../src/errors/registry.js';

/** The PulseloopError a call throws (fails the test when it throws nothing or something else). */
export function refusal(run: () => unknown): PulseloopError {
  try {
    run();
  } catch (error) {
    if (error instanceof PulseloopError) return error;
    throw new Error(`expected a PulseloopError, got ${String(error)}`);
  }
  throw new Error('expected a PulseloopError, nothing was thrown');
}
