import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inferIdType, parseId } from './ids.js';
import { expectElaxError } from './testing.js';

describe('parseId', () => {
  it('should accept u64 numbers up to 2^53-1 as uint ids', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseId(n, 'uint', 'x')).toBe(n);
        expect(parseId(n, undefined, 'x')).toBe(n);
      }),
    );
  });

  it('should reject fractions, negatives and unsafe integers explaining why', () => {
    expectElaxError(() => parseId(1.5, 'uint', 'upsert_rows[2]'), 'ELAX_ERR_INVALID_ID', 'upsert_rows[2]', 'not an integer');
    expectElaxError(() => parseId(-1, undefined, 'deletes[0]'), 'ELAX_ERR_INVALID_ID', 'deletes[0]', 'negative');
    expectElaxError(() => parseId(2 ** 53, 'uint', 'upsert_rows[7]'), 'ELAX_ERR_INVALID_ID', 'upsert_rows[7]', '2^53-1', 'string ids');
  });

  it('should normalise UUIDs to lowercase hyphenated form when the id type is uuid', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.boolean(), fc.boolean(), (u, upper, simple) => {
        let s = upper ? u.toUpperCase() : u;
        if (simple) s = s.replace(/-/g, '');
        expect(parseId(s, 'uuid', 'x')).toBe(u.toLowerCase());
      }),
    );
    expectElaxError(() => parseId('not-a-uuid', 'uuid', 'patch_rows[1]'), 'ELAX_ERR_INVALID_ID', 'patch_rows[1]', 'not a valid UUID');
    expectElaxError(() => parseId(5, 'uuid', 'deletes[3]'), 'ELAX_ERR_INVALID_ID', 'deletes[3]', 'ids are uuid');
  });

  it('should keep string ids verbatim (UUID-looking strings stay strings) and cap them at 64 UTF-8 bytes', () => {
    const u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
    expect(parseId(u, 'string', 'x')).toBe(u);
    expect(parseId(u, undefined, 'x')).toBe(u);
    expect(parseId('a'.repeat(64), 'string', 'x')).toBe('a'.repeat(64));
    expectElaxError(() => parseId('a'.repeat(65), 'string', 'upsert_rows[0]'), 'ELAX_ERR_INVALID_ID', 'upsert_rows[0]', '65 bytes');
    // 22 × 3-byte characters = 66 bytes although only 22 UTF-16 units.
    expectElaxError(() => parseId('€'.repeat(22), 'string', 'x'), 'ELAX_ERR_INVALID_ID', '66 bytes');
    expect(parseId('€'.repeat(21), 'string', 'x')).toBe('€'.repeat(21));
  });

  it('should refuse mixing id types', () => {
    expectElaxError(() => parseId('7', 'uint', 'upsert_rows[1]'), 'ELAX_ERR_INVALID_ID', 'upsert_rows[1]', 'ids are uint', 'mixing');
    expectElaxError(() => parseId(7, 'string', 'upsert_rows[1]'), 'ELAX_ERR_INVALID_ID', 'ids are strings');
    expectElaxError(() => parseId(null, 'string', 'upsert_rows[4]'), 'ELAX_ERR_INVALID_ID', 'upsert_rows[4]', 'missing');
    expectElaxError(() => parseId(true, undefined, 'upsert_rows[4]'), 'ELAX_ERR_INVALID_ID', 'got boolean');
    expectElaxError(() => parseId([1], 'uint', 'x'), 'ELAX_ERR_INVALID_ID');
  });

  it('should infer uint from numbers and string from strings (uuid only from an explicit schema)', () => {
    expect(inferIdType(3)).toBe('uint');
    expect(inferIdType('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('string');
    expect(inferIdType(null)).toBeUndefined();
  });
});
