/**
 * Deletion vectors (RFC-0004 §3): the dead row ordinals of one part, cumulative and immutable. Each change writes a
 * new object `{ns}/parts/{part}/dv/{epoch:020d}-{nonce}.dv`, referenced from the router's PartRef.deletes in the
 * same CAS as the publish that caused it. A block file with one block:
 *
 *   u8 encoding (0: sorted u32 ordinals, 1: dense bitmap, bit set = dead) | u32 LE rows | u32 LE count | data
 *
 * whichever encoding is smaller. Readers decode into a per-row mask (1 = dead).
 */
import { ElaxError } from '../core/index.js';
import { BlockFileWriter, blockOf, openBlockFile } from './block-file.js';

export interface DeletesRef {
  /** File name inside the part folder (dvFileName). */
  file: string;
  /** Dead rows. */
  count: number;
  bytes: number;
}

const SEQ_WIDTH = 20;
const NONCE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** `dv/{epoch:020d}-{nonce}.dv`: unique per publish attempt, sorted by epoch in LIST order. */
export function dvFileName(epoch: number, nonce: string): string {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !NONCE_RE.test(nonce)) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `bad deletion-vector name parts: epoch ${epoch}, nonce ${JSON.stringify(nonce)}`);
  }
  return `dv/${String(epoch).padStart(SEQ_WIDTH, '0')}-${nonce}.dv`;
}

export function isDvFile(name: string): boolean {
  return /^dv\/\d{20}-[A-Za-z0-9_.-]{1,64}\.dv$/.test(name);
}

/** Encodes the dead ordinals (any order, duplicates allowed) of a part of `rows` rows. */
export function encodeDeletionVector(dead: Iterable<number>, rows: number): Uint8Array {
  const sorted = Uint32Array.from(new Set(dead)).sort();
  for (const o of sorted) if (o >= rows) throw new ElaxError('ELAX_ERR_INTERNAL', `dead ordinal ${o} is outside a part of ${rows} rows`);
  const bitmapBytes = (rows + 7) >> 3;
  const asBitmap = bitmapBytes < sorted.length * 4;
  const body = new Uint8Array(9 + (asBitmap ? bitmapBytes : sorted.length * 4));
  const dv = new DataView(body.buffer);
  body[0] = asBitmap ? 1 : 0;
  dv.setUint32(1, rows, true);
  dv.setUint32(5, sorted.length, true);
  if (asBitmap) for (const o of sorted) body[9 + (o >> 3)]! |= 1 << (o & 7);
  else body.set(new Uint8Array(sorted.buffer), 9);
  const w = new BlockFileWriter();
  w.add(body);
  return w.finish('deletion-vector', { rows, count: sorted.length });
}

/** The dead-row mask (1 = dead) of a DV file, checked against the part's row count. */
export function decodeDeletionVector(bytes: Uint8Array, rows: number, where: string): { mask: Uint8Array; count: number } {
  const { blocks } = openBlockFile(bytes, where);
  if (blocks.offset.length !== 1) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: a deletion vector has one block, found ${blocks.offset.length}`);
  const body = blockOf(bytes, blocks, 0, where);
  if (body.byteLength < 9) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion vector header is truncated`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const enc = body[0];
  const n = dv.getUint32(1, true);
  const count = dv.getUint32(5, true);
  if (n !== rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion vector is for ${n} rows, the part has ${rows}`);
  const mask = new Uint8Array(rows);
  let seen = 0;
  if (enc === 1) {
    if (body.byteLength !== 9 + ((rows + 7) >> 3)) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion bitmap has the wrong size`);
    for (let o = 0; o < rows; o++) {
      if (body[9 + (o >> 3)]! & (1 << (o & 7))) {
        mask[o] = 1;
        seen++;
      }
    }
  } else if (enc === 0) {
    if (body.byteLength !== 9 + count * 4) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion list has the wrong size`);
    for (let i = 0; i < count; i++) {
      const o = dv.getUint32(9 + i * 4, true);
      if (o >= rows || mask[o] === 1) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion list entry ${o} is out of range or repeated`);
      mask[o] = 1;
      seen++;
    }
  } else throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: unknown deletion vector encoding ${enc}`);
  if (seen !== count) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: deletion vector counts ${count} rows but holds ${seen}`);
  return { mask, count };
}

/** Ordinals set in a mask, ascending. */
export function deadOrdinals(mask: Uint8Array | null): number[] {
  const out: number[] = [];
  if (mask) for (let o = 0; o < mask.length; o++) if (mask[o] === 1) out.push(o);
  return out;
}
