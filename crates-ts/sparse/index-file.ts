/**
 * The sparse kNN index of one `{}f16` / `{}f32` attribute in a part (docs/rfcs/0012-sparse-vectors.md §2): an inverted
 * index, dimension → postings of (row ordinal, weight), with each dimension's largest and smallest weight (the bounds
 * max-score pruning uses, sparse/score.ts). Little-endian:
 *
 *   header (52 bytes): "ESPI" | u8 version (1) | u8 0 | u16 0 | u32 rows | u32 dims | u32 entries | SHA-256 of the table
 *   table, dims × 24 bytes, ascending by dimension:
 *     u32 dim | u32 count | u32 first (index of its first posting) | u32 CRC-32 of its list | f32 max | f32 min
 *   lists, in table order, each count × u32 row ordinals (ascending) then count × f32 weights; a dimension's list
 *   starts at byte 52 + dims·24 + first·8
 *
 * The table comes first so a large file is read by ranges (like BM25 postings, fts/postings.ts): header and table,
 * verified by the table's SHA-256, then only the lists of a query's dimensions, each verified by its CRC-32 (adjacent
 * ones in one request). A small file is read whole and verified by the part head's SHA-256.
 *
 * Every weight is f32-exact (stored values are f16- or f32-rounded), so scores from the index are bit-identical to
 * scores computed from the rows' values.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ElaxError, type AttrValue, type SparseVector } from '../core/index.js';

const MAGIC = [0x45, 0x53, 0x50, 0x49]; // "ESPI"
export const SPARSE_INDEX_VERSION = 1;
const HEADER_BYTES = 52;
const DIM_BYTES = 24;
/** First ranged read: the header and, for most files, the whole table. */
const FIRST_READ = 64 * 1024;
/** Lists at most this many bytes apart are fetched in one request. */
const COALESCE_GAP = 64 * 1024;

/**
 * Builds the index over `values` (row ordinal order; null: the row has no vector). One pass over the rows' keys into
 * flat (dimension, row, weight) arrays (rows ascending), the distinct dimensions sorted, then a counting sort by
 * dimension rank: every list comes out sorted by row. (Key iteration of the stored objects is most of the cost.)
 */
export function buildSparseIndex(values: readonly (AttrValue | undefined)[]): Uint8Array {
  let cap = 1024;
  let D = new Uint32Array(cap);
  let O = new Uint32Array(cap);
  let W = new Float32Array(cap);
  let entries = 0;
  for (let o = 0; o < values.length; o++) {
    const v = values[o];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new ElaxError('ELAX_ERR_INTERNAL', `sparse index: row ${o} holds a value that is not a sparse vector`);
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const d = Number(keys[i]);
      const w = (v as SparseVector)[keys[i]!];
      if (!(Number.isInteger(d) && d >= 0 && d <= 4294967295) || typeof w !== 'number' || !Number.isFinite(w)) {
        throw new ElaxError('ELAX_ERR_INTERNAL', `sparse index: row ${o} holds a value that is not a sparse vector`);
      }
      if (entries === cap) {
        cap *= 2;
        const d2 = new Uint32Array(cap);
        d2.set(D);
        D = d2;
        const o2 = new Uint32Array(cap);
        o2.set(O);
        O = o2;
        const w2 = new Float32Array(cap);
        w2.set(W);
        W = w2;
      }
      D[entries] = d;
      O[entries] = o;
      W[entries] = w;
      entries++;
    }
  }
  // Distinct dimensions, ascending; each entry's rank among them.
  const sorted = D.slice(0, entries).sort();
  let n = 0;
  for (let i = 0; i < entries; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i]!;
  const dims = sorted.subarray(0, n);
  const rank = new Uint32Array(entries);
  const count = new Uint32Array(n);
  for (let i = 0; i < entries; i++) {
    const d = D[i]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dims[mid]! < d) lo = mid + 1;
      else hi = mid;
    }
    rank[i] = lo;
    count[lo]!++;
  }
  const first = new Uint32Array(n);
  for (let r = 1; r < n; r++) first[r] = first[r - 1]! + count[r - 1]!;
  const fill = first.slice();
  const ords = new Uint32Array(entries);
  const weights = new Float32Array(entries);
  for (let i = 0; i < entries; i++) {
    const at = fill[rank[i]!]!++;
    ords[at] = O[i]!;
    weights[at] = W[i]!;
  }
  const listsAt = HEADER_BYTES + n * DIM_BYTES;
  const out = new Uint8Array(listsAt + entries * 8);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = SPARSE_INDEX_VERSION;
  dv.setUint32(8, values.length, true);
  dv.setUint32(12, n, true);
  dv.setUint32(16, entries, true);
  for (let r = 0; r < n; r++) {
    const f = first[r]!;
    const c = count[r]!;
    let max = -Infinity;
    let min = Infinity;
    for (let j = f; j < f + c; j++) {
      const w = weights[j]!;
      if (w > max) max = w;
      if (w < min) min = w;
    }
    const at = listsAt + f * 8;
    out.set(new Uint8Array(ords.buffer, f * 4, c * 4), at); // little-endian platforms (as column blocks assume)
    out.set(new Uint8Array(weights.buffer, f * 4, c * 4), at + c * 4);
    const t = HEADER_BYTES + r * DIM_BYTES;
    dv.setUint32(t, dims[r]!, true);
    dv.setUint32(t + 4, c, true);
    dv.setUint32(t + 8, f, true);
    dv.setUint32(t + 12, crc32(out.subarray(at, at + c * 8)) >>> 0, true);
    dv.setFloat32(t + 16, max, true);
    dv.setFloat32(t + 20, min, true);
  }
  out.set(createHash('sha256').update(out.subarray(HEADER_BYTES, listsAt)).digest(), 20);
  return out;
}

/** One dimension's postings: ordinals ascending, weights parallel, and their bounds. */
export interface SparseList {
  ords: Uint32Array;
  weights: Float32Array;
  max: number;
  min: number;
}

/** Reads bytes [start, end) of the file (ranged mode). */
export type SparseRangeReader = (start: number, end: number) => Promise<Uint8Array>;

const corrupt = (where: string, what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);

function parseHeader(bytes: Uint8Array, where: string): { rows: number; dims: number; entries: number; sha: Uint8Array } {
  if (bytes.byteLength < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw corrupt(where, 'not a sparse index file');
  if (bytes[4] !== SPARSE_INDEX_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: sparse index version ${bytes[4]}; this build reads version ${SPARSE_INDEX_VERSION}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { rows: dv.getUint32(8, true), dims: dv.getUint32(12, true), entries: dv.getUint32(16, true), sha: bytes.slice(20, 52) };
}

/**
 * A parsed index: whole (every list decoded on first use, views of one aligned copy) or by ranges (header and table
 * held; `fetch(dims)` reads and verifies the lists a query needs, which `list` then answers).
 */
export class SparseIndexFile {
  readonly rows: number;
  private readonly dims: Uint32Array;
  private readonly table: DataView;
  private readonly listsAt: number;
  /** Whole mode: the lists' bytes (aligned copy). */
  private readonly lists: Uint8Array | null;
  private readonly fetched = new Map<number, SparseList>();
  private held: number;
  /** Bytes read from the store (ranged mode). */
  bytesRead = 0;

  constructor(
    bytes: Uint8Array,
    private readonly where: string,
    private readonly read: SparseRangeReader | null = null,
    size = bytes.byteLength,
  ) {
    const h = parseHeader(bytes, where);
    this.rows = h.rows;
    this.listsAt = HEADER_BYTES + h.dims * DIM_BYTES;
    if (size !== this.listsAt + h.entries * 8) throw corrupt(where, `sparse index of ${h.dims} dimensions and ${h.entries} postings has ${size} bytes`);
    if (bytes.byteLength < this.listsAt) throw corrupt(where, 'sparse index table is truncated');
    const tableBytes = bytes.slice(HEADER_BYTES, this.listsAt);
    if (read !== null) {
      const sha = createHash('sha256').update(tableBytes).digest();
      if (Buffer.compare(sha, h.sha) !== 0) throw corrupt(where, 'sparse index table does not match its checksum');
    }
    this.table = new DataView(tableBytes.buffer);
    this.dims = new Uint32Array(h.dims);
    for (let i = 0; i < h.dims; i++) {
      this.dims[i] = this.table.getUint32(i * DIM_BYTES, true);
      if (i > 0 && this.dims[i]! <= this.dims[i - 1]!) throw corrupt(where, 'sparse index dimensions are not ascending');
      const count = this.table.getUint32(i * DIM_BYTES + 4, true);
      const first = this.table.getUint32(i * DIM_BYTES + 8, true);
      if (first + count > h.entries) throw corrupt(where, `sparse index dimension ${this.dims[i]} points past its postings`);
    }
    this.lists = read === null ? bytes.slice(this.listsAt) : null;
    this.held = tableBytes.byteLength + this.dims.byteLength + (this.lists?.byteLength ?? 0) + 128;
  }

  /** Opens a file of `size` bytes by ranges: header and table now, lists on fetch(). */
  static async openRanged(read: SparseRangeReader, size: number, where: string): Promise<SparseIndexFile> {
    let head = await read(0, Math.min(size, FIRST_READ));
    let bytesRead = head.byteLength;
    const h = parseHeader(head, where);
    const listsAt = HEADER_BYTES + h.dims * DIM_BYTES;
    if (listsAt > size) throw corrupt(where, `sparse index of ${h.dims} dimensions is larger than its ${size} bytes`);
    if (head.byteLength < listsAt) {
      const rest = await read(head.byteLength, listsAt);
      bytesRead += rest.byteLength;
      const all = new Uint8Array(listsAt);
      all.set(head);
      all.set(rest, head.byteLength);
      head = all;
    } else head = head.subarray(0, listsAt);
    const f = new SparseIndexFile(head, where, read, size);
    f.bytesRead = bytesRead;
    return f;
  }

  private indexOf(dim: number): number {
    let lo = 0;
    let hi = this.dims.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.dims[mid]! < dim) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.dims.length && this.dims[lo] === dim ? lo : -1;
  }

  private entry(i: number): { count: number; first: number; crc: number; max: number; min: number } {
    const t = i * DIM_BYTES;
    return {
      count: this.table.getUint32(t + 4, true),
      first: this.table.getUint32(t + 8, true),
      crc: this.table.getUint32(t + 12, true),
      max: this.table.getFloat32(t + 16, true),
      min: this.table.getFloat32(t + 20, true),
    };
  }

  private decode(i: number, bytes: Uint8Array): SparseList {
    const e = this.entry(i);
    const copy = new Uint8Array(e.count * 8);
    copy.set(bytes);
    const ords = new Uint32Array(copy.buffer, 0, e.count);
    for (let k = 0; k < ords.length; k++) if (ords[k]! >= this.rows) throw corrupt(this.where, `sparse postings of dimension ${this.dims[i]} name row ${ords[k]} of ${this.rows}`);
    return { ords, weights: new Float32Array(copy.buffer, e.count * 4, e.count), max: e.max, min: e.min };
  }

  /** Ranged mode: reads and verifies the lists of `dims` not held yet (adjacent ones in one request). */
  async fetch(dims: ArrayLike<number>): Promise<void> {
    if (this.read === null) return;
    const want: number[] = [];
    for (let k = 0; k < dims.length; k++) {
      const i = this.indexOf(dims[k]!);
      if (i >= 0 && !this.fetched.has(i)) want.push(i);
    }
    if (want.length === 0) return;
    want.sort((a, b) => a - b);
    const start = (i: number) => this.listsAt + this.entry(i).first * 8;
    const end = (i: number) => start(i) + this.entry(i).count * 8;
    const groups: number[][] = [];
    for (const i of want) {
      const g = groups[groups.length - 1];
      if (g && start(i) - end(g[g.length - 1]!) <= COALESCE_GAP) g.push(i);
      else groups.push([i]);
    }
    await Promise.all(
      groups.map(async (g) => {
        const from = start(g[0]!);
        const to = end(g[g.length - 1]!);
        const bytes = await this.read!(from, to);
        this.bytesRead += bytes.byteLength;
        if (bytes.byteLength !== to - from) throw corrupt(this.where, `ranged read returned ${bytes.byteLength} bytes; expected ${to - from}`);
        for (const i of g) {
          const list = bytes.subarray(start(i) - from, end(i) - from);
          if (crc32(list) >>> 0 !== this.entry(i).crc) throw corrupt(this.where, `sparse postings of dimension ${this.dims[i]} do not match their CRC-32`);
          if (!this.fetched.has(i)) {
            this.fetched.set(i, this.decode(i, list));
            this.held += list.byteLength + 64;
          }
        }
      }),
    );
  }

  /** The postings of dimension `dim`, or null when no row holds it. Ranged mode: fetch() must have read it. */
  list(dim: number): SparseList | null {
    const i = this.indexOf(dim);
    if (i < 0) return null;
    let l = this.fetched.get(i);
    if (l === undefined) {
      if (this.lists === null) throw new ElaxError('ELAX_ERR_INTERNAL', `${this.where}: sparse postings of dimension ${dim} used before fetch()`);
      const e = this.entry(i);
      const at = e.first * 8;
      l = {
        ords: new Uint32Array(this.lists.buffer, this.lists.byteOffset + at, e.count),
        weights: new Float32Array(this.lists.buffer, this.lists.byteOffset + at + e.count * 4, e.count),
        max: e.max,
        min: e.min,
      };
      for (let k = 0; k < l.ords.length; k++) if (l.ords[k]! >= this.rows) throw corrupt(this.where, `sparse postings of dimension ${dim} name row ${l.ords[k]} of ${this.rows}`);
      this.fetched.set(i, l);
    }
    return l;
  }

  /** Bytes held (cache accounting): the table, and the whole lists or the fetched ones. */
  memoryBytes(): number {
    return this.held;
  }
}
