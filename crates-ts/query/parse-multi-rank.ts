/**
 * rank_by over a multi-vector attribute (RFC-0015): `[attr, "kNN" | "ANN", number[][]]`, attr of type `[][N]f32`.
 * kNN is exact MaxSim over every row; ANN needs `ann: {late_interaction: true}` on the attribute (the client's AnnConfig:
 * it "is required to enable an ANN index on such attributes"), else 400. The metric is the attribute's
 * ann.distance_metric, default cosine_distance.
 */
import type { DistanceMetric, Schema } from '../core/index.js';
import { multiQuery, multiVectorDims } from '../multivec/index.js';
import { queryError, show } from './parse-util.js';
import type { RankPlan } from './types.js';

/** Query vectors one multi-vector query may hold. */
export const MAX_MULTI_QUERY_VECTORS = 1024;

/** Whether `attr` is a `[][N]f32` attribute of the schema. */
export function isMultiVectorAttr(schema: Schema, attr: unknown): attr is string {
  return typeof attr === 'string' && Object.hasOwn(schema, attr) && multiVectorDims(schema[attr]!.type) !== null;
}

/** The metric of a multi-vector attribute: its ann.distance_metric, else cosine_distance. */
export function multiMetric(schema: Schema, attr: string): DistanceMetric {
  const ann = schema[attr]?.ann;
  return (typeof ann === 'object' && ann !== null && ann.distance_metric) || 'cosine_distance';
}

export function lateInteraction(schema: Schema, attr: string): boolean {
  const ann = schema[attr]?.ann;
  return typeof ann === 'object' && ann !== null && ann.late_interaction === true;
}

export function parseMultiRank(attr: string, mode: 'ANN' | 'kNN', raw: unknown, schema: Schema): RankPlan {
  const dims = multiVectorDims(schema[attr]!.type)!;
  if (mode === 'ANN' && !lateInteraction(schema, attr)) {
    throw queryError(`rank_by: ANN on the multi-vector attribute '${attr}' needs an index: set "ann": {"late_interaction": true} in its schema (or rank by kNN)`);
  }
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((v) => Array.isArray(v))) {
    throw queryError(`rank_by: ${mode} on the multi-vector attribute '${attr}' needs a non-empty array of ${dims}-dimensional query vectors, got ${show(raw)}`);
  }
  if (raw.length > MAX_MULTI_QUERY_VECTORS) {
    throw queryError(`rank_by: a multi-vector query may hold at most ${MAX_MULTI_QUERY_VECTORS} vectors, got ${raw.length}`);
  }
  const vectors = raw.map((v: unknown[], i) => {
    if (v.length !== dims) throw queryError(`rank_by: query vector ${i} has ${v.length} dimensions but '${attr}' holds ${dims}-dimensional vectors`);
    const out = new Float32Array(dims);
    for (let j = 0; j < dims; j++) {
      const x = v[j];
      if (typeof x !== 'number' || !Number.isFinite(x) || !Number.isFinite(Math.fround(x))) {
        throw queryError(`rank_by: query vector ${i} element ${j} must be a finite float32, got ${show(x)}`);
      }
      out[j] = x;
    }
    return out;
  });
  return { kind: 'multi', attr, mode, query: multiQuery(vectors, multiMetric(schema, attr)) };
}
