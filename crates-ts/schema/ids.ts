/**
 * Document ids: u64 numbers (exact only up to 2^53-1 in JS, so larger ones are refused), UUIDs (normalised to
 * lowercase hyphenated form) and strings of at most 64 UTF-8 bytes. A namespace holds one id type.
 */
import { ElaxError, type Id } from '../core/index.js';
import { normalizeUuid } from './scalars.js';

export const MAX_STRING_ID_BYTES = 64;

function bad(where: string, msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_ID', `${where}: ${msg}`);
}

/** The id type a namespace gets from the first id it sees (turbopuffer infers uuid only from an explicit schema). */
export function inferIdType(raw: unknown): 'uint' | 'string' | undefined {
  if (typeof raw === 'number') return 'uint';
  if (typeof raw === 'string') return 'string';
  return undefined;
}

function parseUintId(raw: number, where: string): number {
  if (!Number.isInteger(raw)) throw bad(where, `id ${raw} is not an integer; numeric ids are unsigned 64-bit integers`);
  if (raw < 0) throw bad(where, `id ${raw} is negative; numeric ids are unsigned 64-bit integers`);
  if (raw > Number.MAX_SAFE_INTEGER) {
    throw bad(
      where,
      `id ${raw} exceeds 2^53-1 (${Number.MAX_SAFE_INTEGER}); JSON numbers above that lose precision, so elax refuses them — use string ids for larger values`,
    );
  }
  return raw;
}

function utf8Length(s: string): number {
  // Fast path: pure ASCII (the common case) needs no encoding.
  if (s.length <= MAX_STRING_ID_BYTES && /^[\x00-\x7f]*$/.test(s)) return s.length;
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Parse one id. `idType` is the namespace's id type (uint, uuid or string), or undefined if not yet known
 * (then any valid id is accepted as uint or string). Throws ELAX_ERR_INVALID_ID naming `where`.
 */
export function parseId(raw: unknown, idType: string | undefined, where: string): Id {
  if (raw === null || raw === undefined) throw bad(where, 'id is missing');
  switch (idType) {
    case undefined:
      if (typeof raw === 'number') return parseUintId(raw, where);
      if (typeof raw === 'string') return parseId(raw, 'string', where);
      break;
    case 'uint':
      if (typeof raw === 'number') return parseUintId(raw, where);
      throw bad(where, `id ${JSON.stringify(raw)} is a ${typeof raw}, but this namespace's ids are uint; mixing id types is not supported`);
    case 'uuid': {
      if (typeof raw !== 'string') {
        throw bad(where, `id ${JSON.stringify(raw)} is a ${typeof raw}, but this namespace's ids are uuid; mixing id types is not supported`);
      }
      const u = normalizeUuid(raw);
      if (u === null) throw bad(where, `id ${JSON.stringify(raw.slice(0, 80))} is not a valid UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
      return u;
    }
    case 'string':
      if (typeof raw === 'string') {
        const n = utf8Length(raw);
        if (n > MAX_STRING_ID_BYTES) throw bad(where, `string id is ${n} bytes of UTF-8; the maximum is ${MAX_STRING_ID_BYTES}`);
        return raw;
      }
      if (typeof raw === 'number') {
        throw bad(where, `id ${raw} is a number, but this namespace's ids are strings; mixing id types is not supported`);
      }
      break;
    default:
      throw new ElaxError('ELAX_ERR_CORRUPT', `schema has unknown id type '${idType}'`);
  }
  throw bad(where, `id must be an unsigned integer, a UUID or a string, got ${Array.isArray(raw) ? 'array' : typeof raw}`);
}
