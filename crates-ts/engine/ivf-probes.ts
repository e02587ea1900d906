/**
 * How deep an ANN query probes the namespace's clustered index (RFC-0008 §4–5), and which format-3 parts it probes.
 *
 * The depth, first that applies (docs/api.md "ef_search over clustered parts"):
 *  1. the request's own setting — a query's `ef_search` (mapped by nprobeFor), or a recall request's `probes`;
 *  2. the schema's `vector.ann.ef_search` (mapped by nprobeFor): the namespace's deliberate beam width;
 *  3. `router.vindex.probes_min`, the depth `elax recall --tune` measured and recorded for the namespace (a filtered
 *     query probes at least as deep as 5: the tune measures unfiltered queries);
 *  4. the depth the builders estimated the parts' clusters need (`ivf.probes_hint` of each format-3 part head,
 *     ivf/probe-estimate.ts): the largest over the view's clustered parts, scaled by the server's `--ef-search` / 128
 *     (so an operator's wider default beam still probes deeper); a filtered query probes at least as deep as 5;
 *  5. the server's `--ef-search` (mapped by nprobeFor; 128 → DEFAULT_NPROBE), when no part has an estimate (parts
 *     built before estimates existed).
 * The tuned value replaces the server default rather than being a floor under it: a namespace whose clusters are
 * well separated may be tuned below the default, and that is the point of measuring.
 *
 * RaBitQ's bound confidence ε0: a recall request's own `eps0`, else `router.vindex.eps0` (tuned with the depth, for
 * every ANN query of the namespace), else the searcher's default (ivf/search.ts DEFAULT_EPS0).
 */
import { DEFAULT_NPROBE, type IvfIndex } from '../ivf/index.js';
import { CachedViewPart, type IvfPart, type NamespaceView } from '../namespace/index.js';
import type { ParsedQuery } from '../query/index.js';

/** Where a probe depth came from (reported by /_debug/recall as `probes_source`). */
export type ProbesSource = 'query' | 'schema' | 'namespace' | 'estimate' | 'default';

export interface ProbeDepth {
  probes: number;
  source: ProbesSource;
  /** ε0 of the RaBitQ bound; undefined: the searcher's default. */
  eps0?: number;
}

/**
 * ANN probe depth from an HNSW beam width: the default ef_search 128 probes DEFAULT_NPROBE clusters, and nprobe
 * scales with ef (ef 16 → 1 cluster, 1024 → 64, 10000 → 625: every cluster of most namespaces).
 */
export function nprobeFor(ef: number): number {
  return Math.max(1, Math.ceil((ef * DEFAULT_NPROBE) / 128));
}

/**
 * The probe depth and ε0 of ANN query `q` over `view` (module header: the order); `probes` and `eps0` are a recall
 * request's own.
 */
export function probeDepth(view: NamespaceView, q: Pick<ParsedQuery, 'efSearch' | 'filter'>, serverEf: number, probes?: number, eps0?: number): ProbeDepth {
  const d = depthOf(view, q, serverEf, probes);
  const e = eps0 ?? view.router.vindex?.eps0;
  return e === undefined ? d : { ...d, eps0: e };
}

function depthOf(view: NamespaceView, q: Pick<ParsedQuery, 'efSearch' | 'filter'>, serverEf: number, probes?: number): ProbeDepth {
  if (probes !== undefined) return { probes, source: 'query' };
  if (q.efSearch !== null) return { probes: nprobeFor(q.efSearch), source: 'query' };
  const a = view.schema.vector?.ann;
  const schemaEf = typeof a === 'object' ? a.ef_search : undefined;
  if (schemaEf !== undefined) return { probes: nprobeFor(schemaEf), source: 'schema' };
  const tuned = view.router.vindex?.probes_min;
  // The tune measures unfiltered queries: a filtered one keeps the server default as a floor, as under the builders'
  // estimate below (at 1M, a tuned depth of 3 took the anti-correlated filter's recall@10 from 0.977 to 0.820).
  if (tuned !== undefined) return { probes: q.filter ? Math.max(tuned, nprobeFor(serverEf)) : tuned, source: 'namespace' };
  const hint = probesHintOf(view);
  if (hint > 0) {
    // The estimate is for unfiltered queries. A filter's matches may sit in other clusters than the query's nearest
    // (anti-correlated): filtered queries keep the server default as a floor under it (which ivf-query.ts
    // filterNprobe then scales by the filter's selectivity).
    const estimated = Math.max(1, Math.ceil((hint * serverEf) / 128));
    return { probes: q.filter ? Math.max(estimated, nprobeFor(serverEf)) : estimated, source: 'estimate' };
  }
  return { probes: nprobeFor(serverEf), source: 'default' };
}

/**
 * The largest build-time probe estimate among the view's clustered parts (0: none has one). Each counts depth among
 * its part's own clusters, which is how a query probes every part, so a part's estimate stays valid when later parts
 * split clusters and the codebook grows.
 */
function probesHintOf(view: NamespaceView): number {
  let hint = 0;
  for (const p of view.parts) {
    const h = p instanceof CachedViewPart ? p.data.head.ivf?.probes_hint : undefined;
    if (h !== undefined) hint = Math.max(hint, h);
  }
  return hint;
}

/** The view's format-3 parts an ANN query probes, with the codebook index, when its metric and dims match the query. */
export async function ivfPartsOf(view: NamespaceView, metric: string, dims: number): Promise<{ index: IvfIndex | null; parts: IvfPart[] }> {
  const segs = view.segments();
  const parts: IvfPart[] = [];
  view.parts.forEach((p, i) => {
    if (p instanceof CachedViewPart && p.data.head.ivf !== undefined) parts.push({ seg: i, data: p.data, segment: segs[i]! });
  });
  if (parts.length === 0 || view.ivfIndex === null) return { index: null, parts: [] };
  const index = await view.ivfIndex();
  if (index.metric !== metric || index.dims !== dims) return { index: null, parts: [] };
  return { index, parts };
}

/** The codebook index an ANN query over `view` would probe (it has format-3 parts under the namespace metric), or null. */
export async function clusteredIndexOf(view: NamespaceView): Promise<IvfIndex | null> {
  if (view.ivfIndex === null || !view.parts.some((p) => p instanceof CachedViewPart && p.data.head.ivf !== undefined)) return null;
  const index = await view.ivfIndex();
  return index.metric === (view.distanceMetric ?? 'cosine_distance') ? index : null;
}
