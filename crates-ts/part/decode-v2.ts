/**
 * Decoding the rows of a v2 part from its block files into the in-memory shape of v1 parts (documents in ordinal
 * order, WAL seqs, one vector buffer, deleted ids, idempotency keys). RFC-0004 slice 1: v2 parts load through the
 * same LoadedPart as v1; the columnar read path (slice 3) reads blocks by range instead.
 */
import { ElaxError, type AttrValue, type Doc, type Id } from '../core/index.js';
import { blockOf, type BlockTable } from './block-file.js';
import { ColumnBlock } from './column-block.js';
import type { PartHeadV2 } from './head.js';

export interface DecodedV2 {
  docs: Doc[];
  seqs: Float64Array;
  vectors: Float32Array;
  dims: number | null;
  tombstones: Id[];
  keys: string[];
}

/** Every value of a row-blocked column file held whole, in ordinal order. */
export function readColumn(bytes: Uint8Array, blocks: BlockTable, rows: number, where: string): AttrValue[] {
  const out = new Array<AttrValue>(rows);
  let at = 0;
  for (let b = 0; b < blocks.offset.length; b++) {
    const block = ColumnBlock.decode(blockOf(bytes, blocks, b, where), `${where} block ${b}`);
    if (blocks.start && blocks.start[b] !== at) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: block ${b} starts at row ${blocks.start[b]}, expected ${at}`);
    for (let i = 0; i < block.rows; i++) out[at + i] = block.get(i);
    at += block.rows;
  }
  if (at !== rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: holds ${at} rows, the head says ${rows}`);
  return out;
}

/** Keys of a keyed file without ordinals (deleted ids, idempotency keys). */
function readKeys(bytes: Uint8Array, blocks: BlockTable, count: number, where: string): AttrValue[] {
  return readColumn(bytes, blocks, count, where);
}

/** `file(name)` returns a whole verified file of the part. */
export async function decodeV2(head: PartHeadV2, file: (name: string) => Promise<Uint8Array>, where: string): Promise<DecodedV2> {
  const n = head.rows;
  const [idsBytes, idxBytes, seqBytes, tombBytes, vecBytes, keysBytes, ...colBytes] = await Promise.all([
    file(head.ids.file),
    file(head.idx.file),
    file(head.seq.file),
    file(head.tomb.file),
    head.vectors ? file(head.vectors.file) : Promise.resolve(null),
    head.keys ? file(head.keys.file) : Promise.resolve(null),
    ...head.columns.map((c) => file(c.file)),
  ]);
  const ids = readColumn(idsBytes!, head.ids.blocks, n, `${where}/${head.ids.file}`);
  checkIdIndex(idxBytes!, head, ids, `${where}/${head.idx.file}`);
  const seqVals = readColumn(seqBytes!, head.seq.blocks, n, `${where}/${head.seq.file}`);
  const seqs = Float64Array.from(seqVals as number[]);
  const tombstones = readKeys(tombBytes!, head.tomb.blocks, head.tomb.count, `${where}/${head.tomb.file}`) as Id[];
  const keys = head.keys && keysBytes ? (readKeys(keysBytes, head.keys.blocks, head.keys.count, `${where}/${head.keys.file}`) as string[]) : [];
  const dims = head.vectors?.dims ?? null;
  let vectors = new Float32Array(0);
  let present: Uint8Array | null = null;
  if (head.vectors && vecBytes) {
    const v = head.vectors;
    const w = `${where}/${v.file}`;
    vectors = new Float32Array(n * v.dims);
    const blocks = v.blocks.offset.length - 1; // the last block is the presence bitmap
    if (blocks !== Math.ceil(n / v.block_rows)) throw new ElaxError('ELAX_ERR_CORRUPT', `${w}: ${blocks} vector blocks for ${n} rows`);
    for (let b = 0; b < blocks; b++) {
      const raw = blockOf(vecBytes, v.blocks, b, w);
      const rows = Math.min(v.block_rows, n - b * v.block_rows);
      if (raw.byteLength !== rows * v.dims * 4) throw new ElaxError('ELAX_ERR_CORRUPT', `${w}: vector block ${b} has ${raw.byteLength} bytes`);
      new Uint8Array(vectors.buffer, b * v.block_rows * v.dims * 4, raw.byteLength).set(raw);
    }
    present = blockOf(vecBytes, v.blocks, blocks, w);
    if (present.byteLength !== (n + 7) >> 3) throw new ElaxError('ELAX_ERR_CORRUPT', `${w}: presence bitmap has ${present.byteLength} bytes`);
  }
  const cols = head.columns.map((c, i) => ({ name: c.name, values: readColumn(colBytes[i]!, c.blocks, n, `${where}/${c.file}`) }));
  const docs = new Array<Doc>(n);
  for (let r = 0; r < n; r++) {
    const attrs: Record<string, AttrValue> = {};
    for (const c of cols) {
      const v = c.values[r];
      if (v !== null && v !== undefined) attrs[c.name] = v;
    }
    const has = present !== null && (present[r >> 3]! & (1 << (r & 7))) !== 0;
    docs[r] = { id: ids[r] as Id, vector: has && dims !== null ? vectors.subarray(r * dims, (r + 1) * dims) : null, attrs };
  }
  return { docs, seqs, vectors, dims, tombstones, keys };
}

/** The id index must map every id to its own ordinal, in id order (the shim does not use it: check it anyway). */
function checkIdIndex(bytes: Uint8Array, head: PartHeadV2, ids: readonly AttrValue[], where: string): void {
  const t = head.idx.blocks;
  let seen = 0;
  for (let b = 0; b < t.offset.length; b++) {
    const { keys, ordinals } = decodeIdIndexBlock(blockOf(bytes, t, b, where), `${where} block ${b}`);
    for (let i = 0; i < keys.length; i++) {
      if (ids[ordinals[i]!] !== keys[i]) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: entry ${seen + i} maps ${JSON.stringify(keys[i])} to the row of ${JSON.stringify(ids[ordinals[i]!])}`);
    }
    if (keys.length > 0 && keys[0] !== head.idx.first_keys[b]) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: block ${b} does not start with its first key`);
    seen += keys.length;
  }
  if (seen !== head.rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${seen} entries for ${head.rows} rows`);
}

/** One id-index block: [u32 key-block length][key column block][u32 ordinals]. */
export function decodeIdIndexBlock(block: Uint8Array, where: string): { keys: AttrValue[]; ordinals: Uint32Array } {
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const keyLen = dv.getUint32(0, true);
  const keyBlock = ColumnBlock.decode(block.subarray(4, 4 + keyLen), where);
  const n = keyBlock.rows;
  if (4 + keyLen + n * 4 !== block.byteLength) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: id-index block has ${block.byteLength} bytes for ${n} entries`);
  const ordinals = new Uint32Array(n);
  new Uint8Array(ordinals.buffer).set(block.subarray(4 + keyLen));
  const keys = new Array<AttrValue>(n);
  for (let i = 0; i < n; i++) keys[i] = keyBlock.get(i);
  return { keys, ordinals };
}
