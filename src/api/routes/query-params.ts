import { detailText, PulseloopError } from '../../errors/registry.js';

/** Query-string and path values the read routes share, each checked with an error naming it. */

/** A whole number from `min` to `max` in query value `field`, `fallback` when absent. */
function wholeNumberOf(value: string | undefined, field: string, min: number, max: number, fallback: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new PulseloopError('invalid_query', {
      field,
      ...detailText(`expected a whole number ${min}–${max}`, `必须是 ${min} 到 ${max} 之间的整数`),
    });
  }
  return n;
}

/** A page's size (50 when absent), 1 to `max`. */
export const limitOf = (value: string | undefined, max: number): number =>
  wholeNumberOf(value, 'limit', 1, max, 50);

/** A page's first row (0 when absent), up to `max`. */
export const offsetOf = (value: string | undefined, max: number): number =>
  wholeNumberOf(value, 'offset', 0, max, 0);

export function platformsOf(value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const platforms = value.split(',');
  if (platforms.length > 50 || platforms.some((p) => p === '' || p.length > 100)) {
    throw new PulseloopError('invalid_query', {
      field: 'platform',
      ...detailText(
        'expected at most 50 comma-separated platform ids of 1–100 characters',
        '必须是以逗号分隔的平台 ID，最多 50 个，每个 1–100 个字符',
      ),
    });
  }
  return platforms;
}

/** An event name to filter on ('' when absent). */
export function eventNameOf(value: string | undefined): string {
  if (value === undefined) return '';
  if (value.length > 200) {
    throw new PulseloopError('invalid_query', {
      field: 'event',
      ...detailText('expected an event name of at most 200 characters', '事件名最多 200 个字符'),
    });
  }
  return value.trim();
}

export function beforeOf(value: string | undefined): number {
  if (value === undefined) return Date.now() + 86_400_000;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new PulseloopError('invalid_query', {
      field: 'before',
      ...detailText('expected UTC milliseconds', '必须是 UTC 毫秒时间戳'),
    });
  }
  return n;
}

/** A person, distinct or user id from the path: bounded, so a hostile path cannot become a huge query. */
export function idParam(id: string): string {
  if (id.length === 0 || id.length > 200) {
    throw new PulseloopError('invalid_request', {
      ...detailText(
        'the id in the path must have 1 to 200 characters.',
        '路径中的 ID 必须为 1 到 200 个字符。',
      ),
    });
  }
  return id;
}

/** One of a few words (`choices`), `fallback` when absent. */
export function choiceOf<const C extends string>(
  value: string | undefined,
  field: string,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as C;
  const list = choices.map((c) => `"${c}"`).join(', ');
  throw new PulseloopError('invalid_query', {
    field,
    ...detailText(`expected one of ${list}`, `必须是 ${list} 之一`),
  });
}
