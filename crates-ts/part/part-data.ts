/**
 * A v2 part read through the caches (RFC-0004 §1, §6, §8), never decoded whole into documents: its head (kept), and
 * on demand its columns, ids, vectors, HNSW index and postings. Whole columns (scans) come through the disk cache
 * and are decoded into the node's BlockCache; the few rows a query returns are read block by block with ranged GETs
 * (each block checked by its CRC-32). Decoded data a running query uses is pinned (leases) so eviction never pulls
 * it from under a synchronous kernel; released, it is just cache.
 *
 * `segment(dead)` gives the query Segment of this part under one view's liveness.
 */
import { ElaxError, type AttrValue, type DistanceMetric, type Doc, type Id } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import type { BlockCache, Limiter } from '../cache/index.js';
import { PostingsFile, neededLists, type TextNeed } from '../fts/index.js';
import { deadOrdinalsOf, sqNormAt, vectorInto, type DocFields, type OrderBound, type OrdinalHit, type Segment, type SegmentNeed, type FlatVectors } from '../query/index.js';
import { blockRef, checkBlock, verifyBlocks, type BlockRef, type BlockTable } from './block-file.js';
import { ColumnBlock } from './column-block.js';
import type { PartFileCache } from './file-cache.js';
import type { PartHeadV2, PartHeadV3, RowBlockedFile } from './head.js';
import { checkClusterCodes, clusterEntry, decodeClusterTable, emptyClusterCodes, type ClusterTable } from './cluster-table.js';
import { decodeClusterBytes, type ClusterCodes } from '../ivf/index.js';
import { spaceFor, type HnswIndex } from './hnsw.js';
import type { VectorAttrIndexInfo } from './vector-attr-index.js';
import { blockCacheFor, fetchVerified, loadGraph, RANGED_POSTINGS_MIN_BYTES } from './load.js';
import type { PartFileInfo } from './manifest.js';
import { partFileMissing } from './missing.js';
import { HNSW_FILE, partFileKey } from './paths.js';
import { annChoice } from '../planner/index.js';
import { decodeDictIndex, dictCodes, dictCodesBytes, type FilterIndexInfo } from './filter-index.js';
import { decodeFuzzyIndex, fuzzyIndexBytes, type FuzzyIndex, type FuzzyIndexInfo } from './fuzzy-index.js';
import { decodeFuzzyDirectory, decodeFuzzyRows, decodeFuzzyTerms, fuzzySurvivors, fuzzyWalkBlocks, type FuzzyDirectory, type FuzzyReader, type FuzzyRowsBlock, type FuzzyTermsBlock } from './fuzzy-blocks.js';
import type { FuzzySpec } from '../filter/index.js';
import { evalWithIndexes, filterMaskOf, requiredRange, valueFilterOf, type AttrIndex, type LeafCompiler, type LeafTrace } from './filter-eval.js';
import { Bitmap } from '../bitmap/index.js';
import { decodeSortedIndex } from './sorted-index.js';
import { walkIndexOrder } from './order-walk.js';
import { SparseIndexFile } from '../sparse/index.js';
import { FdeFile, MvIvfFile, fetchMvIvfLists, openMvIvfRanged, probedLists, type MvIvfHeld, type MvIvfList, type MvIvfRangeReader } from '../multivec/index.js';

/** A decoded row-blocked column: its blocks and their first ordinals. */
interface Column {
  starts: Uint32Array;
  blocks: ColumnBlock[];
  bytes: number;
}

function blockIndex(starts: Uint32Array, ord: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= ord) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function valueAt(col: Column, ord: number): AttrValue {
  const b = blockIndex(col.starts, ord);
  return col.blocks[b]!.get(ord - col.starts[b]!);
}

/** Decoded data held for running queries, released when they end. */
export type Release = () => void;

/** A value from the BlockCache, pinned there until the release. */
type Lease<T> = { value: T; release: Release };

const NO_RELEASE: Release = () => {};

export interface PartDataOptions {
  /** Postings files at least this large are range-read (dictionary, then the lists a query names). */
  rangedPostingsMinBytes?: number;
  /**
   * Load a part's whole vectors into shared memory (one copy per load), so that a pool thread scans them in place
   * (query/pool-scan.ts). Set when the engine hands exact scans to its pool; otherwise the file's bytes are the
   * matrix, with no copy. Postings files too (fts/postings.ts PostingsOptions.shared: row lengths copied once, decoded
   * lists), so that BM25 over a large part is scored on the pool (fts/part-task.ts).
   */
  sharedVectors?: boolean;
  /**
   * Where HNSW graphs live (default: the block cache). A graph is loaded whole (hnswlib) and takes seconds to load,
   * so the node keeps graphs in their own budget (--cache-graph-memory) where column and vector blocks cannot evict
   * them.
   */
  graphs?: BlockCache;
  /**
   * Graphs up to this size are loaded before an ANN query runs (a fraction of a second); a larger one is loaded in
   * the background while queries scan the part's vectors exactly. Default 16 MiB (about 25,000 128-d vectors).
   */
  graphWaitBytes?: number;
  /** Background graph loads (`loadAnn`) run through this (the catalog's: one at a time per node). */
  graphLoads?: Limiter;
}

/** Default `graphWaitBytes`: below this a graph loads in well under a second (≈16 ms per MB measured). */
export const DEFAULT_GRAPH_WAIT_BYTES = 16 * 1024 * 1024;

export class PartData {
  readonly rows: number;
  private readonly byName: Map<string, PartFileInfo>;
  private readonly columnsByName: Map<string, RowBlockedFile & { kind: string }>;
  /** Block table of every block file, by file name (whole reads verify each block's CRC-32 against it). */
  private readonly tables = new Map<string, BlockTable>();
  private readonly postingsByAttr = new Map<string, { analysis: string; bytes: number; name: string }>();
  private readonly fidxByAttr = new Map<string, FilterIndexInfo>();
  private readonly ffzByAttr = new Map<string, FuzzyIndexInfo>();
  private readonly sparseByAttr = new Map<string, string>();
  private readonly vannByAttr = new Map<string, VectorAttrIndexInfo>();
  private readonly fdeByAttr = new Map<string, string>();
  private readonly mvIvfByAttr = new Map<string, string>();
  /** Data pinned by running queries: key → value and reference count. */
  private readonly pinned = new Map<string, { value: unknown; refs: number }>();

  /** The disk cache for blocks and whole files (load.ts blockCacheFor: none in front of a local store). */
  private readonly files: PartFileCache | undefined;
  /** The disk cache for graph files (hnswlib reads a path: the cache's pinned copy, else a private temporary file). */
  private readonly graphFiles: PartFileCache | undefined;

  constructor(
    readonly head: PartHeadV2,
    private readonly store: ObjectStore,
    files: PartFileCache | undefined,
    private readonly cache: BlockCache,
    private readonly opts: PartDataOptions = {},
  ) {
    this.files = blockCacheFor(store, files);
    this.graphFiles = files;
    this.rows = head.rows;
    this.byName = new Map(head.files.map((f) => [f.name, f]));
    this.columnsByName = new Map(head.columns.map((c) => [c.name, c]));
    for (const f of [head.ids, head.seq, head.idx, head.tomb, head.vectors, head.keys, ...head.columns, head.ivf, head.ivf?.codes, ...(head.filter_indexes ?? []), ...(head.fuzzy_indexes ?? [])]) if (f) this.tables.set(f.file, f.blocks);
    for (const f of head.filter_indexes ?? []) this.fidxByAttr.set(f.attr, f);
    for (const f of head.fuzzy_indexes ?? []) this.ffzByAttr.set(f.attr, f);
    for (const f of head.sparse ?? []) this.sparseByAttr.set(f.attr, f.file);
    for (const f of head.vector_attr_indexes ?? []) this.vannByAttr.set(f.attr, f);
    for (const f of head.multivec_fde ?? []) this.fdeByAttr.set(f.attr, f.file);
    for (const f of head.multivec_ivf ?? []) this.mvIvfByAttr.set(f.attr, f.file);
    for (const f of head.fts ?? []) this.postingsByAttr.set(f.attr, { analysis: f.analysis, bytes: this.info(f.file).bytes, name: f.file });
  }

  get partId(): string {
    return this.head.part_id;
  }

  private key(name: string): string {
    return partFileKey(this.head.namespace, this.head.part_id, name);
  }

  /** Cache keys of the codes file's blocks, made once each: a query asks for a part's probed clusters every time. */
  private clusterKeys: string[] = [];

  private clusterKey(file: string, i: number): string {
    return (this.clusterKeys[i] ??= `${this.key(file)}#${i}`);
  }

  private info(name: string): PartFileInfo {
    const f = this.byName.get(name);
    if (!f) throw new ElaxError('ELAX_ERR_CORRUPT', `part ${this.head.namespace}/${this.head.part_id}: its head lists no ${name}`);
    return f;
  }

  /**
   * A whole file, verified: a block file by its size and every block's CRC-32 against the head's table (callers then
   * slice blocks without checking again), any other file by its size and SHA-256.
   */
  private whole(name: string): Promise<Uint8Array> {
    const key = this.key(name);
    const info = this.info(name);
    const table = this.tables.get(name);
    const check =
      table &&
      ((bytes: Uint8Array) => {
        if (bytes.byteLength !== info.bytes) return `${key} has ${bytes.byteLength} bytes; its head says ${info.bytes}`;
        const bad = verifyBlocks(bytes, table);
        return bad === null ? null : `${key}: ${bad}`;
      });
    return fetchVerified(this.store, key, info, this.files, check);
  }

  /** One block of a file by a ranged GET, checked by its CRC-32. */
  private async block(name: string, t: BlockTable, b: number): Promise<Uint8Array> {
    const key = this.key(name);
    const ref = blockRef(t, b);
    const range = { start: ref.offset, end: ref.offset + ref.length };
    const where = `${key} block ${b}`;
    if (this.files) {
      // Through the disk cache (a restarted node starts warm); a damaged copy fails its CRC and is fetched again.
      const verify = (bytes: Uint8Array) => {
        try {
          checkBlock(bytes, ref, where);
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      };
      return this.files.get(this.store, key, verify, range);
    }
    const got = await this.store.get(key, range);
    if (!got) throw partFileMissing(key, this.store.description);
    return checkBlock(got.bytes, ref, where);
  }

  /** A whole column decoded (every block), through the BlockCache, pinned until the release. */
  private column(file: RowBlockedFile): Promise<Lease<Column>> {
    const key = this.key(file.file);
    return this.cache.getPinned(key, async () => {
      const bytes = await this.whole(file.file);
      const n = file.blocks.offset.length;
      const blocks: ColumnBlock[] = new Array(n);
      const starts = file.blocks.start ?? Uint32Array.of(0);
      // Numbers of the whole column land in one buffer (ColumnBlock.decode's f64Into); other kinds ignore it.
      const numbers = (file as { kind?: string }).kind === 'f64' || file === this.head.ids || file === this.head.seq ? new Float64Array(this.rows) : undefined;
      let size = 0;
      for (let b = 0; b < n; b++) {
        const into = numbers?.subarray(starts[b]!);
        blocks[b] = ColumnBlock.decode(sliceBlock(bytes, file.blocks, b), `${key} block ${b}`, into);
        size += blocks[b]!.bytes + 64;
      }
      const col: Column = { starts, blocks, bytes: size };
      return { value: col, bytes: size };
    });
  }

  /**
   * A filter index (RFC-0009: a dictionary, slice 2, or a sorted index, slice 3), decoded, through the BlockCache,
   * pinned until the release. One GET of the file, every block checked against the head's CRC-32; a malformed index
   * is ELAX_ERR_CORRUPT naming it.
   */
  private attrIndex(info: FilterIndexInfo): Promise<Lease<AttrIndex>> {
    const key = this.key(info.file);
    return this.cache.getPinned<AttrIndex>(key, async () => {
      const bytes = await this.whole(info.file);
      const blocks = Array.from({ length: info.blocks.offset.length }, (_, b) => sliceBlock(bytes, info.blocks, b));
      if (info.kind === 'sorted') {
        const d = decodeSortedIndex(info, blocks, this.rows, key);
        // Ordinals (4 bytes) and values (8 bytes, or a string) per pair, plus the nulls.
        return { value: d, bytes: d.ords.byteLength * 3 + (d.type === 'string' ? bytes.byteLength : 0) + 256 };
      }
      const d = decodeDictIndex(info, blocks, this.rows, key);
      // Decoded bitmaps hold 4 bytes per row at most per value touched; the file size × 4 is a fair upper estimate.
      // A scalar dictionary may also hold its rows' value codes (dictCodes, built by the first filtered ANN query that
      // tests candidates by value).
      return { value: d, bytes: bytes.byteLength * 4 + 256 + (d.array ? 0 : dictCodesBytes(d.values.length, this.rows)) };
    });
  }

  /**
   * A sparse kNN index (RFC-0012) in the BlockCache, pinned until the release, with the lists of `dims` in: a small file
   * whole (verified by its SHA-256), a large one (rangedPostingsMinBytes, as BM25 postings) by ranges — header and
   * table (verified by the table's SHA-256), then the lists not held yet (each by its CRC-32); re-counted after.
   */
  private async sparseIndexFile(file: string, dims: ArrayLike<number>): Promise<Lease<SparseIndexFile>> {
    const key = this.key(file);
    const bytes = this.info(file).bytes;
    const lease = await this.cache.getPinned<SparseIndexFile>(key, async () => {
      let f: SparseIndexFile;
      if (bytes >= (this.opts.rangedPostingsMinBytes ?? RANGED_POSTINGS_MIN_BYTES)) {
        const read = async (start: number, end: number) => {
          const got = await this.store.get(key, { start, end });
          if (!got) throw partFileMissing(key, this.store.description);
          return got.bytes;
        };
        f = await SparseIndexFile.openRanged(read, bytes, key);
      } else f = new SparseIndexFile(await this.whole(file), key);
      if (f.rows !== this.rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} covers ${f.rows} rows; its part has ${this.rows}`);
      return { value: f, bytes: f.memoryBytes() };
    });
    try {
      await lease.value.fetch(dims);
      this.cache.resize(key, lease.value.memoryBytes());
      return lease;
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  /** A part's MUVERA index (RFC-0015 §3) in the BlockCache, read whole (verified by the head's SHA-256), pinned. */
  private async fdeFile(file: string): Promise<Lease<FdeFile>> {
    const key = this.key(file);
    return this.cache.getPinned<FdeFile>(key, async () => {
      const f = new FdeFile(await this.whole(file), key);
      if (f.rows !== this.rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} covers ${f.rows} rows; its part has ${this.rows}`);
      return { value: f, bytes: f.memoryBytes() };
    });
  }

  /** Reads bytes of a part file by ranges, through the disk cache when there is one. */
  private rangeReader(file: string): MvIvfRangeReader {
    const key = this.key(file);
    return async (start, end, check) => {
      if (this.files) return this.files.get(this.store, key, check, { start, end });
      const got = await this.store.get(key, { start, end });
      if (!got) throw partFileMissing(key, this.store.description);
      return got.bytes;
    };
  }

  /**
   * What a query needs of a part's token-level IVF (RFC-0015 §4), each pinned until its release: the file's prefix
   * (header, centroids, directory: one or two ranged reads, verified by its SHA-256, then cached) and the lists the
   * `nprobe` centroids nearest each query vector name, each its own BlockCache entry (`{key}#L{c}`, evicted on its
   * own); the lists the cache lacks are read by ranges (close ones in one request), each checked by its CRC-32. Nothing
   * is read whole.
   */
  private async mvIvfLists(file: string, query: readonly Float32Array[], nprobe: number): Promise<{ prefix: Lease<MvIvfFile>; lists: Map<number, Lease<MvIvfList>> }> {
    const key = this.key(file);
    const read = this.rangeReader(file);
    const size = this.info(file).bytes;
    const prefix = await this.cache.getPinned<MvIvfFile>(key, async () => {
      let f: MvIvfFile;
      try {
        f = await openMvIvfRanged(read, size, key);
      } catch (e) {
        // A damaged disk-cache copy of the prefix: read it again from the store once.
        if (!this.files || !(e instanceof ElaxError) || e.code !== 'ELAX_ERR_CORRUPT') throw e;
        f = await openMvIvfRanged(async (start, end) => {
          const got = await this.store.get(key, { start, end });
          if (!got) throw partFileMissing(key, this.store.description);
          return got.bytes;
        }, size, key);
      }
      if (f.rows !== this.rows) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} covers ${f.rows} rows; its part has ${this.rows}`);
      return { value: f, bytes: f.memoryBytes() };
    });
    const lists = new Map<number, Lease<MvIvfList>>();
    try {
      const f = prefix.value;
      const wanted = probedLists(f.probes(query, nprobe));
      const listKey = (c: number) => `${key}#L${c}`;
      const missing = wanted.filter((c) => this.cache.get(listKey(c)) === undefined);
      const got = missing.length > 0 ? await fetchMvIvfLists(f, read, missing) : new Map<number, MvIvfList>();
      for (const [c, l] of got) this.cache.set(listKey(c), l, f.listBytes(c));
      const settled = await Promise.allSettled(
        wanted.map(async (c) => {
          const lease = await this.cache.getPinned<MvIvfList>(listKey(c), async () => {
            const one = got.get(c) ?? (await fetchMvIvfLists(f, read, [c])).get(c)!;
            return { value: one, bytes: f.listBytes(c) };
          });
          lists.set(c, lease);
        }),
      );
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return { prefix, lists };
    } catch (e) {
      prefix.release();
      for (const l of lists.values()) l.release();
      throw e;
    }
  }

  /**
   * `attr`'s token-level IVF as prepared (need.multiIvf): the prefix and the lists the query's probes named, or null
   * (the part has none).
   */
  heldMvIvf(attr: string): MvIvfHeld | null {
    const file = this.held<MvIvfFile>(`mvivf:${attr}`);
    if (file === undefined) return null;
    const list = (c: number) => {
      const l = this.held<MvIvfList>(`mvivl:${attr}:${c}`);
      if (l === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `${file.where}: list ${c} used before prepare()`);
      return l;
    };
    return { file, list };
  }

  /** The file of `attr`'s token-level IVF per the head, or null. */
  mvIvfName(attr: string): string | null {
    return this.mvIvfByAttr.get(attr) ?? null;
  }

  /** A prepared MUVERA index of `attr` (need.multiFde), or null (the part has none). */
  heldFde(attr: string): FdeFile | null {
    return this.held<FdeFile>(`mvfde:${attr}`) ?? null;
  }

  /** The file of `attr`'s MUVERA index per the head, or null. */
  fdeName(attr: string): string | null {
    return this.fdeByAttr.get(attr) ?? null;
  }

  /** The file of `attr`'s sparse kNN index per the head, or null. */
  sparseIndexName(attr: string): string | null {
    return this.sparseByAttr.get(attr) ?? null;
  }

  /** A prepared sparse kNN index of `attr` (need.sparse), or null (the part has none: the column was prepared). */
  heldSparseIndex(attr: string): SparseIndexFile | null {
    return this.held<SparseIndexFile>(`sparse:${attr}`) ?? null;
  }

  /** The head's entry for `attr`'s filter index, or null. */
  filterIndexInfo(attr: string): FilterIndexInfo | null {
    return this.fidxByAttr.get(attr) ?? null;
  }

  /** A fuzzy index (fuzzy-index.ts), decoded, through the BlockCache, pinned until the release; like attrIndex. */
  private fuzzyIndex(info: FuzzyIndexInfo): Promise<Lease<FuzzyIndex>> {
    const key = this.key(info.file);
    return this.cache.getPinned<FuzzyIndex>(key, async () => {
      const bytes = await this.whole(info.file);
      const blocks = Array.from({ length: info.blocks.offset.length }, (_, b) => sliceBlock(bytes, info.blocks, b));
      const d = decodeFuzzyIndex(info, blocks, this.rows, key);
      return { value: d, bytes: fuzzyIndexBytes(d) };
    });
  }

  /**
   * A version 2 fuzzy index's directory (fuzzy-blocks.ts): one ranged GET of its block, checked by the head's CRC-32,
   * through the BlockCache, pinned until the release.
   */
  private fuzzyDirectory(info: FuzzyIndexInfo): Promise<Lease<FuzzyDirectory>> {
    const key = this.key(info.file);
    return this.cache.getPinned<FuzzyDirectory>(`${key}#dir`, async () => {
      const d = decodeFuzzyDirectory(info, await this.block(info.file, info.blocks, 0), key);
      return { value: d, bytes: d.bytes };
    });
  }

  /**
   * A version 2 fuzzy index prepared for the queries `specs`: its directory; the terms of the blocks whose range may
   * hold a match (fuzzySurvivors); then the rows of the blocks where a query's walk matched a term. Blocks the cache
   * lacks are read by range (adjacent ones in one GET), each checked by the directory's CRC-32 and decoded into the
   * BlockCache; every one is pinned until the releases (named for `held`).
   */
  private async fuzzyBlocks(info: FuzzyIndexInfo, specs: readonly FuzzySpec[]): Promise<{ name: string; lease: Lease<unknown> }[]> {
    const dirLease = await this.fuzzyDirectory(info);
    const out: { name: string; lease: Lease<unknown> }[] = [{ name: `ffz:${info.attr}`, lease: dirLease }];
    try {
      const dir = dirLease.value;
      const key = this.key(info.file);
      const survivors = new Set<number>();
      for (const spec of specs) for (const b of fuzzySurvivors(dir, spec).blocks) survivors.add(b);
      const terms = await this.pinnedBlocks(info.file, dir.table, [...survivors], (b) => `${key}#t${b}`, (b, raw) => decodeFuzzyTerms(dir, b, raw, key));
      const held = new Map<number, FuzzyTermsBlock>();
      terms.forEach(({ b, lease }) => {
        held.set(b, lease.value);
        out.push({ name: `ffzt:${info.attr}:${b}`, lease });
      });
      const matched = new Set<number>();
      for (const spec of specs) fuzzyWalkBlocks(dir, (b) => held.get(b), spec, (b) => matched.add(b));
      const rows = await this.pinnedBlocks(info.file, dir.table, [...matched].map((b) => dir.blocks + b), (b) => `${key}#r${b}`, (b, raw) => decodeFuzzyRows(dir, b - dir.blocks, raw, this.rows, key));
      for (const { b, lease } of rows) out.push({ name: `ffzr:${info.attr}:${b - dir.blocks}`, lease });
      return out;
    } catch (e) {
      for (const o of out) o.lease.release();
      throw e;
    }
  }

  /**
   * Blocks of a block file decoded into the BlockCache and pinned: those the cache lacks read by range, adjacent ones
   * in one GET (at most 64), each checked by its CRC-32.
   */
  private async pinnedBlocks<T extends { bytes: number }>(file: string, t: BlockTable, blocks: number[], keyOf: (b: number) => string, decode: (b: number, raw: Uint8Array) => T): Promise<{ b: number; lease: Lease<T> }[]> {
    blocks.sort((x, y) => x - y);
    const missing = blocks.filter((b) => this.cache.get(keyOf(b)) === undefined);
    const runs: [number, number][] = [];
    for (const b of missing) {
      const last = runs[runs.length - 1];
      if (last && last[1] === b - 1 && b - last[0] < 64) last[1] = b;
      else runs.push([b, b]);
    }
    await Promise.all(
      runs.map(async ([from, to]) => {
        const raws = await this.blockRun(file, t, from, to);
        raws.forEach((raw, i) => {
          const d = decode(from + i, raw);
          this.cache.set(keyOf(from + i), d, d.bytes);
        });
      }),
    );
    const out: { b: number; lease: Lease<T> }[] = [];
    try {
      for (const b of blocks) {
        // Normally in the cache now; read alone if evicted meanwhile.
        const lease = await this.cache.getPinned<T>(keyOf(b), async () => {
          const d = decode(b, await this.block(file, t, b));
          return { value: d, bytes: d.bytes };
        });
        out.push({ b, lease });
      }
    } catch (e) {
      for (const o of out) o.lease.release();
      throw e;
    }
    return out;
  }

  /** Blocks from..to (adjacent) of a block file in one ranged GET (through the disk cache), each checked by its CRC-32. */
  private async blockRun(name: string, t: BlockTable, from: number, to: number): Promise<Uint8Array[]> {
    if (from === to) return [await this.block(name, t, from)];
    const key = this.key(name);
    const start = t.offset[from]!;
    const end = t.offset[to]! + t.length[to]!;
    const split = (bytes: Uint8Array) => {
      const out: Uint8Array[] = [];
      for (let b = from; b <= to; b++) {
        const ref = blockRef(t, b);
        out.push(checkBlock(bytes.subarray(ref.offset - start, ref.offset - start + ref.length), ref, `${key} block ${b}`));
      }
      return out;
    };
    if (this.files) {
      const verify = (got: Uint8Array) => {
        try {
          split(got);
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      };
      return split(await this.files.get(this.store, key, verify, { start, end }));
    }
    const got = await this.store.get(key, { start, end });
    if (!got) throw partFileMissing(key, this.store.description);
    return split(got.bytes);
  }

  /** The head's entry for `attr`'s fuzzy index, or null. */
  fuzzyIndexInfo(attr: string): FuzzyIndexInfo | null {
    return this.ffzByAttr.get(attr) ?? null;
  }

  /**
   * A prepared fuzzy index of `attr` (need.fuzzyIndexes), or null: version 1 whole, version 2 its directory and the
   * term blocks prepared for the query's Fuzzy leaves.
   */
  heldFuzzyIndex(attr: string): FuzzyReader | null {
    const info = this.ffzByAttr.get(attr);
    if (info?.version === 2) {
      const dir = this.held<FuzzyDirectory>(`ffz:${attr}`);
      if (dir === undefined) return null;
      return { kind: 'fuzzy-blocked', dir, terms: (b) => this.held<FuzzyTermsBlock>(`ffzt:${attr}:${b}`), rows: (b) => this.held<FuzzyRowsBlock>(`ffzr:${attr}:${b}`) };
    }
    return this.held<FuzzyIndex>(`ffz:${attr}`) ?? null;
  }

  /** A prepared filter index of `attr` (need.filterIndexes), or null. */
  heldAttrIndex(attr: string): AttrIndex | null {
    return this.held<AttrIndex>(`fidx:${attr}`) ?? null;
  }

  /** One column block, alone (ranged GET), for materialising a few rows; pinned until the release. */
  private columnBlock(file: RowBlockedFile, b: number): Promise<Lease<ColumnBlock>> {
    const key = `${this.key(file.file)}#${b}`;
    const whole = this.cache.get<Column>(this.key(file.file));
    if (whole) return Promise.resolve({ value: whole.blocks[b]!, release: this.cache.pin(this.key(file.file), whole.bytes) });
    return this.cache.getPinned(key, async () => {
      const block = ColumnBlock.decode(await this.block(file.file, file.blocks, b), key);
      return { value: block, bytes: block.bytes + 64 };
    });
  }

  /** Every vector, in one buffer with their squared norms (scans); pinned until the release. */
  private vectorsWhole(): Promise<Lease<FlatVectors>> {
    const v = this.head.vectors!;
    const key = this.key(v.file);
    return this.cache.getPinned(key, async () => {
      const bytes = await this.whole(v.file);
      const n = this.rows;
      const blocks = v.blocks.offset.length - 1;
      const stride = v.block_rows * v.dims * 4;
      const shared = this.opts.sharedVectors === true && typeof SharedArrayBuffer === 'function';
      let data: Float32Array;
      let contiguous = bytes.byteOffset % 4 === 0;
      for (let b = 0; b < blocks && contiguous; b++) contiguous = v.blocks.offset[b] === b * stride;
      if (contiguous && !shared) {
        // The builder writes vector blocks back to back from offset 0: the file is the matrix (no copy: a copy of
        // 100+ MB costs more in fresh pages than the read itself).
        data = new Float32Array(bytes.buffer, bytes.byteOffset, n * v.dims);
      } else {
        // In shared memory when the engine scans on its pool (opts.sharedVectors; query/pool-scan.ts, RFC-0010 "Tail
        // scans on the pool"): one copy when the part is loaded, none per query.
        data = new Float32Array(shared ? new SharedArrayBuffer(n * v.dims * 4) : new ArrayBuffer(n * v.dims * 4));
        if (contiguous) new Uint8Array(data.buffer).set(bytes.subarray(0, n * v.dims * 4));
        else {
          for (let b = 0; b < blocks; b++) {
            const raw = sliceBlock(bytes, v.blocks, b);
            new Uint8Array(data.buffer, b * stride, raw.byteLength).set(raw);
          }
        }
      }
      const present = sliceBlock(bytes, v.blocks, blocks).slice();
      const sqNorms = new Float64Array(shared ? new SharedArrayBuffer(n * 8) : new ArrayBuffer(n * 8));
      for (let r = 0; r < n; r++) sqNorms[r] = sqNormAt(data, r * v.dims, v.dims);
      const all = v.present === n;
      const value: FlatVectors = { data, dims: v.dims, present: all ? null : present, sqNorms };
      return { value, bytes: data.byteLength + sqNorms.byteLength + present.byteLength };
    });
  }

  /**
   * Reads the vector blocks among `blocks` that the cache lacks, one ranged read per run of adjacent blocks (at most
   * 64 blocks each), each block checked against its CRC-32 and put in the cache, where vectorBlock finds it. A
   * failure here is left to vectorBlock, which reads the block alone and reports it.
   */
  private prefetchVectorRuns(blocks: number[]): { blocks: Set<number>; done: Promise<void> } {
    const v = this.head.vectors!;
    const inRuns = new Set<number>();
    if (this.cache.get(this.key(v.file)) !== undefined) return { blocks: inRuns, done: Promise.resolve() }; // the whole file is held
    const key = this.key(v.file);
    const missing = blocks.filter((b) => this.cache.get(`${key}#${b}`) === undefined).sort((a, b) => a - b);
    const runs: [number, number][] = [];
    for (const b of missing) {
      const last = runs[runs.length - 1];
      if (last && last[1] === b - 1 && b - last[0] < 64) last[1] = b;
      else runs.push([b, b]);
    }
    const multi = runs.filter(([from, to]) => to > from);
    for (const [from, to] of multi) for (let b = from; b <= to; b++) inRuns.add(b);
    const done = Promise.all(
      multi.map(async ([from, to]) => {
        const start = v.blocks.offset[from]!;
        const end = v.blocks.offset[to]! + v.blocks.length[to]!;
        const split = (bytes: Uint8Array) => {
          const out: Uint8Array[] = [];
          for (let b = from; b <= to; b++) {
            const ref = blockRef(v.blocks, b);
            out.push(checkBlock(bytes.subarray(ref.offset - start, ref.offset - start + ref.length), ref, `${key} block ${b}`));
          }
          return out;
        };
        try {
          let bytes: Uint8Array;
          if (this.files) {
            bytes = await this.files.get(this.store, key, (got) => {
              try {
                split(got);
                return null;
              } catch (e) {
                return (e as Error).message;
              }
            }, { start, end });
          } else {
            const got = await this.store.get(key, { start, end });
            if (!got) return;
            bytes = got.bytes;
          }
          split(bytes).forEach((raw, i) => {
            const data = new Float32Array(raw.byteLength / 4);
            new Uint8Array(data.buffer).set(raw);
            this.cache.set(`${key}#${from + i}`, data, data.byteLength);
          });
        } catch {
          // vectorBlock reads the blocks one by one and reports what is wrong
        }
      }),
    ).then(() => undefined);
    return { blocks: inRuns, done };
  }

  /** One block of vectors (head.vectors.block_rows rows), alone (ANN candidates, returned rows); pinned until the release. */
  private vectorBlock(b: number): Promise<Lease<Float32Array>> {
    const v = this.head.vectors!;
    const wholeKey = this.key(v.file);
    const whole = this.cache.get<FlatVectors>(wholeKey);
    if (whole) {
      const value = whole.data.subarray(b * v.block_rows * v.dims, Math.min(this.rows, (b + 1) * v.block_rows) * v.dims);
      return Promise.resolve({ value, release: this.cache.pin(wholeKey, 0) });
    }
    const key = `${this.key(v.file)}#${b}`;
    return this.cache.getPinned(key, async () => {
      const raw = await this.block(v.file, v.blocks, b);
      const data = new Float32Array(raw.byteLength / 4);
      new Uint8Array(data.buffer).set(raw);
      return { value: data, bytes: data.byteLength };
    });
  }

  /** Which rows have a vector (null: all), pinned until the release. */
  private presence(): Promise<Lease<Uint8Array | null>> {
    const v = this.head.vectors!;
    if (v.present === this.rows) return Promise.resolve({ value: null, release: NO_RELEASE });
    const wholeKey = this.key(v.file);
    const whole = this.cache.get<FlatVectors>(wholeKey);
    if (whole) return Promise.resolve({ value: whole.present, release: this.cache.pin(wholeKey, 0) });
    const b = v.blocks.offset.length - 1;
    return this.cache.getPinned(`${this.key(v.file)}#presence`, async () => {
      const raw = await this.block(v.file, v.blocks, b);
      return { value: raw.slice(), bytes: raw.byteLength };
    });
  }

  private pin(key: string, value: unknown): Release {
    const p = this.pinned.get(key);
    if (p) p.refs++;
    else this.pinned.set(key, { value, refs: 1 });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const q = this.pinned.get(key)!;
      if (--q.refs === 0) this.pinned.delete(key);
    };
  }

  /**
   * Row `ord`'s vector if it is in the block cache right now (null: the row has none; undefined: not cached), without
   * fetching or pinning: valid only until the caller's next await (an ANN rerank reads it synchronously at once).
   */
  peekVectorAt(ord: number): { data: Float32Array; off: number } | null | undefined {
    const v = this.head.vectors;
    if (v === null) return null;
    const keys = (this.#vecKeys ??= { whole: this.key(v.file), presence: `${this.key(v.file)}#presence`, blocks: [] });
    const whole = this.cache.get<FlatVectors>(keys.whole);
    if (whole) return whole.present === null || (whole.present[ord >> 3]! & (1 << (ord & 7))) !== 0 ? { data: whole.data, off: ord * v.dims } : null;
    if (v.present !== this.rows) {
      const present = this.cache.get<Uint8Array>(keys.presence);
      if (present === undefined) return undefined;
      if ((present[ord >> 3]! & (1 << (ord & 7))) === 0) return null;
    }
    const b = Math.floor(ord / v.block_rows);
    // The block keys are made once per part: a fresh string per lookup would be built and hashed a thousand times
    // per ANN query.
    const block = this.cache.get<Float32Array>((keys.blocks[b] ??= `${keys.whole}#${b}`));
    return block === undefined ? undefined : { data: block, off: (ord - b * v.block_rows) * v.dims };
  }

  /**
   * peekVectorAt over many rows: `visit(i, data, off)` for each rows[i] whose vector is in the block cache right now
   * (data null: the row has none), and the indexes of the rows not cached returned. The whole file and the presence
   * bitmap are looked up once, not per row (an exact ranking of a thousand matches).
   */
  peekVectorsAt(rows: ArrayLike<number>, visit: (i: number, data: Float32Array | null, off: number) => void): number[] {
    const missing: number[] = [];
    const v = this.head.vectors;
    if (v === null) {
      for (let i = 0; i < rows.length; i++) visit(i, null, 0);
      return missing;
    }
    const keys = (this.#vecKeys ??= { whole: this.key(v.file), presence: `${this.key(v.file)}#presence`, blocks: [] });
    const whole = this.cache.get<FlatVectors>(keys.whole);
    if (whole) {
      const present = whole.present;
      for (let i = 0; i < rows.length; i++) {
        const o = rows[i]!;
        if (present === null || (present[o >> 3]! & (1 << (o & 7))) !== 0) visit(i, whole.data, o * v.dims);
        else visit(i, null, 0);
      }
      return missing;
    }
    const present = v.present !== this.rows ? this.cache.get<Uint8Array>(keys.presence) : null;
    if (present === undefined) {
      for (let i = 0; i < rows.length; i++) missing.push(i);
      return missing;
    }
    let lastB = -1;
    let block: Float32Array | undefined;
    for (let i = 0; i < rows.length; i++) {
      const o = rows[i]!;
      if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) {
        visit(i, null, 0);
        continue;
      }
      const b = Math.floor(o / v.block_rows);
      if (b !== lastB) {
        block = this.cache.get<Float32Array>((keys.blocks[b] ??= `${keys.whole}#${b}`));
        lastB = b;
      }
      if (block === undefined) missing.push(i);
      else visit(i, block, (o - b * v.block_rows) * v.dims);
    }
    return missing;
  }

  /** peekVectorAt's cache keys (the vector file whole, its presence bitmap, block b), made on first use. */
  #vecKeys: { whole: string; presence: string; blocks: string[] } | undefined;

  /** First row of each block of a row-blocked file. */
  private columnStarts(f: RowBlockedFile): Uint32Array {
    return f.blocks.start ?? Uint32Array.of(0);
  }

  /**
   * `attr`'s values prepared by block (need.attrRows), or null when none is held: a reader of the rows prepared, the
   * others read as missing.
   */
  /** `attr`'s column file per the head, or undefined when the part has none. */
  columnFile(attr: string): RowBlockedFile | undefined {
    return this.columnsByName.get(attr);
  }

  attrBlockReader(attr: string): ((ord: number) => AttrValue | undefined) | null {
    const f = this.columnsByName.get(attr);
    if (f === undefined) return null;
    const starts = this.columnStarts(f);
    let any = false;
    for (let b = 0; b < starts.length && !any; b++) any = this.pinned.has(`colblock:${attr}:${b}`);
    if (!any) return null;
    return (ord) => {
      const b = blockIndex(starts, ord);
      return this.held<ColumnBlock>(`colblock:${attr}:${b}`)?.get(ord - starts[b]!) as AttrValue | undefined;
    };
  }

  /** First row of each block of the id column (id(ord) by block: need.idRows). */
  get idBlockStarts(): Uint32Array {
    return (this.#idStarts ??= this.head.ids.blocks.start ?? Uint32Array.of(0));
  }
  #idStarts: Uint32Array | undefined;

  held<T>(key: string): T | undefined {
    return this.pinned.get(key)?.value as T | undefined;
  }

  /**
   * Fetch and pin what `need` names; the release unpins it. Pinned twice over: here (the kernels' synchronous
   * accessors read `held`) and in the BlockCache (which then never evicts it and counts it in pinnedBytes).
   */
  async prepare(need: SegmentNeed & { vectorRows?: ArrayLike<number> }): Promise<Release> {
    const releases: Release[] = [];
    const tasks: Promise<void>[] = [];
    const take = <T>(name: string, lease: Promise<Lease<T>>) =>
      tasks.push(
        lease.then(({ value, release }) => {
          releases.push(release, this.pin(name, value));
        }),
      );
    if (need.ids !== false) take('ids', this.column(this.head.ids));
    else if (need.idRows && need.idRows.length > 0) {
      const starts = this.idBlockStarts;
      const blocks = new Set<number>();
      for (let i = 0; i < need.idRows.length; i++) blocks.add(blockIndex(starts, need.idRows[i]!));
      for (const b of blocks) take(`idblock:${b}`, this.columnBlock(this.head.ids, b));
    }
    for (const attr of need.filterIndexes ?? []) {
      const f = this.fidxByAttr.get(attr);
      if (f) take(`fidx:${attr}`, this.attrIndex(f));
    }
    for (const { attr, specs } of need.fuzzyIndexes ?? []) {
      const f = this.ffzByAttr.get(attr);
      if (f?.version === 2) {
        tasks.push(
          this.fuzzyBlocks(f, specs).then((leases) => {
            for (const { name, lease } of leases) releases.push(lease.release, this.pin(name, lease.value));
          }),
        );
      } else if (f) take(`ffz:${attr}`, this.fuzzyIndex(f));
    }
    for (const attr of need.attrs) {
      const f = this.columnsByName.get(attr);
      if (f) take(`col:${attr}`, this.column(f));
    }
    if (need.attrRows !== undefined && need.attrRows.rows.length > 0 && !need.attrs.includes(need.attrRows.attr)) {
      const { attr, rows } = need.attrRows;
      const f = this.columnsByName.get(attr);
      if (f) {
        const starts = this.columnStarts(f);
        const blocks = new Set<number>();
        for (let i = 0; i < rows.length; i++) blocks.add(blockIndex(starts, rows[i]!));
        for (const b of blocks) take(`colblock:${attr}:${b}`, this.columnBlock(f, b));
      }
    }
    for (const attr of need.multiFde ?? []) {
      const file = this.fdeByAttr.get(attr);
      if (file !== undefined) take(`mvfde:${attr}`, this.fdeFile(file));
    }
    for (const { attr, query, nprobe } of need.multiIvf ?? []) {
      const file = this.mvIvfByAttr.get(attr);
      if (file === undefined) continue;
      // The prefix and each list pinned under its own name: concurrent queries share them (their probes differ).
      tasks.push(
        this.mvIvfLists(file, query, nprobe).then(({ prefix, lists }) => {
          releases.push(prefix.release, this.pin(`mvivf:${attr}`, prefix.value));
          for (const [c, l] of lists) releases.push(l.release, this.pin(`mvivl:${attr}:${c}`, l.value));
        }),
      );
    }
    for (const { attr, dims } of need.sparse ?? []) {
      const file = this.sparseByAttr.get(attr);
      if (file !== undefined) take(`sparse:${attr}`, this.sparseIndexFile(file, dims));
      else if (!need.attrs.includes(attr)) {
        const f = this.columnsByName.get(attr);
        if (f) take(`col:${attr}`, this.column(f));
      }
    }
    if (this.head.vectors) {
      if (need.vectors) take('vectors', this.vectorsWhole());
      else if (need.vectorRows && need.vectorRows.length > 0) {
        const v = this.head.vectors;
        const blocks = new Set<number>();
        for (let i = 0; i < need.vectorRows.length; i++) blocks.add(Math.floor(need.vectorRows[i]! / v.block_rows));
        // Adjacent blocks not in the cache come in one ranged read per run (a cluster's candidates are adjacent rows),
        // in the same round trip as the blocks read alone.
        const inRuns = this.prefetchVectorRuns([...blocks]);
        for (const b of blocks) take(`vblock:${b}`, inRuns.blocks.has(b) ? inRuns.done.then(() => this.vectorBlock(b)) : this.vectorBlock(b));
        take('presence', this.presence());
      }
    }
    if (need.index && this.head.index.kind === 'hnsw') take('index', this.loadIndex());
    if (need.vectorAttrIndex !== undefined) {
      const f = this.vannByAttr.get(need.vectorAttrIndex);
      if (f !== undefined) take(`vann:${f.attr}`, this.loadVectorAttrIndex(f));
    }
    for (const text of need.postings ?? []) {
      if (!this.postingsByAttr.has(text.attr)) continue;
      take(`postings:${text.attr}`, this.loadPostings(text));
    }
    // Every task settles before a failure is reported, so nothing a failed prepare pinned stays pinned.
    const failed = (await Promise.allSettled(tasks)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const r of releases) r();
      throw failed.reason;
    }
    return () => {
      for (const r of releases) r();
    };
  }

  private get graphs(): BlockCache {
    return this.opts.graphs ?? this.cache;
  }

  /**
   * Whether an ANN query should search this part through its HNSW graph now: the part has none, the graph is in
   * memory, or it is small enough to load first (`graphWaitBytes`). Otherwise the caller scans the part's vectors
   * exactly this time and then calls `loadAnn`.
   */
  annReady(): boolean {
    if (this.head.index.kind !== 'hnsw') return true;
    if (this.graphs.get(this.key(HNSW_FILE)) !== undefined) return true;
    return this.info(HNSW_FILE).bytes <= (this.opts.graphWaitBytes ?? DEFAULT_GRAPH_WAIT_BYTES);
  }

  /**
   * Loads the HNSW graph in the background, unless it is larger than the whole graph budget (it would never stay:
   * the part is always scanned exactly). Called after the query that scanned exactly answered, so the graph's
   * download does not compete with that query's reads. Failures are not cached: a later query tries again.
   */
  loadAnn(): void {
    if (this.annQueued || this.head.index.kind !== 'hnsw' || this.info(HNSW_FILE).bytes > this.graphs.budgetBytes) return;
    this.annQueued = true;
    const load = async (): Promise<unknown> => (this.graphs.get(this.key(HNSW_FILE)) !== undefined ? undefined : (await this.loadIndex()).release());
    (this.opts.graphLoads ? this.opts.graphLoads.run(load) : load())
      .catch(() => undefined)
      .finally(() => {
        this.annQueued = false;
      });
  }

  /** A background graph load is queued or running (`loadAnn` queues one per part). */
  private annQueued = false;

  /** The HNSW graph, in the graph cache (its native memory counted at its file size), pinned until the release. */
  private loadIndex(): Promise<Lease<HnswIndex>> {
    const key = this.key(HNSW_FILE);
    return this.graphs.getPinned(key, async () => {
      const info = this.info(HNSW_FILE);
      // hnswlib reads the disk cache's verified file (or a private temporary one) itself: the process never holds
      // the file's bytes beside the graph (the graph file has no block table; it is checked by size and SHA-256).
      const ix = await loadGraph(this.store, key, info, this.graphFiles, this.head.index.space!, this.head.dims!, this.head.index.vectors, 'head');
      return { value: ix, bytes: info.bytes };
    });
  }

  /**
   * A postings file (its dictionary; large files fetch the named lists by range), in the BlockCache, pinned until the
   * release, with the lists `text` names fetched and decoded. The cache counts what the file holds (memoryBytes():
   * bytes kept, term strings, fetched and decoded lists), re-counted after each query's lists are in.
   */
  private async loadPostings(text: TextNeed): Promise<Lease<PostingsFile>> {
    const p = this.postingsByAttr.get(text.attr)!;
    const key = this.key(p.name);
    const lease = await this.cache.getPinned(key, async () => {
      let f: PostingsFile;
      if (p.bytes >= (this.opts.rangedPostingsMinBytes ?? RANGED_POSTINGS_MIN_BYTES)) {
        const read = async (start: number, end: number) => {
          const got = await this.store.get(key, { start, end });
          if (!got) throw partFileMissing(key, this.store.description);
          return got.bytes;
        };
        f = await PostingsFile.openRanged(read, p.bytes, key, { shared: this.opts.sharedVectors === true });
      } else f = new PostingsFile(await this.whole(p.name), key, null, { shared: this.opts.sharedVectors === true });
      if (f.rows !== this.rows || f.header.attr !== text.attr || f.header.analysis !== p.analysis) {
        throw new ElaxError('ELAX_ERR_CORRUPT', `${key} does not match its head entry (attribute, analysis or row count)`);
      }
      return { value: f, bytes: f.memoryBytes() };
    });
    try {
      const file = lease.value;
      const lists = neededLists(file, text);
      await file.fetch(lists);
      file.decode(lists);
      this.cache.resize(key, file.memoryBytes());
      return lease;
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  postings(attr: string, analysis: string): PostingsFile | null {
    const p = this.postingsByAttr.get(attr);
    if (p === undefined || p.analysis !== analysis) return null;
    return this.held<PostingsFile>(`postings:${attr}`) ?? null;
  }

  /** Another vector column's HNSW graph (RFC-0014), in the graph cache like vectors.hnsw, pinned until the release. */
  private loadVectorAttrIndex(f: VectorAttrIndexInfo): Promise<Lease<HnswIndex>> {
    const key = this.key(f.file);
    return this.graphs.getPinned(key, async () => {
      const info = this.info(f.file);
      const ix = await loadGraph(this.store, key, info, this.graphFiles, f.space, f.dims, f.vectors, 'head');
      return { value: ix, bytes: info.bytes };
    });
  }

  /** As annReady, for `attr`'s graph (RFC-0014): none, in memory, or small enough to load first. */
  vectorAttrAnnReady(attr: string): boolean {
    const f = this.vannByAttr.get(attr);
    if (f === undefined || this.graphs.get(this.key(f.file)) !== undefined) return true;
    return this.info(f.file).bytes <= (this.opts.graphWaitBytes ?? DEFAULT_GRAPH_WAIT_BYTES);
  }

  /** Graph files of other vector columns with a background load queued or running (loadVectorAttrAnn). */
  private readonly vannQueued = new Set<string>();

  /** As loadAnn, for `attr`'s graph: loads it in the background unless it is larger than the whole graph budget. */
  loadVectorAttrAnn(attr: string): void {
    const f = this.vannByAttr.get(attr);
    if (f === undefined || this.vannQueued.has(f.file) || this.info(f.file).bytes > this.graphs.budgetBytes) return;
    this.vannQueued.add(f.file);
    const load = async (): Promise<unknown> => (this.graphs.get(this.key(f.file)) !== undefined ? undefined : (await this.loadVectorAttrIndex(f)).release());
    (this.opts.graphLoads ? this.opts.graphLoads.run(load) : load())
      .catch(() => undefined)
      .finally(() => {
        this.vannQueued.delete(f.file);
      });
  }

  vectorAttrIndexName(attr: string, metric: DistanceMetric): string | null {
    const f = this.vannByAttr.get(attr);
    return f !== undefined && f.space === spaceFor(metric) ? f.file : null;
  }

  /**
   * About the k nearest rows passing `allow` by `attr`'s graph, or null: no graph of it in this metric, or not prepared
   * (scan it). With `allow`, as annSearch: few allowed rows are the candidates themselves (a walk would starve), and a
   * walk that finds fewer than exist falls back to them.
   */
  vectorAttrAnnSearch(attr: string, metric: DistanceMetric, query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): number[] | null {
    const f = this.vannByAttr.get(attr);
    if (f === undefined || f.space !== spaceFor(metric) || f.dims !== query.length) return null;
    const index = this.held<HnswIndex>(`vann:${attr}`);
    if (index === undefined) return null;
    const want = Math.min(k, f.vectors);
    if (want <= 0) return [];
    let allowed: number[] | null = null;
    if (allow) {
      allowed = [];
      for (let o = 0; o < this.rows; o++) if (allow(o)) allowed.push(o);
      if (annChoice('hnsw', allowed.length, want) === 'exact') return allowed;
    }
    index.setEf(Math.max(ef, want));
    const res = index.searchKnn(Array.from(query), want, allow ? (label: number) => allow(label) : undefined);
    if (allowed !== null && res.neighbors.length < want) return allowed;
    return res.neighbors;
  }

  /** Approximate neighbours (hnswlib) among rows passing `allow`, or null for a flat part (scan it exactly). */
  annSearch(query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): OrdinalHit[] | null {
    if (this.head.index.kind !== 'hnsw') return null;
    const index = this.held<HnswIndex>('index');
    if (index === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.partId}: annSearch before prepare() loaded its HNSW index`);
    const want = Math.min(k, this.head.index.vectors);
    if (want <= 0) return [];
    let allowed: number[] | null = null;
    if (allow) {
      // Few allowed rows: they are the candidates (ranked exactly by the caller); a graph walk would starve.
      allowed = [];
      for (let o = 0; o < this.rows; o++) if (allow(o)) allowed.push(o);
      if (annChoice('hnsw', allowed.length, want) === 'exact') return allowed.map((o) => ({ ordinal: o, distance: NaN }));
    }
    index.setEf(Math.max(ef, want));
    const res = index.searchKnn(Array.from(query), want, allow ? (label: number) => allow(label) : undefined);
    // A filtered walk can strand itself in a region with no allowed rows: never return fewer than exist.
    if (allowed !== null && res.neighbors.length < want) return allowed.map((o) => ({ ordinal: o, distance: NaN }));
    return res.neighbors.map((o, i) => ({ ordinal: o, distance: res.distances[i]! }));
  }

  /** The format-3 head, or an internal error naming what needed it. */
  private ivfHead(what: string): PartHeadV3 {
    if (this.head.ivf === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.partId} (format ${this.head.format_version}) has no clustered index: ${what}`);
    return this.head as PartHeadV3;
  }

  /**
   * Format 3: the cluster table (RFC-0008 §2), read with one ranged GET of ivf.blk's one block (verified by its
   * CRC-32, checked against the head) and kept in the BlockCache.
   */
  clusterTable(early?: Promise<Uint8Array | null>): Promise<ClusterTable> {
    const head = this.ivfHead('clusterTable');
    const key = `${this.key(head.ivf.file)}#table`;
    return this.cache.getOrLoad(key, async () => {
      const bytes = (early && (await tableFromWhole(early, blockRef(head.ivf.blocks, 0), `${this.key(head.ivf.file)} block 0`))) || (await this.block(head.ivf.file, head.ivf.blocks, 0));
      const t = decodeClusterTable(bytes, head, this.key(head.ivf.file));
      return { value: t, bytes: t.offset.byteLength * 3 + 64 };
    });
  }

  /**
   * Format 3: the codes of the clusters `centroids` names (ids of the namespace codebook), for the synchronous
   * search hook `cluster(c)` of ivf/search.ts. Each cluster the part holds costs one ranged GET of its codes.blk
   * block (all in parallel, through the disk cache when there is one), verified by the block's CRC-32 and checked
   * against the cluster table; a damaged block fails with ELAX_ERR_CORRUPT naming the file and block, and nothing
   * of it is cached. The codes stay pinned in the BlockCache until the release. `codes(c)` of a cluster the part
   * lacks is empty; of one not asked for, an internal error.
   */
  /**
   * Fetch and pin the codes of the clusters `centroids` names; a function chooses them from the part's cluster table
   * (read first in any case: it locates the codes), so a caller can pick per part without another round trip.
   */
  async prepareClusters(centroids: Iterable<number> | ((table: ClusterTable) => Iterable<number>)): Promise<PreparedClusters> {
    const head = this.ivfHead('prepareClusters');
    const table = await this.clusterTable();
    if (typeof centroids === 'function') centroids = centroids(table);
    const codes = head.ivf.codes;
    // By entry of the cluster table: the codes held (undefined: not asked), and the centroids asked that the part
    // does not hold. A warm query asks hundreds of resident blocks: pinned with one release for all of them
    // (BlockCache.peekPin), no closure nor map entry each.
    const held: (ClusterCodes | undefined)[] = new Array(table.centroid.length);
    let absent: Set<number> | null = null;
    const pinnedKeys: string[] = [];
    const releases: Release[] = [];
    const tasks: Promise<void>[] = [];
    for (const c of centroids) {
      const i = clusterEntry(table, c);
      if (i < 0) {
        (absent ??= new Set()).add(c);
        continue;
      }
      if (held[i] !== undefined) continue;
      const key = this.clusterKey(codes.file, i);
      const resident = this.cache.peekPin<ClusterCodes>(key);
      if (resident !== undefined) {
        held[i] = resident;
        pinnedKeys.push(key);
        continue;
      }
      held[i] = EMPTY_CODES; // asked; set when loaded
      const where = `${this.key(codes.file)} block ${i}`;
      tasks.push(
        this.cache
          .getPinned(key, async () => {
            const cc = checkClusterCodes(decodeClusterBytesIn(await this.block(codes.file, codes.blocks, i), where), table, i, head.ivf.padded, where, head.dims ?? undefined);
            return { value: cc, bytes: codes.blocks.length[i]! + 256 };
          })
          .then(({ value, release }) => {
            held[i] = value;
            releases.push(release);
          }),
      );
    }
    let released = false;
    const release: Release = () => {
      if (released) return;
      released = true;
      this.cache.unpin(pinnedKeys);
      for (const r of releases) r();
    };
    const failed = tasks.length === 0 ? undefined : (await Promise.allSettled(tasks)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      release();
      throw failed.reason;
    }
    const empty = emptyCodes(head.ivf.padded);
    return {
      table,
      codes: (c) => {
        const i = clusterEntry(table, c);
        const got = i < 0 ? undefined : held[i];
        if (got !== undefined) return got;
        if (absent === null || !absent.has(c)) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.partId}: codes of cluster ${c} used before prepareClusters fetched them`);
        return empty;
      },
      release,
    };
  }

  /** Documents of `ords` (any order), reading only their blocks of the fields asked for (default: all). */
  async docs(ords: readonly number[], fields?: DocFields): Promise<Doc[]> {
    if (ords.length === 0) return [];
    const h = this.head;
    const blocksOf = (file: RowBlockedFile) => {
      const starts = file.blocks.start ?? Uint32Array.of(0);
      const need = new Map<number, number[]>();
      ords.forEach((o, i) => {
        const b = blockIndex(starts, o);
        const list = need.get(b);
        if (list) list.push(i);
        else need.set(b, [i]);
      });
      return { starts, need };
    };
    const out: Doc[] = ords.map(() => ({ id: 0, vector: null, attrs: {} }));
    const readColumn = async (file: RowBlockedFile, put: (i: number, v: AttrValue) => void) => {
      const { starts, need } = blocksOf(file);
      await Promise.all(
        [...need].map(async ([b, idx]) => {
          const { value: block, release } = await this.columnBlock(file, b);
          try {
            for (const i of idx) put(i, block.get(ords[i]! - starts[b]!));
          } finally {
            release();
          }
        }),
      );
    };
    const tasks: Promise<void>[] = [readColumn(h.ids, (i, v) => (out[i]!.id = v as Id))];
    const wanted = fields === undefined || fields.attrs === 'all' ? null : new Set(fields.attrs);
    for (const c of h.columns) {
      if (wanted !== null && !wanted.has(c.name)) continue;
      tasks.push(
        readColumn(c, (i, v) => {
          if (v !== null && v !== undefined) out[i]!.attrs[c.name] = v;
        }),
      );
    }
    if (h.vectors && (fields === undefined || fields.vector)) {
      const v = h.vectors;
      tasks.push(
        (async () => {
          const { value: present, release } = await this.presence();
          release(); // read right below, before any await
          const blocks = new Map<number, number[]>();
          ords.forEach((o, i) => {
            if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) return;
            const b = Math.floor(o / v.block_rows);
            const list = blocks.get(b);
            if (list) list.push(i);
            else blocks.set(b, [i]);
          });
          await Promise.all(
            [...blocks].map(async ([b, idx]) => {
              const { value: data, release: done } = await this.vectorBlock(b);
              try {
                for (const i of idx) {
                  const off = (ords[i]! - b * v.block_rows) * v.dims;
                  out[i]!.vector = data.slice(off, off + v.dims);
                }
              } finally {
                done();
              }
            }),
          );
        })(),
      );
    }
    await Promise.all(tasks);
    return out;
  }

  /** The query segment of this part under a view's dead mask. */
  segment(dead: Uint8Array | null): PartSegment {
    return new PartSegment(this, dead);
  }
}

/** A placeholder of prepareClusters for a block being loaded (never returned: a failed load fails the call). */
const EMPTY_CODES = emptyClusterCodes(64);

/** The codes of a cluster the part does not hold, one per padded dimension (immutable: n = 0, empty arrays). */
const emptyByPadded = new Map<number, ClusterCodes>();
function emptyCodes(padded: number): ClusterCodes {
  let e = emptyByPadded.get(padded);
  if (e === undefined) emptyByPadded.set(padded, (e = emptyClusterCodes(padded)));
  return e;
}

/** The codes of some clusters of a format-3 part, pinned until `release` (PartData.prepareClusters). */
export interface PreparedClusters {
  table: ClusterTable;
  /** Cluster c's codes (rows named by ordinal: firstRow + i); empty when the part holds no row in c. */
  codes(c: number): ClusterCodes;
  release: Release;
}

/** decodeClusterBytes with its errors naming the block read. */
function decodeClusterBytesIn(bytes: Uint8Array, where: string): ClusterCodes {
  try {
    return decodeClusterBytes(bytes);
  } catch (e) {
    if (e instanceof ElaxError) throw new ElaxError(e.code, `${where}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A v2 part as a query segment: data through PartData (pinned while a query runs), liveness from the view. */
export class PartSegment implements Segment {
  private sortedDead: number[] | null = null;
  private readonly masks = new WeakMap<object, { bits: Bitmap; exact: boolean; mask?: Uint8Array }>();
  private readonly values = new WeakMap<object, { attr: string; codes: Uint16Array | Uint32Array; accept: Uint8Array; live: number } | null>();

  constructor(
    readonly data: PartData,
    readonly dead: Uint8Array | null,
  ) {}

  get rows(): number {
    return this.data.rows;
  }

  deadOrdinals(): readonly number[] {
    return (this.sortedDead ??= deadOrdinalsOf(this.dead));
  }

  prepare(need: SegmentNeed & { vectorRows?: ArrayLike<number> }): Promise<Release> {
    return this.data.prepare(need);
  }

  id(ord: number): Id {
    const whole = this.data.held<Column>('ids');
    if (whole !== undefined) return valueAt(whole, ord) as Id;
    // Prepared by row (need.idRows): the row's block.
    const starts = this.data.idBlockStarts;
    const b = blockIndex(starts, ord);
    const block = this.data.held<ColumnBlock>(`idblock:${b}`);
    if (block === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.data.head.namespace}/${this.data.head.part_id}: the id of row ${ord} was read before it was prepared`);
    return block.get(ord - starts[b]!) as Id;
  }

  value(attr: string, ord: number): AttrValue | undefined {
    const col = this.data.held<Column>(`col:${attr}`);
    if (col === undefined) return this.data.attrBlockReader(attr)?.(ord);
    return valueAt(col, ord);
  }

  /**
   * Rows the filter may match, from the prepared filter indexes (exact: does match); null without any. Remembered per
   * filter object (a parsed query's), so a query that asks twice (filtered ANN: the candidates, then their ranking)
   * evaluates once; a new query body is a new object. Callers may clear the dead rows' entries, never set any.
   */
  filterMask(filter: unknown, compile: LeafCompiler, trace?: LeafTrace): { mask: Uint8Array; exact: boolean } | null {
    if (trace !== undefined) return filterMaskOf(filter, this.rows, (a) => this.data.heldAttrIndex(a), compile, trace, this.fuzzyOf);
    const e = this.filterBits(filter, compile);
    if (e === null) return null;
    e.mask ??= e.bits.toByteMask();
    return { mask: e.mask, exact: e.exact };
  }

  /**
   * The same evaluation as a bitmap (dead rows included): counts and per-cluster range cardinalities without a pass
   * over a byte per row (namespace/ivf-query.ts). Remembered per filter object like filterMask.
   */
  filterBits(filter: unknown, compile: LeafCompiler): { bits: Bitmap; exact: boolean; mask?: Uint8Array } | null {
    const key = typeof filter === 'object' && filter !== null ? filter : null;
    const hit = key === null ? undefined : this.masks.get(key);
    if (hit !== undefined) return hit;
    const e = evalWithIndexes(filter, this.rows, (a) => this.data.heldAttrIndex(a), compile, undefined, this.fuzzyOf);
    if (e === null || e.bits === null) return null;
    const out: { bits: Bitmap; exact: boolean; mask?: Uint8Array } = { bits: e.bits, exact: e.exact };
    if (key !== null) this.masks.set(key, out);
    return out;
  }

  /**
   * `attr`'s min and max over the part's rows (the head's column stats), or null when the column has none. Only for
   * columns of one scalar kind (numbers, or strings such as datetimes): the stats skip values of other types.
   */
  attrRange(attr: string): { min: number | string; max: number | string } | null {
    const c = this.data.head.columns.find((x) => x.name === attr);
    if (c === undefined || (c.kind !== 'f64' && c.kind !== 'utf8')) return null;
    const st = c.stats;
    return st && st.min !== undefined && st.max !== undefined ? { min: st.min, max: st.max } : null;
  }

  /** The head's entry for `attr`'s filter index (kind, file), or null when the part has none. */
  filterIndexInfo(attr: string): FilterIndexInfo | null {
    return this.data.filterIndexInfo(attr);
  }

  /** The head's entry for `attr`'s fuzzy index, or null when the part has none. */
  fuzzyIndexInfo(attr: string): FuzzyIndexInfo | null {
    return this.data.fuzzyIndexInfo(attr);
  }

  /** The prepared fuzzy indexes, for filter evaluation. */
  private readonly fuzzyOf = (attr: string): FuzzyReader | null => this.data.heldFuzzyIndex(attr);

  /**
   * The filter as a test per row by value (Segment.filterValues; filter-eval.ts valueFilterOf), its live matches
   * counted from the dictionary's value bitmaps minus the dead rows it accepts. Remembered per filter object.
   */
  filterValues(filter: unknown, compile: LeafCompiler): { attr: string; codes: Uint16Array | Uint32Array; accept: Uint8Array; live: number } | null {
    const key = typeof filter === 'object' && filter !== null ? filter : null;
    if (key !== null && this.values.has(key)) return this.values.get(key)!;
    const v = valueFilterOf(filter, (a) => this.data.heldAttrIndex(a), compile);
    let out: { attr: string; codes: Uint16Array | Uint32Array; accept: Uint8Array; live: number } | null = null;
    if (v !== null) {
      const codes = dictCodes(v.index, this.rows);
      let live = v.rows;
      for (const o of this.deadOrdinals()) if (v.accept[codes[o]!] === 1) live--;
      out = { attr: v.attr, codes, accept: v.accept, live };
    }
    if (key !== null) this.values.set(key, out);
    return out;
  }

  /**
   * Aggregations over bitmaps (RFC-0009 §3, slice 5): the live rows the filter matches (the indexes' exact mask, minus
   * the dead rows), whole or split by the values of `groupAttr` through its scalar dictionary (value bitmap ∧ mask):
   * counts without reading a row, and the rows themselves (ascending) when `rows` is asked for (Sum reads its
   * column for them). Null when the indexes do not answer the filter exactly or the group key has no such
   * dictionary: the caller scans.
   */
  aggregateByIndex(filter: unknown, compile: LeafCompiler | undefined, groupAttr: string | null, rows: boolean): { value: unknown; count: number; rows?: Uint32Array }[] | null {
    const n = this.rows;
    let m: Bitmap;
    if (filter !== null) {
      const e = compile ? evalWithIndexes(filter, n, (a) => this.data.heldAttrIndex(a), compile, undefined, this.fuzzyOf) : null;
      if (e === null || !e.exact || e.bits === null) return null;
      m = e.bits;
    } else m = Bitmap.full(n);
    const dead = this.deadOrdinals();
    if (dead.length > 0) m = m.andNot(Bitmap.fromSorted(n, Uint32Array.from(dead)));
    const group = (value: unknown, b: Bitmap) => ({ value, count: b.cardinality, ...(rows ? { rows: b.toArray() } : {}) });
    if (groupAttr === null) return [group(undefined, m)];
    const g = this.data.heldAttrIndex(groupAttr);
    if (g === null || g.kind !== 'dict' || g.array) return null;
    const out: { value: unknown; count: number; rows?: Uint32Array }[] = [];
    const nulls = g.nulls.and(m);
    if (nulls.cardinality > 0) out.push(group(null, nulls));
    for (let i = 0; i < g.values.length; i++) {
      const b = g.bitmaps[i]!.and(m);
      if (b.cardinality > 0) out.push(group(g.values[i], b));
    }
    return out;
  }

  /**
   * Rows in the order of `attr` by its prepared filter index (order-walk.ts); false when it has none that orders.
   * `bound` (from orderBound) skips the values no matching row holds.
   */
  walkOrder(attr: string, desc: boolean, visit: (value: unknown, ord: number) => boolean, bound?: OrderBound): boolean {
    const idx = this.data.heldAttrIndex(attr);
    return idx !== null && walkIndexOrder(idx, desc, visit, bound);
  }

  /**
   * The positions of `attr`'s prepared index a row must hold to match `filter` (its required range leaves on `attr`,
   * filter-eval.ts requiredRange); null when it requires none or `attr` has no index that orders.
   */
  orderBound(attr: string, filter: unknown, compile: LeafCompiler): OrderBound | null {
    const idx = this.data.heldAttrIndex(attr);
    return idx === null ? null : requiredRange(filter, attr, idx, compile);
  }

  reader(attr: string): (ord: number) => AttrValue | undefined {
    const col = this.data.held<Column>(`col:${attr}`);
    if (col === undefined) return this.data.attrBlockReader(attr) ?? (() => undefined);
    const { starts, blocks } = col;
    let b = 0;
    let lo = starts[0]!;
    let hi = starts.length > 1 ? starts[1]! : Infinity;
    return (ord) => {
      if (ord < lo || ord >= hi) {
        b = blockIndex(starts, ord);
        lo = starts[b]!;
        hi = b + 1 < starts.length ? starts[b + 1]! : Infinity;
      }
      return blocks[b]!.get(ord - lo);
    };
  }

  /**
   * `attr`'s vectors (RFC-0014 §4) as f32: views into the fvec blocks held (the whole column, or the candidates'
   * blocks), a json block's value copied into a reused buffer (parts written before the kind, or a block that fell
   * back to json); null for rows without a vector of `dims` numbers, and for rows not prepared.
   */
  vectorReader(attr: string, dims: number): (ord: number) => Float32Array | null {
    const col = this.data.held<Column>(`col:${attr}`);
    let starts: Uint32Array;
    let blockAt: (b: number) => ColumnBlock | undefined;
    if (col !== undefined) {
      starts = col.starts;
      blockAt = (b) => col.blocks[b];
    } else {
      const f = this.data.columnFile(attr);
      if (f === undefined) return () => null;
      starts = f.blocks.start ?? Uint32Array.of(0);
      blockAt = (b) => this.data.held<ColumnBlock>(`colblock:${attr}:${b}`);
    }
    const buf = new Float32Array(dims);
    let block: ColumnBlock | undefined;
    let lo = 0;
    let hi = -1;
    return (ord) => {
      if (ord < lo || ord >= hi) {
        const b = blockIndex(starts, ord);
        block = blockAt(b);
        lo = starts[b]!;
        hi = b + 1 < starts.length ? starts[b + 1]! : Infinity;
      }
      if (block === undefined) return null;
      if (block.vec !== null) return block.dims === dims ? block.vectorAt(ord - lo) : null;
      return vectorInto(block.get(ord - lo), buf);
    };
  }

  vectors(): FlatVectors | null {
    return this.data.held<FlatVectors>('vectors') ?? null;
  }

  vectorAt(ord: number): { data: Float32Array; off: number } | null {
    const whole = this.vectors();
    const v = this.data.head.vectors;
    if (v === null) return null;
    if (whole) return (whole.present === null || (whole.present[ord >> 3]! & (1 << (ord & 7))) !== 0) ? { data: whole.data, off: ord * v.dims } : null;
    const present = this.data.held<Uint8Array | null>('presence');
    if (present !== undefined && present !== null && (present[ord >> 3]! & (1 << (ord & 7))) === 0) return null;
    const b = Math.floor(ord / v.block_rows);
    const block = this.data.held<Float32Array>(`vblock:${b}`);
    if (block === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.data.partId}: vector of row ${ord} used before prepare()`);
    return { data: block, off: (ord - b * v.block_rows) * v.dims };
  }

  docs(ords: readonly number[], fields?: DocFields): Promise<Doc[]> {
    return this.data.docs(ords, fields);
  }

  postings(attr: string, analysis: string): PostingsFile | null {
    return this.data.postings(attr, analysis);
  }

  sparseIndex(attr: string): SparseIndexFile | null {
    return this.data.heldSparseIndex(attr);
  }

  sparseIndexName(attr: string): string | null {
    return this.data.sparseIndexName(attr);
  }

  multiFde(attr: string): FdeFile | null {
    return this.data.heldFde(attr);
  }

  multiFdeName(attr: string): string | null {
    return this.data.fdeName(attr);
  }

  multiIvf(attr: string): MvIvfHeld | null {
    return this.data.heldMvIvf(attr);
  }

  multiIvfName(attr: string): string | null {
    return this.data.mvIvfName(attr);
  }

  annSearch(query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): OrdinalHit[] | null {
    return this.data.annSearch(query, k, ef, allow);
  }

  annReady(): boolean {
    return this.data.annReady();
  }

  vectorAttrAnnSearch(attr: string, metric: DistanceMetric, query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): number[] | null {
    return this.data.vectorAttrAnnSearch(attr, metric, query, k, ef, allow);
  }

  vectorAttrIndexName(attr: string, metric: DistanceMetric): string | null {
    return this.data.vectorAttrIndexName(attr, metric);
  }

  vectorAttrAnnReady(attr: string): boolean {
    return this.data.vectorAttrAnnReady(attr);
  }

  loadVectorAttrAnn(attr: string): void {
    this.data.loadVectorAttrAnn(attr);
  }

  loadAnn(): void {
    this.data.loadAnn();
  }
}

/** Block i of a whole file that `whole` verified (every block checked against the same table). */
function sliceBlock(bytes: Uint8Array, t: BlockTable, i: number): Uint8Array {
  return bytes.subarray(t.offset[i]!, t.offset[i]! + t.length[i]!);
}

/**
 * The cluster table's block out of a whole `ivf.blk` read before the head arrived (the catalog's early read: the
 * table is that file's block 0, at offset 0), verified by the head's CRC-32. Null, so the caller reads the block by
 * range as usual, when the early read failed, found nothing, or does not hold the block the head describes.
 */
async function tableFromWhole(early: Promise<Uint8Array | null>, ref: BlockRef, where: string): Promise<Uint8Array | null> {
  const whole = await early.catch(() => null);
  if (whole === null || whole.byteLength < ref.offset + ref.length) return null;
  try {
    return checkBlock(whole.subarray(ref.offset, ref.offset + ref.length), ref, where);
  } catch {
    return null;
  }
}
