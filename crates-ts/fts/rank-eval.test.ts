import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { epochMs } from './rank-eval.js';
import { parseDatetimeString } from '../schema/scalars.js';
import { normalizeDatetime } from '../schema/index.js';

describe('epochMs', () => {
  it('should read canonical stored datetimes as the general parser does', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (t) => {
        const s = normalizeDatetime(t)!;
        expect(s).toHaveLength(24);
        expect(epochMs(s)).toBe(t);
        expect(epochMs(s)).toBe(parseDatetimeString(s));
      }),
    );
  });

  it('should fall back to the general parser for other forms', () => {
    expect(epochMs('2026-01-02')).toBe(Date.UTC(2026, 0, 2));
    expect(epochMs('2026-01-02T03:04:05+01:00')).toBe(Date.UTC(2026, 0, 2, 2, 4, 5));
    expect(epochMs('0999-01-01T00:00:00.000Z')).toBe(parseDatetimeString('0999-01-01T00:00:00.000Z'));
    expect(epochMs('not a date')).toBeUndefined();
  });
});
