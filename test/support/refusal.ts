import { PulseloopError } from '../../src/errors/registry.js';

/** The PulseloopError a call throws (any other outcome fails the test). */
export function refusal(run: () => unknown): PulseloopError {
  try {
    run();
  } catch (error) {
    if (error instanceof PulseloopError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
