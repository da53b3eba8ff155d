import { describe, expect, it } from 'vitest';
import { uuidV7 } from '../../src/lib/uuid-v7.js';

describe('UUID v7', () => {
  it('is a version-7, RFC variant UUID carrying its millisecond', () => {
    const at = Date.UTC(2026, 10, 30, 14, 0, 0, 123);
    const id = uuidV7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts ids of later milliseconds after earlier ones, and never repeats', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => uuidV7(1_700_000_000_000 + Math.floor(i / 10)));
    for (let i = 10; i < ids.length; i += 10) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
