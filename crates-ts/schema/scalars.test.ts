import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDatetime, MAX_DATETIME_MS, MIN_DATETIME_MS, normalizeDatetime, normalizeUuid, parseDatetimeString } from './scalars.js';

function pad(n: number, w = 2): string {
  return String(Math.abs(n)).padStart(w, '0');
}

describe('datetimes', () => {
  it('should normalise ISO strings with any offset and epoch ms to the same UTC instant', () => {
    const minMs = Date.parse('1000-01-01T00:00:00Z');
    const maxMs = Date.parse('9000-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: minMs, max: maxMs }), fc.integer({ min: -56, max: 56 }), fc.boolean(), (ms, q, colon) => {
        const off = q * 15; // minutes
        const local = new Date(ms + off * 60_000).toISOString().slice(0, -1); // wall clock in that zone
        const zone = off === 0 && q % 2 === 0 ? 'Z' : `${off < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(off) / 60))}${colon ? ':' : ''}${pad(Math.abs(off) % 60)}`;
        const expected = new Date(ms).toISOString();
        expect(normalizeDatetime(local + zone)).toBe(expected);
        expect(normalizeDatetime(ms)).toBe(expected);
      }),
    );
  });

  it('should format exactly like Date.toISOString over the whole 0000-9999 range', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_DATETIME_MS, max: MAX_DATETIME_MS }), (ms) => {
        expect(formatDatetime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5000 },
    );
    for (const ms of [MIN_DATETIME_MS, MAX_DATETIME_MS, 0, -1, 951782400000 /* 2000-02-29 */, -2203891200000]) {
      expect(formatDatetime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('should agree with Date.parse over the whole 0000-9999 range, leap days included', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_DATETIME_MS, max: MAX_DATETIME_MS }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(parseDatetimeString(iso)).toBe(ms);
        expect(parseDatetimeString(iso.slice(0, 10))).toBe(Date.parse(iso.slice(0, 10)));
      }),
      { numRuns: 2000 },
    );
  });

  it('should treat a missing zone as UTC and accept date-only and minute precision', () => {
    expect(normalizeDatetime('2015-01-20')).toBe('2015-01-20T00:00:00.000Z');
    expect(normalizeDatetime('2015-01-20T12:34:56')).toBe('2015-01-20T12:34:56.000Z');
    expect(normalizeDatetime('2015-01-20T12:34:56-04:00')).toBe('2015-01-20T16:34:56.000Z');
    expect(normalizeDatetime('2015-01-20 12:34')).toBe('2015-01-20T12:34:00.000Z');
    expect(normalizeDatetime('2015-01-20T12:34:56.123456789+0530')).toBe('2015-01-20T07:04:56.123Z');
    expect(normalizeDatetime('0099-03-01T00:00:00Z')).toBe('0099-03-01T00:00:00.000Z'); // not 1999
    expect(normalizeDatetime('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    expect(normalizeDatetime('2000-02-29')).toBe('2000-02-29T00:00:00.000Z');
    expect(normalizeDatetime('1900-02-29')).toBeNull();
    expect(normalizeDatetime('2015-01-20T12:34:56.000Z')).toBe('2015-01-20T12:34:56.000Z');
    expect(normalizeDatetime('2015-02-30T12:34:56.000Z')).toBeNull(); // canonical-looking but impossible
    expect(normalizeDatetime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(normalizeDatetime(MIN_DATETIME_MS)).toBe('0000-01-01T00:00:00.000Z');
    expect(normalizeDatetime(MAX_DATETIME_MS)).toBe('9999-12-31T23:59:59.999Z');
  });

  it('should reject impossible dates, junk and out-of-range instants', () => {
    for (const bad of ['2023-02-29', '2015-13-01', '2015-01-32', '2015-01-20T24:00:00', '2015-01-20T12:60', 'yesterday', '20150120', '2015-01-20T12:00:00+25:00', '']) {
      expect(normalizeDatetime(bad), bad).toBeNull();
    }
    expect(normalizeDatetime(1.5)).toBeNull();
    expect(normalizeDatetime(MAX_DATETIME_MS + 1)).toBeNull();
    expect(normalizeDatetime('0000-01-01T00:00:00+01:00')).toBeNull(); // year -1 in UTC
  });
});

describe('uuids', () => {
  it('should normalise any case and the 32-digit form, and reject others', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        expect(normalizeUuid(u.toUpperCase())).toBe(u);
        expect(normalizeUuid(u.replace(/-/g, ''))).toBe(u);
        expect(normalizeUuid(`{${u}}`)).toBeNull();
      }),
    );
    expect(normalizeUuid('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g')).toBeNull();
  });
});
