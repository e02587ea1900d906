/**
 * Building a part from the final state of a WAL range, and uploading it (RFC-0003 steps 4-5):
 * encode rows.parquet, vectors.hnsw (large enough parts only) and tombstones.json, checksum them into the manifest,
 * upload the files, then manifest.json last.
 */
import { ElaxError, type DistanceMetric, type Doc, type Id, type Schema } from '../core/index.js';
import { compareIds } from '../query/index.js';
import { tryParseType } from '../schema/index.js';
import type { ObjectStore } from '../store/index.js';
import { DEFAULT_EF_CONSTRUCTION, DEFAULT_M, HNSW_SEED, buildHnsw, spaceFor } from './hnsw.js';
import { PART_FORMAT_VERSION, encodeManifest, sha256, type PartFtsInfo, type PartIndexInfo, type PartManifest } from './manifest.js';
import { HNSW_FILE, IDEMPOTENCY_FILE, MANIFEST_FILE, ROWS_FILE, TOMBSTONES_FILE, partFileKey, postingsFileName } from './paths.js';
import { encodeRows } from './rows-format.js';
import { encodeTombstones } from './tombstones.js';
import { buildPartFilesV2 } from './build-v2.js';
import { buildPartFilesV3, type IvfBuildOptions } from './build-v3.js';
import type { Codebook } from '../ivf/index.js';
import { analysisKey, analyzerFor, buildPostings, fullTextConfigOf, isTextValue } from '../fts/index.js';

/**
 * Parts with fewer vectors than this are searched by exact scan instead of an HNSW index (exact, and no build).
 * Measured for 128-d, k 10: an exact scan costs ≈ 0.4 µs per vector (50 µs at 128 vectors, 108 µs at 256, 400 µs at
 * 1024); an HNSW search ≈ 35-90 µs at any of these sizes (mostly fixed N-API and copying cost). The crossover is
 * ≈ 128 vectors; at 256 the scan costs ≈ 60 µs more per query, which buys exactness and skips a ~50 ms build.
 * Lower dimensions make the scan cheaper (the crossover moves up), higher ones move it down.
 */
export const DEFAULT_FLAT_THRESHOLD = 256;

/** The part format new parts are written in (RFC-0004). `--part-format 1` keeps a store readable by older builds. */
export const DEFAULT_PART_FORMAT = 2;

export interface PartBuildInput {
  namespace: string;
  partId: string;
  walStart: number;
  walEnd: number;
  level: number;
  /** The shard of a sharded namespace the part belongs to (RFC-0013); recorded in the manifest. */
  shard?: number;
  /** Final state of the range: id → full doc (upsert) or null (delete). */
  changes: ReadonlyMap<Id, Doc | null>;
  /** WAL seq each upsert came from (the `_seq` column); ids missing here get walEnd, an upper bound. */
  seqs?: ReadonlyMap<Id, number>;
  schema: Schema;
  distanceMetric: DistanceMetric | null;
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  createdAt: string;
  /**
   * Idempotency-Keys of the requests folded into the part (and of merged parts). They must outlive the WAL entries
   * that recorded them (GC deletes those), or a retried ingest chunk would be applied twice after indexing.
   */
  idempotencyKeys?: Iterable<string>;
  /**
   * Part format to write: 1 (rows.parquet), 2 (block files, RFC-0004) or 3 (format 2 with a clustered vector index,
   * RFC-0008 §2; needs `vectorIndex`). Default DEFAULT_PART_FORMAT, or 3 with `vectorIndex`.
   */
  partFormat?: number;
  /**
   * Index the vectors in clusters with RaBitQ codes against the namespace codebook (part format 3) instead of an
   * HNSW graph. Not used by the indexer yet (RFC-0008 slice 2b).
   */
  vectorIndex?: IvfBuildOptions;
  /**
   * Index `[][N]f32` attributes with late_interaction by MUVERA encodings (`mvfde-{n}.bin`, RFC-0015 §3), as parts
   * built before the token-level IVF (§4) did, instead of that IVF. Tests of the old path only.
   */
  multivecFde?: boolean;
}

export interface BuiltPart {
  files: { name: string; bytes: Uint8Array }[];
  manifest: PartManifest;
  /**
   * Format 3: the codebook the part was built against. `changed`: trained or extended by this build (a new
   * version), so the caller uploads it (vindex/ writeCodebook) and names it in router.vindex in the same publish.
   */
  codebook?: { codebook: Codebook; changed: boolean };
}

function vectorDimsOf(schema: Schema, docs: readonly Doc[]): number | null {
  const t = schema.vector ? tryParseType(schema.vector.type) : null;
  if (t && t.kind === 'vector') return t.dims;
  for (const d of docs) if (d.vector) return d.vector.length;
  return null;
}

/** The final rows (id order), deleted ids and each row's WAL seq of a build input, checked. */
export function foldedRows(input: PartBuildInput): { docs: Doc[]; deleted: Id[]; seqs: number[] } {
  const { walStart, walEnd } = input;
  if (!Number.isSafeInteger(walStart) || !Number.isSafeInteger(walEnd) || walStart < 0 || walEnd < walStart) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: bad WAL range ${walStart}..${walEnd}`);
  }
  const docs: Doc[] = [];
  const deleted: Id[] = [];
  for (const [id, d] of input.changes) {
    if (d === null) deleted.push(id);
    else if (d.id !== id) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: change for ${JSON.stringify(id)} holds doc ${JSON.stringify(d.id)}`);
    else docs.push(d);
  }
  docs.sort((a, b) => compareIds(a.id, b.id));
  deleted.sort(compareIds);
  const seqs = docs.map((d) => {
    const s = input.seqs?.get(d.id) ?? walEnd;
    if (!(s >= walStart && s <= walEnd)) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: seq ${s} of ${JSON.stringify(d.id)} is outside ${walStart}..${walEnd}`);
    return s;
  });
  return { docs, deleted, seqs };
}

/** vectors.hnsw for parts with at least flatThreshold vectors (label = row ordinal), and the manifest's index entry. */
export function buildIndexFile(input: PartBuildInput, docs: readonly Doc[], dims: number | null): { file: { name: string; bytes: Uint8Array } | null; index: PartIndexInfo } {
  // The namespace's own HNSW parameters (schema vector.ann) win over the indexer's defaults.
  const ann = typeof input.schema.vector?.ann === 'object' ? input.schema.vector.ann : {};
  const M = ann.m ?? input.hnsw?.M ?? DEFAULT_M;
  const efConstruction = ann.ef_construction ?? input.hnsw?.efConstruction ?? DEFAULT_EF_CONSTRUCTION;
  const flatThreshold = input.hnsw?.flatThreshold ?? DEFAULT_FLAT_THRESHOLD;
  const ordinals: number[] = [];
  docs.forEach((d, i) => {
    if (d.vector) ordinals.push(i);
  });
  const space = spaceFor(input.distanceMetric ?? 'cosine_distance');
  if (dims !== null && ordinals.length > 0 && ordinals.length >= flatThreshold) {
    const vectors = new Float32Array(docs.length * dims);
    for (const o of ordinals) vectors.set(docs[o]!.vector!, o * dims);
    return {
      file: { name: HNSW_FILE, bytes: buildHnsw({ space, dims, M, efConstruction }, vectors, ordinals) },
      index: { kind: 'hnsw', M, ef_construction: efConstruction, seed: HNSW_SEED, space, vectors: ordinals.length },
    };
  }
  return { file: null, index: { kind: 'flat', M: null, ef_construction: null, seed: null, space: dims === null ? null : space, vectors: ordinals.length } };
}

/** One postings file per full_text_search attribute of the schema (built with its current analysis). */
export function buildPostingsFiles(input: PartBuildInput, docs: readonly Doc[]): { files: { name: string; bytes: Uint8Array }[]; fts: PartFtsInfo[] } {
  const files: { name: string; bytes: Uint8Array }[] = [];
  const fts: PartFtsInfo[] = [];
  for (const attr of Object.keys(input.schema).sort()) {
    const config = fullTextConfigOf(input.schema[attr]!.full_text_search, attr);
    if (config === null) continue;
    const analyzer = analyzerFor(config);
    const name = postingsFileName(fts.length);
    const read = (d: Doc) => {
      const v = d.attrs[attr];
      return v !== null && v !== undefined && isTextValue(v) ? analyzer.tokens(v) : null;
    };
    files.push({ name, bytes: buildPostings(docs, attr, analyzer, read) });
    fts.push({ attr, file: name, analysis: analysisKey(config) });
  }
  return { files, fts };
}

export function sortedKeys(input: PartBuildInput): string[] {
  return [...new Set(input.idempotencyKeys ?? [])].sort();
}

export function vectorDims(schema: Schema, docs: readonly Doc[]): number | null {
  return vectorDimsOf(schema, docs);
}

/**
 * Pure: encode all files of a part and its manifest. CPU heavy (HNSW build): callers run it in a worker thread.
 * Deterministic: the same input gives byte-identical files (fixed HNSW seed, sorted rows and columns).
 */
export async function buildPartFiles(input: PartBuildInput): Promise<BuiltPart> {
  const format = input.partFormat ?? (input.vectorIndex ? 3 : DEFAULT_PART_FORMAT);
  if ((format === 3) !== (input.vectorIndex !== undefined)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `part format ${format} ${input.vectorIndex ? 'has no clustered vector index' : 'needs a clustered vector index (vectorIndex)'}`);
  }
  if (format === 3) return buildPartFilesV3(input);
  if (format === 2) return buildPartFilesV2(input);
  if (format !== 1) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `part format ${format} is not one this build writes (1, 2 or 3)`);
  const { walStart, walEnd } = input;
  const { docs, deleted, seqs } = foldedRows(input);

  const dims = vectorDimsOf(input.schema, docs);
  const rowsBytes = encodeRows(docs, seqs, input.schema, dims);
  const files: { name: string; bytes: Uint8Array }[] = [{ name: ROWS_FILE, bytes: rowsBytes }];
  const { file: hnswFile, index } = buildIndexFile(input, docs, dims);
  if (hnswFile) files.push(hnswFile);
  files.push({ name: TOMBSTONES_FILE, bytes: encodeTombstones(deleted) });
  const postings = buildPostingsFiles(input, docs);
  files.push(...postings.files);
  const fts = postings.fts;
  const keys = sortedKeys(input);
  if (keys.length > 0) files.push({ name: IDEMPOTENCY_FILE, bytes: Buffer.from(JSON.stringify(keys)) });

  const manifest: PartManifest = {
    format_version: PART_FORMAT_VERSION,
    namespace: input.namespace,
    part_id: input.partId,
    wal_start: walStart,
    wal_end: walEnd,
    rows: docs.length,
    tombstones: deleted.length,
    dims,
    distance_metric: input.distanceMetric,
    schema: input.schema,
    index,
    files: files.map((f) => ({ name: f.name, bytes: f.bytes.byteLength, sha256: sha256(f.bytes) })),
    created_at: input.createdAt,
    ...(fts.length > 0 ? { fts } : {}),
    level: input.level,
    ...(input.shard !== undefined ? { shard: input.shard } : {}),
  };
  return { files, manifest };
}

/** Upload a built part: every file, then manifest.json last, so a part is readable only once it is complete. */
export async function uploadPart(store: ObjectStore, built: BuiltPart): Promise<void> {
  const { namespace, part_id } = built.manifest;
  await Promise.all(built.files.map((f) => store.put(partFileKey(namespace, part_id, f.name), f.bytes)));
  await store.put(partFileKey(namespace, part_id, MANIFEST_FILE), encodeManifest(built.manifest));
}
