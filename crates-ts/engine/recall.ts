/**
 * Recall evaluation (docs/ARCHITECTURE.md, engine/): sample live documents' vectors as queries (or use the given rank_by), run the
 * normal ANN path and the exhaustive kNN path, and compare. While every search is exhaustive, recall is 1.0 by
 * construction; once ANN indexes exist this measures them.
 *
 * elax extensions (RFC-0008 §5): `probes` measures the clustered parts at a given probe depth (what
 * `elax recall --tune` sweeps), `seed` makes the sample reproducible (a sweep compares depths on the same query
 * vectors), and the report says which depth the ANN queries used and where it came from (ivf-probes.ts).
 */
import { ElaxError, type Id } from '../core/index.js';
import type { NamespaceView } from '../namespace/index.js';
import { parseQuery, executeOnSegments, type ParsedQuery, type QueryResultBody, type Segment } from '../query/index.js';
import { DEFAULT_EPS0, seededRandom } from '../ivf/index.js';
import { isTunedEps0 } from '../router/index.js';
import type { ProbeDepth, ProbesSource } from './ivf-probes.js';
import { tryParseType } from '../schema/index.js';
import type { Schema } from '../core/index.js';

export interface RecallRequest {
  num?: number;
  top_k?: number;
  filters?: unknown;
  rank_by?: unknown;
  include_ground_truth?: boolean;
  /** elax: probe this many clusters of the clustered (format-3) parts instead of the namespace's depth (RFC-0008 §5). */
  probes?: number;
  /** elax: RaBitQ bound confidence ε0 for the clustered parts instead of the namespace's (RFC-0008 §5; (0, 10]). */
  eps0?: number;
  /**
   * elax: a sampled vector's own row is not counted as a neighbour, in the ANN answer or the exact one (each asks
   * top_k + 1 and drops it). Without it a stored vector finds itself first, which a query from outside the data does
   * not: the tune measures with it (RFC-0008 "ε0 tuned with the depth"). Ignored with rank_by.
   */
  exclude_self?: boolean;
  /** elax: sample the query vectors with this seed (the same seed over the same state samples the same vectors). */
  seed?: number;
}

/** The probe depth a recall run used over the clustered parts (absent from the report when there are none). */
export interface RecallProbes {
  probes: number;
  probes_source: ProbesSource;
  /** ε0 of the RaBitQ bound the ANN queries used (the request's, the namespace's, or the default). */
  eps0: number;
  /** Centroids of the namespace codebook: the deepest meaningful probe depth. */
  clusters: number;
}

/** The /_debug/recall response (turbopuffer's fields, then elax's probe report when clustered parts were probed). */
export interface RecallResponse extends Partial<RecallProbes> {
  avg_recall: number;
  /** elax: the standard error of avg_recall over the sampled queries (sd of their recalls / √num; 0 for one query). */
  recall_stderr?: number;
  avg_ann_count: number;
  avg_exhaustive_count: number;
  ground_truth?: { query_vector: number[] | number[][]; nearest_neighbors: unknown[] }[];
  /**
   * elax (RFC-0014 §5): without rank_by, in a namespace with other vector columns with an ANN index (`[N]f32` /
   * `[N]f16` attributes with `ann`), the recall of each, `vector` included when it has values (the top-level fields
   * repeat `vector`'s, else the first column's), each sampled from the live rows holding a value. Absent otherwise
   * (no such column, or rank_by, probes or eps0, which measure one column).
   */
  columns?: Record<string, ColumnRecall>;
}

/** One vector column's recall (`RecallResponse.columns`). */
export interface ColumnRecall {
  avg_recall: number;
  recall_stderr: number;
  avg_ann_count: number;
  avg_exhaustive_count: number;
}

export interface RecallHooks {
  /** The normal query path for the ANN queries (index hits + tail), at the request's probe depth if it gives one. */
  runAnn?: (q: ParsedQuery, probes: number | undefined, eps0: number | undefined) => Promise<QueryResultBody>;
  /** The exhaustive path (every live vector); the engine's runQuery prepares the segments for it. */
  runExact?: (q: ParsedQuery) => Promise<QueryResultBody>;
  /** The namespace codebook's centroid count when ANN probes clustered parts, else null (`probes` then is refused). */
  clusters?: () => Promise<number | null>;
  /** The depth the ANN queries used (read after they ran; null: none probed clustered parts). */
  probesUsed?: () => ProbeDepth | null;
}

const KNOWN = new Set(['num', 'top_k', 'filters', 'rank_by', 'include_ground_truth', 'probes', 'eps0', 'seed', 'exclude_self']);
/** Largest accepted `probes`: more than any codebook's centroids (ANN then probes every cluster). */
export const MAX_RECALL_PROBES = 1_000_000;

export async function evaluateRecall(view: NamespaceView, body: RecallRequest, random: () => number, hooks: RecallHooks = {}): Promise<RecallResponse> {
  const runAnn = hooks.runAnn ?? ((q) => executeOnSegments(q, view.segments()));
  const runExact = hooks.runExact ?? ((q) => executeOnSegments(q, view.segments()));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'recall body must be a JSON object');
  }
  for (const k of Object.keys(body)) {
    if (!KNOWN.has(k)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `unknown recall parameter '${k}'`);
  }
  const topK = body.top_k ?? 10;
  let num = body.num ?? 25;
  if (!Number.isInteger(topK) || topK < 1 || topK > 1200) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `top_k must be an integer in 1..1200, got ${String(body.top_k)}`);
  if (!Number.isInteger(num) || num < 1 || num > 1000) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `num must be an integer in 1..1000, got ${String(body.num)}`);
  const probes = body.probes ?? undefined;
  if (probes !== undefined && (!Number.isInteger(probes) || probes < 1 || probes > MAX_RECALL_PROBES)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `probes must be an integer in 1..${MAX_RECALL_PROBES}, got ${JSON.stringify(body.probes)}`);
  }
  const eps0 = body.eps0 ?? undefined;
  if (eps0 !== undefined && !isTunedEps0(eps0)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `eps0 must be a number in (0, 10], got ${JSON.stringify(body.eps0)}`);
  }
  const excludeSelf = body.exclude_self ?? false;
  if (typeof excludeSelf !== 'boolean') throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `exclude_self must be a boolean, got ${JSON.stringify(body.exclude_self)}`);
  const seed = body.seed ?? undefined;
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `seed must be an integer in 0..${0xffffffff}, got ${JSON.stringify(body.seed)}`);
  }
  const clusters = hooks.clusters ? await hooks.clusters() : null;
  if ((probes !== undefined || eps0 !== undefined) && clusters === null) {
    const what = probes !== undefined ? 'probes' : 'eps0';
    throw new ElaxError('ELAX_ERR_NO_CLUSTERED_INDEX', `namespace '${view.namespace}' has no clustered (IVF, format-3) parts for its ANN queries to probe: ${what} applies only to them (the indexer writes them with --vector-index ivf)`);
  }
  if (seed !== undefined) random = seededRandom(seed);
  const ctx = { schema: view.schema, distanceMetric: view.distanceMetric };
  const segs = view.segments();

  let queries: (number[] | number[][])[];
  /**
   * The attribute measured: `vector`, or the one rank_by names: another vector column (RFC-0014) or a multi-vector
   * attribute with late_interaction (RFC-0015; its MUVERA ANN against exact MaxSim).
   */
  let attr = 'vector';
  /** Per query, the id of the sampled row (exclude_self), else undefined. */
  let selfIds: (Id | undefined)[] = [];
  /** Other vector columns with ANN, measured after `vector` when sampling (RFC-0014 §5). */
  let others: string[] = [];
  if (body.rank_by !== undefined && body.rank_by !== null) {
    if (body.num !== undefined && body.num !== 1) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'with rank_by, num must be 1 (or omitted)');
    const rb = body.rank_by;
    if (!Array.isArray(rb) || rb.length !== 3 || typeof rb[0] !== 'string' || (rb[1] !== 'ANN' && rb[1] !== 'kNN') || !Array.isArray(rb[2])) {
      throw new ElaxError('ELAX_ERR_INVALID_REQUEST', 'recall rank_by must be [vector attribute, "ANN", [numbers...]] (e.g. ["vector", "ANN", [...]]) or [multi-vector attribute, "ANN", [[numbers...], ...]]');
    }
    // Which kind of attribute it names, and whether the query fits it, is checked by parseQuery below.
    attr = rb[0];
    queries = [rb[2] as number[] | number[][]];
    num = 1;
  } else {
    // probes / eps0 measure `vector`'s clustered parts: the other columns (graphs only) are not sampled then.
    if (probes === undefined && eps0 === undefined) others = annVectorColumns(view.schema);
    ({ queries, selfIds } = await sample(segs, 'vector', num, random, excludeSelf));
    if (queries.length === 0) {
      // A namespace without `vector` values: the top-level fields report its first other column (also in `columns`).
      if (others.length === 0) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `namespace '${view.namespace}' has no vectors to evaluate recall on`);
      attr = others[0]!;
      ({ queries, selfIds } = await sample(segs, attr, num, random, excludeSelf));
      if (queries.length === 0) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `namespace '${view.namespace}' has no vectors to evaluate recall on`);
    }
    num = queries.length;
  }

  const measure = async (attr: string, queries: (number[] | number[][])[], selfIds: (Id | undefined)[], groundTruth: { query_vector: number[] | number[][]; nearest_neighbors: unknown[] }[] | null): Promise<ColumnRecall> => {
    let recallSum = 0;
    let recallSq = 0;
    let annCount = 0;
    let exactCount = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      const qv = queries[qi]!;
      const self = selfIds[qi];
      const k = self === undefined ? topK : topK + 1;
      const without = (rows: NonNullable<QueryResultBody['rows']>) => (self === undefined ? rows : rows.filter((r) => r.id !== self).slice(0, topK));
      const base = { top_k: k, ...(body.filters !== undefined ? { filters: body.filters } : {}) };
      const annQuery = parseQuery({ ...base, rank_by: [attr, 'ANN', qv] }, ctx);
      const ann = without((await runAnn(annQuery, probes, eps0)).rows ?? []);
      const exactQuery = parseQuery({ ...base, rank_by: [attr, 'kNN', qv], include_attributes: groundTruth !== null ? true : undefined }, ctx);
      const exact = without((await runExact(exactQuery)).rows ?? []);
      const truth = new Set(exact.map((r) => r.id));
      let hit = 0;
      for (const r of ann) if (truth.has(r.id)) hit++;
      const r = exact.length === 0 ? 1 : hit / exact.length;
      recallSum += r;
      recallSq += r * r;
      annCount += ann.length;
      exactCount += exact.length;
      groundTruth?.push({ query_vector: qv, nearest_neighbors: exact });
    }
    return {
      avg_recall: recallSum / queries.length,
      recall_stderr: stderrOf(recallSum, recallSq, queries.length),
      avg_ann_count: annCount / queries.length,
      avg_exhaustive_count: exactCount / queries.length,
    };
  };

  const groundTruth: { query_vector: number[] | number[][]; nearest_neighbors: unknown[] }[] = [];
  const top = await measure(attr, queries, selfIds, body.include_ground_truth ? groundTruth : null);
  const out: RecallResponse = { ...top };
  const used = hooks.probesUsed?.() ?? null;
  if (used !== null && clusters !== null) Object.assign(out, { probes: used.probes, probes_source: used.source, eps0: used.eps0 ?? DEFAULT_EPS0, clusters } satisfies RecallProbes);
  if (body.include_ground_truth) out.ground_truth = groundTruth;
  if (others.length > 0) {
    // Each column sampled from its own rows, after `vector` (so a seed samples `vector` as it did before them).
    const columns: Record<string, ColumnRecall> = attr === 'vector' ? { vector: top } : {};
    for (const a of others) {
      const s = a === attr ? { queries, selfIds } : await sample(segs, a, num, random, excludeSelf);
      if (s.queries.length > 0) columns[a] = a === attr ? top : await measure(a, s.queries, s.selfIds, null);
    }
    out.columns = columns;
  }
  return out;
}

/** The vector attributes other than `vector` with an ANN index (`[N]f32` / `[N]f16`, ann not false), by name. */
export function annVectorColumns(schema: Schema): string[] {
  const out: string[] = [];
  for (const [name, a] of Object.entries(schema)) {
    if (name === 'vector' || name === 'id' || a.ann === false || a.type === undefined) continue;
    if (tryParseType(a.type)?.kind === 'vector') out.push(name);
  }
  return out.sort();
}

/**
 * Up to `num` query vectors: values of `attr` at live rows drawn uniformly at random (by segment and ordinal), read
 * one by one (only their blocks); rows without a value are drawn again, a bounded number of times.
 */
async function sample(segs: readonly Segment[], attr: string, num: number, random: () => number, excludeSelf: boolean): Promise<{ queries: number[][]; selfIds: (Id | undefined)[] }> {
  const live: number[] = segs.map((seg) => seg.rows - (seg.dead === null ? 0 : seg.deadOrdinals().length));
  const total = live.reduce((a, b) => a + b, 0);
  const queries: number[][] = [];
  const selfIds: (Id | undefined)[] = [];
  for (let draws = 0; queries.length < num && draws < num * 20 && total > 0; draws++) {
    let pick = Math.floor(random() * total);
    let s = 0;
    while (pick >= live[s]!) pick -= live[s++]!;
    const seg = segs[s]!;
    let o = -1;
    for (let r = 0, seen = 0; r < seg.rows; r++) {
      if (seg.dead !== null && seg.dead[r] === 1) continue;
      if (seen++ === pick) {
        o = r;
        break;
      }
    }
    const [doc] = attr === 'vector' ? await seg.docs([o]) : await seg.docs([o], { attrs: [attr], vector: false });
    const v = attr === 'vector' ? (doc?.vector ? Array.from(doc.vector) : null) : doc?.attrs[attr];
    if (Array.isArray(v) && v.length > 0) {
      queries.push(v as number[]);
      selfIds.push(excludeSelf ? doc!.id : undefined);
    }
  }
  return { queries, selfIds };
}

/** Standard error of a mean from the sum and sum of squares of n values (sample sd / √n; 0 for n < 2). */
function stderrOf(sum: number, sq: number, n: number): number {
  if (n < 2) return 0;
  const mean = sum / n;
  const variance = Math.max(0, (sq - n * mean * mean) / (n - 1));
  return Math.sqrt(variance / n);
}
