import { Value } from '@sinclair/typebox/value';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { problemZh, typeboxProblem } from '../../errors/schema-errors.js';
import type { ConnectorDefinition } from './types.js';

/** Validates stored or given settings against the connector's schema, filling defaults; connector_invalid_config otherwise. */
export function parseConnectorConfig<Config>(
  definition: Pick<ConnectorDefinition<Config>, 'id' | 'configSchema'>,
  raw: unknown,
): Config {
  const { id: connector, configSchema: schema } = definition;
  // Convert turns text from command-line flags into the numbers (and numbers into the texts) the schema wants.
  const value = Value.Convert(schema, Value.Default(schema, Value.Clone(raw ?? {})));
  if (Value.Check(schema, value)) return value as Config;
  const first = Value.Errors(schema, value).First();
  const path = first?.path ? first.path.replace(/^\//, '') : '';
  const problem = first && typeboxProblem(first);
  throw new PulseloopError('connector_invalid_config', {
    connector,
    ...(problem
      ? detailText(`${path || 'settings'}: ${problem.message}`, `${path || '配置'}：${problemZh(problem)}`)
      : detailText('the settings do not match.', '配置与要求不符。')),
  });
}

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function dayIn(timeZone: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** The day `days` after (or before, when negative) a YYYY-MM-DD day. */
export function addDays(day: string, days: number): string {
  const at = new Date(`${day}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

/**
 * Parses a platform's JSON keeping 64-bit ids exact: numbers of 16 or more digits under a key
 * ending in `id` become strings before parsing (JSON.parse would round them to doubles).
 */
export function parseJsonKeepingIds(text: string): unknown {
  return JSON.parse(text.replace(/("[A-Za-z0-9_]*id"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

/** The earlier of two YYYY-MM-DD days (they sort as text). */
export function earlierDay(a: string, b: string): string {
  return [a, b].sort()[0]!;
}

/** The later of two YYYY-MM-DD days. */
export function laterDay(a: string, b: string): string {
  return [a, b].sort()[1]!;
}
