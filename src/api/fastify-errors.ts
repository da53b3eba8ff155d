import type { FastifyError } from 'fastify';
import { detailText, PulseloopError } from '../errors/registry.js';

/**
 * Errors Fastify answers itself (before any route runs), as errors in both languages with the
 * shape of every other error: its own messages are English only. Bodies reach the routes raw
 * (every content type is read as bytes), so what is left is a malformed path and anything else
 * below 500, which keeps its English.
 */
export function fastifyClientError(error: FastifyError): PulseloopError {
  if (error.code === 'FST_ERR_BAD_URL') {
    return new PulseloopError(
      'invalid_request',
      detailText(
        'the path is not a valid URL: "%" must start an escape such as %20.',
        '路径不是有效的 URL："%" 必须用于转义，例如 %20。',
      ),
    );
  }
  return new PulseloopError('invalid_request', { detail: error.message });
}
