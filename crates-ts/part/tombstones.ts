/**
 * tombstones.json: ids deleted in the part's WAL range and not re-upserted later in it. They shadow rows of older
 * parts (RFC-0004 §3) until compaction settles them. `{"format_version":1,"ids":[...]}`, ids in compareIds order;
 * JSON keeps u64 ids (numbers) and string ids apart.
 */
import { ElaxError, type Id } from '../core/index.js';

const TOMBSTONES_FORMAT_VERSION = 1;

export function encodeTombstones(sortedIds: readonly Id[]): Uint8Array {
  return Buffer.from(JSON.stringify({ format_version: TOMBSTONES_FORMAT_VERSION, ids: sortedIds }));
}

export function decodeTombstones(bytes: Uint8Array, where: string): Id[] {
  let raw: { format_version?: unknown; ids?: unknown };
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as typeof raw;
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: not valid JSON`, { cause });
  }
  if (raw.format_version !== TOMBSTONES_FORMAT_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: format_version ${String(raw.format_version)}; this build reads ${TOMBSTONES_FORMAT_VERSION}`);
  }
  if (!Array.isArray(raw.ids) || !raw.ids.every((x) => typeof x === 'number' || typeof x === 'string')) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: ids must be an array of numbers and strings`);
  }
  return raw.ids as Id[];
}
