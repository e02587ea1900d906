/**
 * Loading a part: manifest first (a part without one is incomplete and never read), then each listed file, verified
 * against the manifest's size and SHA-256 before anything decodes it (hnswlib trusts its input blindly). Format-2
 * block files read whole are verified by their size and every block's CRC-32 instead (PartData: 5 GB/s, where
 * SHA-256 runs at ≈0.4 GB/s). HNSW graphs are verified as they stream into a local file that hnswlib then reads
 * (`loadGraph`): never whole in memory.
 */
import { createHash } from 'node:crypto';
import { partFileMissing } from './missing.js';
import { ElaxError, type Doc, type Id } from '../core/index.js';
import { decodeV2 } from './decode-v2.js';
import { isBlockHead } from './head.js';
import type { ObjectStore } from '../store/index.js';
import type { PartFileCache } from './file-cache.js';
import { loadHnswFile, type HnswIndex } from './hnsw.js';
import { downloadToTemp, type LocalFile, type StreamCheck } from './file-stream.js';
import { LoadedPart } from './loaded-part.js';
import { hashYielding, readManifest, sha256Yielding, type HnswSpace, type PartFileInfo } from './manifest.js';
import type { VerifyBytes } from './file-cache.js';
import { HNSW_FILE, IDEMPOTENCY_FILE, ROWS_FILE, TOMBSTONES_FILE, manifestKey, partFileKey } from './paths.js';
import { decodeRows } from './rows-format.js';
import { decodeTombstones } from './tombstones.js';
import { PostingsFile } from '../fts/index.js';

async function mismatch(key: string, f: PartFileInfo, bytes: Uint8Array): Promise<string | null> {
  if (bytes.byteLength !== f.bytes) return `${key} has ${bytes.byteLength} bytes; its manifest says ${f.bytes}`;
  if ((await sha256Yielding(bytes)) !== f.sha256) return `${key} does not match the SHA-256 in its manifest`;
  return null;
}

/**
 * The disk cache to read a part's blocks and whole files through: none in front of a store on this machine's own disk
 * (ObjectStore.local), whose reads are this disk's already — a copy would double the I/O and the space, and each cached
 * file costs the event loop an exists check, a write and a rename (docs/rfcs/0010-worker-pool.md "Part blocks from a
 * local store"). Graph files keep the cache whatever the store: hnswlib loads a path.
 */
export function blockCacheFor(store: ObjectStore, files: PartFileCache | undefined): PartFileCache | undefined {
  return store.local === true ? undefined : files;
}

/**
 * A file's verified bytes. Through the cache, a cached copy that fails verification is deleted and fetched again
 * (and the good copy cached); store bytes that fail are corrupt either way.
 */
export async function fetchVerified(store: ObjectStore, key: string, f: PartFileInfo, cache?: PartFileCache, check?: VerifyBytes): Promise<Uint8Array> {
  const verify = check ?? ((bytes: Uint8Array) => mismatch(key, f, bytes));
  if (cache) return cache.get(store, key, verify);
  const got = await store.get(key);
  if (!got) throw partFileMissing(key, store.description);
  const bad = await verify(got.bytes);
  if (bad) throw new ElaxError('ELAX_ERR_CORRUPT', bad);
  return got.bytes;
}

/** `mismatch` as a stream: the same size and SHA-256 checks, chunk by chunk (too many bytes fail at once). */
export function streamMismatch(key: string, f: PartFileInfo): StreamCheck {
  const h = createHash('sha256');
  let seen = 0;
  return {
    async update(chunk) {
      seen += chunk.byteLength;
      if (seen > f.bytes) return `${key} has more than ${f.bytes} bytes; its manifest says ${f.bytes}`;
      await hashYielding(h, chunk);
      return null;
    },
    finish() {
      if (seen !== f.bytes) return `${key} has ${seen} bytes; its manifest says ${f.bytes}`;
      return h.digest('hex') === f.sha256 ? null : `${key} does not match the SHA-256 in its manifest`;
    },
  };
}

/**
 * A file as a verified local path (size and SHA-256), never whole in memory: through the disk cache (pinned until
 * released), else downloaded into a private temporary file. Release it once read.
 */
export function fetchVerifiedFile(store: ObjectStore, key: string, f: PartFileInfo, cache?: PartFileCache): Promise<LocalFile> {
  const verify = () => streamMismatch(key, f);
  return cache ? cache.file(store, key, verify) : downloadToTemp(store, key, verify);
}

/**
 * A part's HNSW graph, read by hnswlib straight from a verified local file (fetchVerifiedFile), checked to hold the
 * `vectors` its part's head (`source`) announces.
 */
export async function loadGraph(store: ObjectStore, key: string, f: PartFileInfo, cache: PartFileCache | undefined, space: HnswSpace, dims: number, vectors: number, source: string): Promise<HnswIndex> {
  const file = await fetchVerifiedFile(store, key, f, cache);
  let index: HnswIndex;
  try {
    index = await loadHnswFile(space, dims, file.path);
  } finally {
    await file.release();
  }
  if (index.getCurrentCount() !== vectors) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} holds ${index.getCurrentCount()} vectors; its ${source} says ${vectors}`);
  return index;
}

export interface LoadPartOptions {
  /**
   * Fetch the HNSW index and postings files only when a query needs them (LoadedPart.prepare). The rows, tombstones
   * and idempotency keys are always loaded: every query needs them to know which rows are live. Default false.
   */
  lazy?: boolean;
  /**
   * Postings files at least this large are read by ranges (dictionary, then only the lists a query names) straight
   * from the store instead of whole through the disk cache. Default 4 MiB; Infinity for whole-file reads only.
   */
  rangedPostingsMinBytes?: number;
}

export const RANGED_POSTINGS_MIN_BYTES = 4 * 1024 * 1024;

export async function loadPart(store: ObjectStore, ns: string, partId: string, cache?: PartFileCache, opts: LoadPartOptions = {}): Promise<LoadedPart> {
  const manifest = await readManifest(store, ns, partId);
  if (!manifest) throw partFileMissing(manifestKey(ns, partId), `${store.description} (incomplete or deleted part)`);
  const byName = new Map(manifest.files.map((f) => [f.name, f]));
  const need = (name: string): PartFileInfo => {
    const f = byName.get(name);
    if (!f) throw new ElaxError('ELAX_ERR_CORRUPT', `part ${ns}/${partId}: manifest lists no ${name}`);
    return f;
  };
  const hnswInfo = manifest.index.kind === 'hnsw' ? need(HNSW_FILE) : null;
  const key = (name: string) => partFileKey(ns, partId, name);
  let rows: { docs: Doc[]; seqs: Float64Array; vectors: Float32Array; dims: number | null };
  let tombstones: Id[];
  let idempotencyKeys: string[];
  if (isBlockHead(manifest)) {
    // RFC-0004 slice 1: block files read whole (verified by SHA-256, then each block by its CRC-32) into documents.
    // Format 3's rows are in (cluster, id) order; LoadedPart looks ids up through a sorted permutation then.
    const v2 = await decodeV2(manifest, (name) => fetchVerified(store, key(name), need(name), cache), `${ns}/${partId}`);
    rows = v2;
    tombstones = v2.tombstones;
    idempotencyKeys = v2.keys;
  } else {
    const rowsInfo = need(ROWS_FILE);
    const tombInfo = need(TOMBSTONES_FILE);
    const keysInfo = byName.get(IDEMPOTENCY_FILE) ?? null;
    const [rowsBytes, tombBytes, keysBytes] = await Promise.all([
      fetchVerified(store, key(ROWS_FILE), rowsInfo, cache),
      fetchVerified(store, key(TOMBSTONES_FILE), tombInfo, cache),
      keysInfo ? fetchVerified(store, key(IDEMPOTENCY_FILE), keysInfo, cache) : Promise.resolve(null),
    ]);
    rows = decodeRows(rowsBytes, key(ROWS_FILE));
    tombstones = decodeTombstones(tombBytes, key(TOMBSTONES_FILE));
    idempotencyKeys = keysBytes ? decodeKeys(keysBytes, key(IDEMPOTENCY_FILE)) : [];
  }
  if (rows.docs.length !== manifest.rows || rows.dims !== manifest.dims) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `part ${ns}/${partId} has ${rows.docs.length} rows of ${rows.dims}-d vectors; its manifest says ${manifest.rows} of ${manifest.dims}`);
  }
  if (tombstones.length !== manifest.tombstones) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `part ${ns}/${partId} has ${tombstones.length} deleted ids; its manifest says ${manifest.tombstones}`);
  }
  const loadIndex = hnswInfo
    ? async (): Promise<HnswIndex> => {
        if (rows.dims === null || manifest.index.space === null) throw new ElaxError('ELAX_ERR_CORRUPT', `part ${ns}/${partId} has an HNSW index but no vectors`);
        return loadGraph(store, key(HNSW_FILE), hnswInfo, cache, manifest.index.space, rows.dims, manifest.index.vectors, 'manifest');
      }
    : null;
  const postings = (manifest.fts ?? []).map((f) => ({
    attr: f.attr,
    analysis: f.analysis,
    bytes: need(f.file).bytes,
    load: async (): Promise<PostingsFile> => {
      const info = need(f.file);
      let file: PostingsFile;
      if (info.bytes >= (opts.rangedPostingsMinBytes ?? RANGED_POSTINGS_MIN_BYTES)) {
        const k = key(f.file);
        const read = async (start: number, end: number) => {
          const got = await store.get(k, { start, end });
          if (!got) throw partFileMissing(k, store.description);
          return got.bytes;
        };
        file = await PostingsFile.openRanged(read, info.bytes, k);
      } else {
        file = new PostingsFile(await fetchVerified(store, key(f.file), info, cache), key(f.file));
      }
      if (file.rows !== manifest.rows || file.header.attr !== f.attr || file.header.analysis !== f.analysis) {
        throw new ElaxError('ELAX_ERR_CORRUPT', `${key(f.file)} does not match its manifest entry (attribute, analysis or row count)`);
      }
      return file;
    },
  }));
  const part = new LoadedPart({
    manifest,
    docs: rows.docs,
    seqs: rows.seqs,
    vectors: rows.vectors,
    dims: rows.dims,
    tombstones,
    loadIndex,
    indexBytes: hnswInfo?.bytes ?? 0,
    idempotencyKeys,
    postings,
  });
  if (!opts.lazy) await part.prepare({ index: true, postings: postings.map((p) => ({ attr: p.attr, terms: [], prefixes: [] })) });
  return part;
}

function decodeKeys(bytes: Uint8Array, where: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: not valid JSON`, { cause });
  }
  if (!Array.isArray(v) || !v.every((k) => typeof k === 'string')) throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: not an array of strings`);
  return v;
}
