/**
 * ANN indexes of a part's other vector columns (RFC-0014): one HNSW graph (hnsw.ts, the same builder and file format
 * as vectors.hnsw) per [N]f32 / [N]f16 attribute other than `vector` with ann enabled, over the rows holding a value
 * (label = row ordinal), in the attribute's own metric. Like vectors.hnsw, parts with fewer such rows than the flat
 * threshold get none and are scanned exactly.
 *
 * Listed in the head's additive `vector_attr_indexes` field (no format bump: older readers ignore it and scan the
 * column exactly; parts built before it have none and are scanned exactly). Files `vann-{n}.hnsw`, verified by the
 * head's file list (size, SHA-256) like every part file.
 */
import { ElaxError, type AttrValue, type DistanceMetric, type Schema } from '../core/index.js';
import { tryParseType } from '../schema/index.js';
import { buildHnsw, DEFAULT_EF_CONSTRUCTION, DEFAULT_M, spaceFor } from './hnsw.js';
import type { HnswSpace } from './manifest.js';

export interface VectorAttrIndexInfo {
  attr: string;
  /** `vann-{n}.hnsw`. */
  file: string;
  /** hnswlib space of the attribute's metric when the part was built ('l2': euclidean_squared, 'cosine'). */
  space: HnswSpace;
  dims: number;
  /** Rows with a value: the graph's element count (checked on load). */
  vectors: number;
  M: number;
  ef_construction: number;
}

export function vectorAttrIndexFileName(n: number): string {
  return `vann-${n}.hnsw`;
}

/** The metric of a vector attribute: its own `ann.distance_metric`, else the namespace's, else cosine. */
export function vectorAttrMetric(schema: Schema, attr: string, namespaceMetric: DistanceMetric | null): DistanceMetric {
  const ann = schema[attr]?.ann;
  return (typeof ann === 'object' && ann !== null ? ann.distance_metric : undefined) ?? namespaceMetric ?? 'cosine_distance';
}

/** One graph per indexed vector attribute with at least `flatThreshold` values (columns in name order). */
export function buildVectorAttrIndexes(
  schema: Schema,
  columns: readonly { name: string; values: readonly AttrValue[] }[],
  opts: { distanceMetric: DistanceMetric | null; M?: number; efConstruction?: number; flatThreshold: number },
): { files: { name: string; bytes: Uint8Array }[]; infos: VectorAttrIndexInfo[] } {
  const files: { name: string; bytes: Uint8Array }[] = [];
  const infos: VectorAttrIndexInfo[] = [];
  for (const { name, values } of columns) {
    const a = schema[name];
    if (name === 'vector' || a === undefined || a.ann === false) continue;
    const t = tryParseType(a.type);
    if (t === null || t.kind !== 'vector') continue;
    const ordinals: number[] = [];
    values.forEach((v, o) => {
      if (Array.isArray(v) && v.length === t.dims) ordinals.push(o);
    });
    if (ordinals.length === 0 || ordinals.length < opts.flatThreshold) continue;
    const dims = t.dims;
    const vectors = new Float32Array(values.length * dims);
    for (const o of ordinals) vectors.set(values[o] as number[], o * dims);
    const ann = typeof a.ann === 'object' ? a.ann : {};
    const M = ann.m ?? opts.M ?? DEFAULT_M;
    const efConstruction = ann.ef_construction ?? opts.efConstruction ?? DEFAULT_EF_CONSTRUCTION;
    const space = spaceFor(vectorAttrMetric(schema, name, opts.distanceMetric));
    const file = vectorAttrIndexFileName(infos.length);
    files.push({ name: file, bytes: buildHnsw({ space, dims, M, efConstruction }, vectors, ordinals) });
    infos.push({ attr: name, file, space, dims, vectors: ordinals.length, M, ef_construction: efConstruction });
  }
  return { files, infos };
}

/** Head check of `vector_attr_indexes` (absent: none). */
export function checkVectorAttrIndexes(v: unknown, files: ReadonlySet<string>, where: string): void {
  if (v === undefined) return;
  const bad = (msg: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${msg}`);
  if (!Array.isArray(v)) throw bad('vector_attr_indexes is malformed');
  for (const e of v as VectorAttrIndexInfo[]) {
    const ok =
      typeof e?.attr === 'string' &&
      typeof e.file === 'string' &&
      files.has(e.file) &&
      (e.space === 'l2' || e.space === 'cosine') &&
      Number.isInteger(e.dims) &&
      e.dims > 0 &&
      Number.isInteger(e.vectors) &&
      e.vectors > 0;
    if (!ok) throw bad(`malformed vector attribute index entry ${JSON.stringify(e)}`);
  }
}
