/**
 * `{ns}/parts/{part-id}/manifest.json`: what a part holds and how to verify it. Written after every other file of
 * the part, so its presence means the part is complete; readers check every file's size and SHA-256 against it.
 */
import { createHash, type Hash } from 'node:crypto';
import { ElaxError, type DistanceMetric, type Schema } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import { manifestKey } from './paths.js';

import { decodeHeadV2, encodeHead, isBlockHead, PART_FORMAT_V3, type PartHeadV2 } from './head.js';

/**
 * Part formats this build reads: 1 (rows.parquet, read whole), 2 (block files, RFC-0004) and 3 (format 2 with a
 * clustered vector index, RFC-0008 §2). A build that reads only 1..2 refuses a format-3 head by this very check
 * (ELAX_ERR_INCOMPATIBLE_FORMAT), so old query nodes never answer from a part they half understand.
 */
export const PART_FORMAT_V1 = 1;
export const MAX_PART_FORMAT = 3;
/** @deprecated the v1 format number; kept for callers that build v1 parts. */
export const PART_FORMAT_VERSION = PART_FORMAT_V1;

/** hnswlib space: 'cosine' is 1 - cos_sim (vectors normalised on insert), 'l2' is the squared L2 distance. */
export type HnswSpace = 'cosine' | 'l2';

export interface PartIndexInfo {
  /**
   * 'hnsw': vectors.hnsw exists; 'flat': exact scan (small part, or no vectors at all); 'ivf': clusters and RaBitQ
   * codes (format 3 only, RFC-0008: ivf.blk and codes.blk).
   */
  kind: 'flat' | 'hnsw' | 'ivf';
  /** HNSW build parameters; null for flat parts. */
  M: number | null;
  ef_construction: number | null;
  /** Level-generator seed of the HNSW build (fixed, so the same input gives byte-identical files). */
  seed: number | null;
  space: HnswSpace | null;
  /** Rows that have a vector (the index's element count). */
  vectors: number;
}

export interface PartFileInfo {
  name: string;
  bytes: number;
  sha256: string;
}

export interface PartFtsInfo {
  attr: string;
  file: string;
  analysis: string;
}

export interface PartManifestV1 {
  format_version: number;
  namespace: string;
  part_id: string;
  /** Inclusive WAL range whose final state the part holds. */
  wal_start: number;
  wal_end: number;
  /** Live upserts (rows of rows.parquet). */
  rows: number;
  /** Deleted ids that shadow older parts (entries of tombstones.json). */
  tombstones: number;
  /** Vector dimensions, null when the part has no vector column. */
  dims: number | null;
  distance_metric: DistanceMetric | null;
  /** The namespace schema as of wal_end. */
  schema: Schema;
  index: PartIndexInfo;
  /** Every file of the part except manifest.json. */
  files: PartFileInfo[];
  created_at: string;
  /**
   * Postings files, one per full_text_search attribute of the schema, with the analysis they were built with
   * (analysisKey). A query whose attribute now has another analysis ignores them and analyses the rows instead.
   */
  fts?: PartFtsInfo[];
  /** Compaction level: 0 for parts built from the WAL, max(inputs) + 1 for merged parts. */
  level: number;
  /**
   * The shard of a sharded namespace whose ids the part holds (RFC-0013, core/shard.ts). Absent: unsharded. Additive:
   * a part reads the same without it.
   */
  shard?: number;
}

/** A part's manifest of either format: the common fields are readable without knowing which. */
export type PartManifest = PartManifestV1 | PartHeadV2;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Chunk hashed between yields by `sha256Yielding` (≈10 ms of SHA-256 on this machine kind). */
const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 of large bytes without holding the event loop: hashes 4 MiB, yields, hashes the next (a 158 MB graph is
 * ≈0.4 s of hashing, which must not stall every other request on the node).
 */
export async function sha256Yielding(bytes: Uint8Array): Promise<string> {
  if (bytes.byteLength <= HASH_CHUNK_BYTES) return sha256(bytes);
  const h = createHash('sha256');
  await hashYielding(h, bytes);
  return h.digest('hex');
}

/** Feeds bytes to a running hash 4 MiB at a time, yielding to the event loop after each step (see sha256Yielding). */
export async function hashYielding(h: Hash, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.byteLength; o += HASH_CHUNK_BYTES) {
    h.update(bytes.subarray(o, Math.min(bytes.byteLength, o + HASH_CHUNK_BYTES)));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export function encodeManifest(m: PartManifest): Uint8Array {
  return isBlockHead(m) ? encodeHead(m) : Buffer.from(JSON.stringify(m, null, 2));
}

function corrupt(where: string, what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parse and check the shape of a manifest; the format version is checked first so newer layouts fail clearly. */
export function decodeManifest(bytes: Uint8Array, where: string): PartManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: not valid JSON`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw corrupt(where, 'not a JSON object');
  const m = raw as PartManifestV1;
  if (!isNat(m.format_version)) throw corrupt(where, 'format_version is missing');
  if (m.format_version < 1 || m.format_version > MAX_PART_FORMAT) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: format_version ${m.format_version}; this build reads 1..${MAX_PART_FORMAT}`);
  }
  if (typeof m.namespace !== 'string' || typeof m.part_id !== 'string') throw corrupt(where, 'namespace or part_id is missing');
  if (!isNat(m.wal_start) || !isNat(m.wal_end) || m.wal_end < m.wal_start) throw corrupt(where, `bad WAL range ${m.wal_start}..${m.wal_end}`);
  if (!isNat(m.rows) || !isNat(m.tombstones) || !isNat(m.level)) throw corrupt(where, 'rows, tombstones or level is not a count');
  if (m.dims !== null && !(isNat(m.dims) && m.dims > 0)) throw corrupt(where, `bad dims ${String(m.dims)}`);
  if (typeof m.schema !== 'object' || m.schema === null) throw corrupt(where, 'schema is missing');
  const ix = m.index;
  if (typeof ix !== 'object' || ix === null || (ix.kind !== 'flat' && ix.kind !== 'hnsw' && ix.kind !== 'ivf') || !isNat(ix.vectors)) {
    throw corrupt(where, 'index is malformed');
  }
  if ((ix.kind === 'ivf') !== (m.format_version === PART_FORMAT_V3)) throw corrupt(where, `index kind ${ix.kind} in a format ${m.format_version} part`);
  if (ix.kind !== 'flat' && (ix.space !== 'cosine' && ix.space !== 'l2')) throw corrupt(where, `bad index space ${String(ix.space)}`);
  if (!Array.isArray(m.files)) throw corrupt(where, 'files is missing');
  if (m.fts !== undefined) {
    if (!Array.isArray(m.fts)) throw corrupt(where, 'fts is malformed');
    for (const f of m.fts) {
      if (typeof f?.attr !== 'string' || typeof f.file !== 'string' || typeof f.analysis !== 'string' || !m.files.some((x) => x?.name === f.file)) {
        throw corrupt(where, `malformed fts entry ${JSON.stringify(f)}`);
      }
    }
  }
  for (const f of m.files) {
    if (typeof f?.name !== 'string' || !isNat(f.bytes) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      throw corrupt(where, `malformed file entry ${JSON.stringify(f)}`);
    }
  }
  if (isBlockHead(m)) return decodeHeadV2(raw as Record<string, unknown>, where);
  return m;
}

/** The manifest of a part, or null if the part is incomplete (manifest.json not written yet, or never). */
export async function readManifest(store: ObjectStore, ns: string, partId: string): Promise<PartManifest | null> {
  const key = manifestKey(ns, partId);
  const got = await store.get(key);
  if (!got) return null;
  const m = decodeManifest(got.bytes, key);
  // The namespace is informational (a namespace copy may reuse parts verbatim); the part id must match its key.
  if (m.part_id !== partId) throw corrupt(key, `manifest names part ${m.part_id}`);
  return m;
}
