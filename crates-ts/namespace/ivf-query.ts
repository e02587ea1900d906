/**
 * ANN over the view's format-3 parts (RFC-0008 §4): the namespace's centroids are ranked once per query, every
 * format-3 part contributes its own `nprobe` nearest clusters (the nearest centroids it holds rows in: a part built
 * before later parts split clusters holds only the older, coarser centroids, and its builder's probe estimate counts
 * depth among its own clusters, ivf/probe-estimate.ts), and one IvfSearcher runs over the union of those clusters,
 * each made of the codes of the parts that chose it, so the parts share one candidate set, one τ and one d_k (a row
 * is reranked once, by one search).
 *
 * Rows of the merged search are "global": part j's ordinal o is bases[j] + o. A merged cluster c is the list of
 * codes of c from every part holding it (they share the centroid and rotation, so the codes are comparable), and
 * its radius is the largest of those parts' own radii (cluster table: the codebook radius is only what training saw).
 *
 * I/O per query (cached after the first): one parallel wave of every part's cluster table, then the codes blocks of
 * the probed clusters it holds (prepareClusters), with its ids and filter columns; then the vector blocks of the rows
 * the searcher reranks (the searcher's hooks are synchronous: see the loop in ivfSearch), usually one more wave.
 *
 * Exact distances use query/distance.ts' kernel (distanceAt): the same numbers the exact scan gives for these rows.
 */
import { annChoice, ivfExactMaxRows, ivfWalkKind } from '../planner/index.js';
import { Bitmap } from '../bitmap/index.js';
import type { DistanceMetric } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { rankCentroids, IvfSearcher, normaliseInto, probeOrderOf, type ClusterCodes, type ClusterSlice, type IvfIndex } from '../ivf/index.js';
import type { PartData, PreparedClusters } from '../part/index.js';
import { distanceAt, RowCursor, type FilterSource, type Release, type Segment } from '../query/index.js';

export interface IvfPart {
  /** Index of the part in the view (segments() order). */
  seg: number;
  data: PartData;
  segment: Segment;
}

export interface IvfQuery {
  metric: DistanceMetric;
  query: Float32Array;
  k: number;
  nprobe: number;
  /** ε0 of the RaBitQ bound (router.vindex.eps0 or a recall request's); undefined: ivf/search.ts DEFAULT_EPS0. */
  eps0?: number;
  filter: CompiledFilter | null;
  /** The raw filter, for parts with filter indexes (RFC-0009): the allowed rows come from bitmaps, not a scan. */
  filterSource?: FilterSource;
  /** Attributes the filter reads (pinned with the part's columns while the search runs). */
  attrs: readonly string[];
}

export interface IvfAnswer {
  /** Per view segment: the ordinals of the merged top k it holds (absent: none). */
  bySeg: Map<number, Int32Array>;
  /**
   * Set instead of a search when the filter matches at most max(exactFilterRows(rows), k) live rows of the format-3 parts:
   * per view segment, the ordinals of those rows, for the caller to rank exactly (a scan of just those rows).
   */
  exactRows?: Map<number, Int32Array>;
  /** Live rows of the format-3 parts the filter matches (null without a filter). */
  matched: number | null;
  probed: number;
  reranked: number;
  /** Searcher runs (one more than the waves of vector reads). */
  runs: number;
  /**
   * Unpins the parts' ids, filter columns and the vectors read for the rerank: the caller ranks the returned rows
   * exactly with them (rankSegments reads the filter columns of restricted rows too), then releases.
   */
  release: Release;
}

/**
 * A filter matching at most this many live rows of the format-3 parts is answered exactly from those rows: reading
 * and scoring a few thousand vectors costs less than probing the many clusters a selective filter needs, and it is
 * exact. Above it, the rows' share of the namespace scales the probe depth (filterNprobe).
 */
export function exactFilterRows(rows: number): number {
  return ivfExactMaxRows(rows);
}

/**
 * Probe depth under a filter matching `matched` of `rows` rows: the k nearest matching rows of a query are about its
 * k·rows/matched nearest rows overall, which sit in more clusters; the depth grows with √(rows/matched) (measured in
 * test/78-ivf-filtered: recall@10 ≥ 0.95 from 50 % to 0.01 % selectivity). Clusters without a match are skipped and
 * not counted.
 */
export function filterNprobe(nprobe: number, matched: number, rows: number, clusters: number): number {
  if (matched <= 0) return 0;
  return Math.min(clusters, Math.ceil(nprobe * Math.sqrt(rows / matched)));
}

/** The live centroid ids nearest `query`, nearest first (the probe order the searcher uses: retired ones never). */
export function probeOrder(index: IvfIndex, query: Float32Array, nprobe: number, skip?: (c: number) => boolean): number[] {
  return probeOrderOf(index, centroidRanking(index, query), nprobe, skip);
}

/** The query's squared index-space distances to every centroid: ranked once per query, used by every probe list. */
function centroidRanking(index: IvfIndex, query: Float32Array): Float64Array {
  const qv = new Float64Array(index.dims);
  if (index.metric === 'cosine_distance') normaliseInto(query, 0, index.dims, qv, 0);
  else qv.set(query.subarray(0, index.dims));
  const d = new Float64Array(index.k);
  rankCentroids(index, qv, d);
  return d;
}

/** Set bytes of a[from, to). */
function count(a: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += a[i]!;
  return n;
}

/**
 * Of each part's rows `rows[j]`, those whose exact distance is within the k-th smallest over all (ties at the k-th
 * kept, so the caller's ranking breaks them as an exact scan would), per view segment. Distances come from the
 * vectors in the block cache (peekVectorsAt: no pin, no promise per block); rows whose block is not cached are
 * fetched first, pinned until `pinned` is released. Rows without a vector are left out, as the exact scan skips them.
 */
async function nearestExactly(parts: readonly IvfPart[], rows: readonly Int32Array[], k: number, kernel: (data: Float32Array, off: number) => number, pinned: Release[]): Promise<Map<number, Int32Array>> {
  // Distances of the rows whose block is cached now, at once (a cached block may be evicted during any await); the
  // others after their blocks are fetched and pinned.
  const dist = rows.map((r) => new Array<number | null>(r.length));
  const missing = rows.map((r, j) => {
    const d = dist[j]!;
    return parts[j]!.data.peekVectorsAt(r, (i, data, off) => (d[i] = data === null ? null : kernel(data, off)));
  });
  await Promise.all(
    parts.map(async (p, j) => {
      const m = missing[j]!;
      if (m.length === 0) return;
      pinned.push(await p.segment.prepare({ attrs: [], vectors: false, ids: false, vectorRows: m.map((i) => rows[j]![i]!) }));
      for (const i of m) {
        const at = p.segment.vectorAt!(rows[j]![i]!);
        dist[j]![i] = at === null ? null : kernel(at.data, at.off);
      }
    }),
  );
  const all: number[] = [];
  for (const d of dist) for (const x of d) if (x !== null) all.push(x!);
  const out = new Map<number, Int32Array>();
  // Few rows, or distances that do not order (NaN): every row, as before.
  if (all.length <= k || all.some((x) => Number.isNaN(x))) {
    rows.forEach((r, j) => out.set(parts[j]!.seg, r));
    return out;
  }
  all.sort((a, b) => a - b);
  const kth = all[k - 1]!;
  rows.forEach((r, j) => out.set(parts[j]!.seg, r.filter((_, i) => dist[j]![i] !== null && dist[j]![i]! <= kth)));
  return out;
}

/**
 * Live rows of [lo, hi) whose value the filter accepts (codes: each row's dictionary position), ascending, written to
 * out[at, at + count) (room for hi − lo is the caller's); returns the count.
 */
function valueMatchesInto(codes: Uint16Array | Uint32Array, accept: Uint8Array, dead: Uint8Array | null, lo: number, hi: number, out: Uint32Array, at: number): number {
  let n = at;
  if (dead === null) {
    for (let o = lo; o < hi; o++) if (accept[codes[o]!] === 1) out[n++] = o;
  } else for (let o = lo; o < hi; o++) if (accept[codes[o]!] === 1 && dead[o] !== 1) out[n++] = o;
  return n - at;
}

/** A cluster's matching rows found while counting them (by value): ordinals sel[from, from + n) of the run from `lo`. */
interface Selected {
  sel: Uint32Array;
  from: number;
  n: number;
  lo: number;
}

/** Indexes of the set bytes of a, ascending. */
function ordinalsOf(a: Uint8Array): Int32Array {
  const out = new Int32Array(count(a, 0, a.length));
  let at = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === 1) out[at++] = i;
  return out;
}

export async function ivfSearch(index: IvfIndex, parts: readonly IvfPart[], q: IvfQuery): Promise<IvfAnswer> {
  const bySeg = new Map<number, Int32Array>();
  if (parts.length === 0 || q.k < 1) return { bySeg, matched: null, probed: 0, reranked: 0, runs: 0, release: () => {} };
  const ranked = centroidRanking(index, q.query);
  const walk = new ProbeWalk(index, ranked);
  // Per part, the clusters it probes (its q.nprobe nearest, chosen once its cluster table is read).
  const lists: Set<number>[] = parts.map(() => new Set());
  const releases: Release[] = [];
  // The query's cluster selections (matchingSlice), given back when it ends: nothing of it reads them after.
  const arena = takeArena();
  const pinned: Release[] = [];
  const release: Release = () => {
    for (const r of pinned.splice(0)) r();
  };
  try {
    // Wave 1, every part in parallel: the cluster table and the probed clusters' codes; the filter's columns (pinned
    // until the caller's release: it ranks the returned rows with them).
    // Every part's cluster table first (on a cold node they left with the heads), then every part's codes reads at
    // once: one wave of codes, not one part's reads trailing another's as their tables arrive (RFC-0008 §7).
    const codesOfParts = async () => {
      await Promise.all(parts.map((p) => p.data.clusterTable()));
      return Promise.all(
        parts.map(async (p, j) => {
          const pc = await p.data.prepareClusters((table) => {
            const mine = walk.nearestHeld(table.centroid, q.nprobe);
            lists[j] = new Set(mine);
            return mine;
          });
          releases.push(pc.release);
          return pc;
        }),
      );
    };
    const [prepared] = await Promise.all([
      codesOfParts(),
      // Unfiltered, not the ids: the returned rows' id blocks come with their vectors (need.idRows). A filter may test
      // ids on any row (['id', 'In', ...]): then the whole id column, as before.
      Promise.all(parts.map(async (p) => pinned.push(await p.segment.prepare({ attrs: q.attrs, vectors: false, ids: q.filter !== null, filterIndexes: q.filterSource?.attrs, fuzzyIndexes: q.filterSource?.fuzzyAttrs })))),
    ]);
    const bases: number[] = [];
    let total = 0;
    for (const p of parts) {
      bases.push(total);
      total += p.data.rows;
    }
    const radii = new Float32Array(index.k);
    let maxRadius = 0;
    for (const pc of prepared) {
      const t = pc.table;
      for (let i = 0; i < t.centroid.length; i++) {
        const c = t.centroid[i]!;
        if (t.radius[i]! > radii[c]!) radii[c] = t.radius[i]!;
      }
    }
    for (let c = 0; c < index.k; c++) maxRadius = Math.max(maxRadius, radii[c]!);
    const merged: IvfIndex = { ...index, radii, maxRadius };

    const partOf = (g: number): number => {
      let lo = 0;
      let hi = bases.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bases[mid]! <= g) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    // Per cluster, the parts' codes of it as the searcher's segments, made once per query (a rescore and every run
    // ask again). Under a filter, only the matching rows' codes (matchingSlice): the searcher estimates nothing it
    // could not return.
    const clusters = new Map<number, ClusterSlice[]>();
    const cluster = (c: number): ClusterSlice[] => {
      let got = clusters.get(c);
      if (got === undefined) {
        got = [];
        for (let j = 0; j < prepared.length; j++) {
          if (!lists[j]!.has(c)) continue;
          const cc = prepared[j]!.codes(c);
          if (cc.n === 0) continue;
          const sl = allowed === null ? wholeSlice(cc, bases[j]!) : matchingSlice(j, c, cc);
          if (sl !== null) got.push(sl);
        }
        clusters.set(c, got);
      }
      return got;
    };
    // With a filter: which live rows match (from the parts' filter indexes where they answer it, RFC-0009; else a
    // pass over the filter's columns, held whole), how many, and how many in each cluster. Few matches: rank them exactly, no search. Else the
    // clusters holding none are skipped, and the probe depth grows as the matches thin out (filterNprobe).
    // Per part, the allowed rows as a byte per row, or null where `liveBits` holds them exactly (no O(rows) mask).
    let allowed: (Uint8Array | null)[] | null = null;
    let liveBits: (Bitmap | null)[] = [];
    // Per part, the filter as a test by value (a filter over one attribute with a scalar dictionary, matching many
    // rows: planner ivfWalkKind): no bitmap of its matches is built, clusters' matches are counted when reached.
    let values: ({ codes: Uint16Array | Uint32Array; accept: Uint8Array } | null)[] = parts.map(() => null);
    // Per part walked by value, the matches of the clusters its walk counted, by centroid.
    const selectedByValue: (Map<number, Selected> | undefined)[] = [];
    let matched: number | null = null;
    let nprobe = q.nprobe;
    let skip: ((c: number) => boolean) | undefined;
    if (q.filter !== null) {
      const src = q.filterSource;
      const byValue = src ? parts.map((p) => p.segment.filterValues?.(src.filter, src.compileLeaf) ?? null) : [];
      const valueMatches = byValue.reduce((n, v) => n + (v?.live ?? 0), 0);
      const walkByValue =
        src !== undefined && byValue.every((v) => v !== null) && annChoice('ivf', valueMatches, q.k, total) === 'walk' && ivfWalkKind(valueMatches, total, true) === 'walk-values';
      if (walkByValue) values = byValue;
      // Exact index answers as bitmaps without the dead rows: counts, per-cluster counts (range cardinalities over
      // the cluster's ordinal run, RFC-0009 §1) and the exact rows come from them, not from a pass over the bytes.
      liveBits = parts.map(() => null);
      allowed = parts.map((p, j) => {
        if (walkByValue) return null;
        const dead = p.segment.dead;
        // An exact answer of the part's filter indexes as a bitmap: the dead rows subtracted as a bitmap, and candidates
        // tested against it (accept), never spread into a byte per row (which cost O(rows) a query, RFC-0009).
        const b = src && p.segment.filterBits ? p.segment.filterBits(src.filter, src.compileLeaf) : null;
        if (b !== null && b.exact) {
          const deadOrds = p.segment.deadOrdinals();
          liveBits[j] = deadOrds.length === 0 ? b.bits : b.bits.andNot(Bitmap.fromSorted(b.bits.universe, Uint32Array.from(deadOrds)));
          return null;
        }
        // The part's filter indexes: an exact mask needs only the dead rows cleared; a partial one narrows the scan.
        const m = src && p.segment.filterMask ? p.segment.filterMask(src.filter, src.compileLeaf) : null;
        if (m !== null && m.exact) {
          const deadOrds = p.segment.deadOrdinals();
          for (let i = 0; i < deadOrds.length; i++) m.mask[deadOrds[i]!] = 0; // allowed by filterMask's contract
          return m.mask;
        }
        const a = new Uint8Array(p.data.rows);
        const cur = new RowCursor(p.segment, q.attrs);
        const cand = m?.mask ?? null;
        for (let o = 0; o < a.length; o++) if ((cand === null || cand[o] === 1) && (dead === null || dead[o] !== 1) && q.filter!(cur.at(o))) a[o] = 1;
        return a;
      });
      matched = walkByValue ? valueMatches : allowed.reduce((n, a, j) => n + (liveBits[j]?.cardinality ?? count(a!, 0, a!.length)), 0);
      if (annChoice('ivf', matched, q.k, total) === 'exact') {
        const rows = allowed.map((a, j) => (liveBits[j] ? Int32Array.from(liveBits[j]!.toArray()) : ordinalsOf(a!)));
        // Their exact distances here, read from the block cache (vectors not cached are fetched first, one wave),
        // and only the rows within the k-th distance handed back: the caller's exact ranking then reads k blocks, not a
        // block per match (RFC-0009, filter indexes: 1,000 matches cost 1,000 block pins and promises).
        const exactRows = await nearestExactly(parts, rows, q.k, distanceAt(q.metric, q.query), pinned);
        // The filter columns stay pinned (the caller ranks these rows with them, then releases).
        return { bySeg, exactRows, matched, probed: 0, reranked: 0, runs: 0, release };
      }
      // Per part, its clusters holding a match; the depth grows as the matches thin out (filterNprobe), and each
      // part then probes that many of its nearest clusters with a match.
      const perCluster = new Float64Array(index.k);
      const depth = filterNprobe(q.nprobe, matched, total, index.k);
      const wanted = prepared.map((pc, j) => {
        const t = pc.table;
        const v = values[j];
        const counts = new Map<number, number>();
        // The depth assumes the matches spread evenly: then its clusters hold nprobe clusters' worth of rows ×
        // √(matched/rows) matches (`want`). Clusters dense in matches (a filter correlated with the clustering) reach
        // that sooner: stop there, but never before 2 × nprobe clusters (`floor`: at nprobe, recall@10 of the
        // anti-correlated 10 % filter at 1M fell to 0.90; at 2 × nprobe 0.977, bench/filter-indexes.ts).
        const want = q.nprobe * (t.rows.reduce((a, b) => a + b, 0) / Math.max(1, t.centroid.length)) * Math.sqrt(matched! / total);
        const floor = Math.min(depth, q.nprobe * 2);
        const gathered = (list: readonly number[]): number => list.reduce((g, c) => g + (counts.get(c) ?? 0), 0);
        let list: number[];
        if (v) {
          // By value: a cluster's matches are counted when the walk reaches it (a lookup per row), never for all; the
          // walk first looks for `floor` clusters with matches, and goes on to `depth` only if they hold too few.
          // The matches are written to the query's arena as they are counted: the probed ones are the cluster's slice
          // (matchingSlice), not selected a second time.
          const dead = parts[j]!.segment.dead;
          const found = (selectedByValue[j] = new Map<number, Selected>());
          const none = (c: number) => {
            let m = counts.get(c);
            if (m === undefined) {
              const i = entryOf(t.centroid, c);
              const lo = t.first[i]!;
              const from = arena.room(t.rows[i]!);
              m = valueMatchesInto(v.codes, v.accept, dead, lo, lo + t.rows[i]!, arena.buf, from);
              arena.used += m;
              if (m > 0) found.set(c, { sel: arena.buf, from, n: m, lo });
              counts.set(c, m);
              perCluster[c]! += m;
            }
            return m === 0;
          };
          list = walk.nearestHeld(t.centroid, floor, none);
          if (list.length === floor && gathered(list) < want) list = walk.nearestHeld(t.centroid, depth, none);
        } else {
          for (let i = 0; i < t.centroid.length; i++) {
            const lo = t.first[i]!;
            const m = liveBits[j] ? liveBits[j]!.rangeCardinality(lo, lo + t.rows[i]!) : count(allowed![j]!, lo, lo + t.rows[i]!);
            perCluster[t.centroid[i]!]! += m;
            if (m > 0) counts.set(t.centroid[i]!, m);
          }
          list = walk.nearestHeld(t.centroid, depth, (c) => !counts.has(c));
        }
        let got = 0;
        let n = 0;
        while (n < list.length && (n < floor || got < want)) got += counts.get(list[n++]!) ?? 0;
        return list.slice(0, n);
      });
      // Only the wanted clusters are asked (see the union below): by value, those are the ones counted.
      skip = (c) => perCluster[c] === 0;
      // The probed clusters' codes not fetched by wave 1 (it fetched the nearest ones, matches or not).
      const first = lists.map((l) => new Set(l));
      const extra = wanted.map((w, j) => w.filter((c) => !first[j]!.has(c)));
      wanted.forEach((w, j) => (lists[j] = new Set(w)));
      if (extra.some((e) => e.length > 0)) {
        const more = await Promise.all(parts.map((p, j) => p.data.prepareClusters(extra[j]!)));
        for (const pc of more) releases.push(pc.release);
        more.forEach((pc, j) => {
          const before = prepared[j]!;
          prepared[j] = { ...before, codes: (c) => (first[j]!.has(c) ? before.codes(c) : pc.codes(c)) };
        });
      }
    }
    // The searcher probes the union of the parts' choices (and only those: nearestKept over the rest is skipped).
    const union = new Set<number>();
    for (const l of lists) for (const c of l) union.add(c);
    nprobe = union.size;
    const filterSkip = skip;
    skip = filterSkip ? (c) => !union.has(c) || filterSkip(c) : (c) => !union.has(c);
    const accept = (g: number): boolean => {
      const j = partOf(g);
      const o = g - bases[j]!;
      if (allowed !== null) {
        const v = values[j];
        if (v) {
          const dead = parts[j]!.segment.dead;
          return v.accept[v.codes[o]!] === 1 && (dead === null || dead[o] !== 1);
        }
        const bits = liveBits[j];
        return bits ? bits.has(o) : allowed[j]![o] === 1;
      }
      const dead = parts[j]!.segment.dead;
      return dead === null || dead[o] !== 1;
    };
    // Part j's codes of a cluster restricted to its matching live rows, as a slice of them (ivf/search.ts
    // ClusterSlice): their ordinals (or, for codes that name their rows, positions) are written to this query's
    // arena, nothing is copied. A part whose rows mostly match keeps its codes whole (the others are left out by
    // `accept`); one with none is left out.
    const matchingSlice = (j: number, c: number, cc: ClusterCodes): ClusterSlice | null => {
      const base = bases[j]!;
      const lo = cc.firstRow;
      const counted = cc.rowIds === null ? selectedByValue[j]?.get(c) : undefined;
      if (counted !== undefined && counted.lo === lo) {
        // Selected by value while counting (a cluster without a match is never probed).
        if (counted.n * 2 > cc.n) return wholeSlice(cc, base);
        return { of: cc, sel: counted.sel, from: counted.from, n: counted.n, shift: lo, base };
      }
      const from = arena.room(cc.n);
      const out = arena.buf;
      let n = 0;
      if (cc.rowIds !== null) {
        // Codes that name their rows (rowIds) are tested row by row (`accept`, global rows).
        for (let i = 0; i < cc.n; i++) if (accept(cc.rowIds[i]! + base)) out[from + n++] = i;
        if (n === 0) return null;
        arena.used += n;
        return { of: cc, sel: out, from, n, shift: 0, base };
      }
      // The matching live rows of the cluster's ordinal run [lo, hi), ascending.
      const hi = lo + cc.n;
      const bits = liveBits[j];
      const v = values[j];
      if (bits) n = bits.selectRangeInto(lo, hi, out, from);
      else if (v) n = valueMatchesInto(v.codes, v.accept, parts[j]!.segment.dead, lo, hi, out, from);
      else {
        const a = allowed![j]!;
        for (let o = lo; o < hi; o++) if (a[o] === 1) out[from + n++] = o;
      }
      // Most rows match: all of them are estimated, as before the slices (the same candidates, the same work).
      if (n * 2 > cc.n) return wholeSlice(cc, base);
      if (n === 0) return null;
      arena.used += n;
      return { of: cc, sel: out, from, n, shift: lo, base };
    };
    const kernel = distanceAt(q.metric, q.query);
    // The searcher's hooks are synchronous, the vectors are read by range: the search runs until it asks for no
    // vector that is not held. A run that meets missing rows records them and scores them 0 (its answer is thrown
    // away; 0 only makes it stop early, asking for less), the rows' vector blocks are fetched (one parallel wave),
    // and the search runs again — deterministic, so it asks for the same rows first. Usually two runs, two waves.
    const held = parts.map(() => new Set<number>());
    const blockRows = parts.map((p) => p.data.head.vectors?.block_rows ?? 1);
    let missing: number[][] = parts.map(() => []);
    const exact = (rows: Uint32Array): Float64Array => {
      const out = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const g = rows[i]!;
        const j = partOf(g);
        const o = g - bases[j]!;
        // A vector block this query has not pinned may still be in the block cache (a warm node): read it there,
        // synchronously, so that a warm query runs the searcher once.
        const at = held[j]!.has(Math.floor(o / blockRows[j]!)) ? parts[j]!.segment.vectorAt!(o) : parts[j]!.data.peekVectorAt(o);
        if (at === undefined) {
          missing[j]!.push(o);
          out[i] = 0;
          continue;
        }
        out[i] = at === null ? Infinity : kernel(at.data, at.off);
      }
      return out;
    };
    // Shared with other queries: `use` goes with each run (another query may search between two runs).
    const searcher = searcherFor(index);
    let res: ReturnType<IvfSearcher['search']>;
    let runs = 0;
    for (;;) {
      missing = parts.map(() => []);
      res = searcher.use(merged).search(q.query, { topK: q.k, nprobe, ranked, ...(q.eps0 !== undefined ? { eps0: q.eps0 } : {}) }, { cluster, exact, accept, skip });
      runs++;
      if (missing.every((m) => m.length === 0)) break;
      await Promise.all(
        parts.map(async (p, j) => {
          const rows = missing[j]!;
          if (rows.length === 0) return;
          // The rows' id blocks come in the same wave: the returned rows are among them (their distances are exact).
          pinned.push(await p.segment.prepare({ attrs: [], vectors: false, ids: false, vectorRows: rows, idRows: rows }));
          for (const o of rows) held[j]!.add(Math.floor(o / blockRows[j]!));
        }),
      );
    }
    const per = new Map<number, number[]>();
    for (let i = 0; i < res.rows.length; i++) {
      if (res.distances[i] === Infinity) continue;
      const j = partOf(res.rows[i]!);
      const list = per.get(j) ?? [];
      list.push(res.rows[i]! - bases[j]!);
      per.set(j, list);
    }
    for (const [j, list] of per) bySeg.set(parts[j]!.seg, Int32Array.from(list));
    for (const p of parts) if (!bySeg.has(p.seg)) bySeg.set(p.seg, new Int32Array(0));
    return { bySeg, matched, probed: res.stats.probed, reranked: res.stats.reranked, runs, release };
  } catch (e) {
    release();
    throw e;
  } finally {
    for (const r of releases) r();
    giveArena(arena);
  }
}

/**
 * One searcher per loaded codebook index, kept with it: its buffers (candidates, estimates, refine scratch) are
 * allocated once, not per query. A search is synchronous, so queries never share one at the same time.
 */
const searchers = new WeakMap<IvfIndex, IvfSearcher>();
function searcherFor(index: IvfIndex): IvfSearcher {
  let s = searchers.get(index);
  if (s === undefined) {
    s = new IvfSearcher(index);
    searchers.set(index, s);
  }
  return s;
}

/**
 * The query's live centroids nearest first, sorted only as deep as asked: a part's nearest held clusters are usually
 * among the first few of the namespace's order, so a short prefix (insertion into a short list, O(k·m)) is enough;
 * a deep walk (a selective filter) sorts everything once.
 */
class ProbeWalk {
  private prefix: number[] = [];
  private complete = false;

  constructor(
    private readonly index: IvfIndex,
    private readonly ranked: Float64Array,
  ) {}

  /** The first m of the order (fewer when there are fewer live centroids). */
  private first(m: number): number[] {
    if (this.prefix.length < m && !this.complete) {
      const want = Math.min(this.index.live, Math.max(m, this.prefix.length * 2, 16));
      // probeOrderOf marks retired centroids in its copy of the ranking; a deep prefix is selected in O(k), not
      // sorted whole (10k centroids: 1.3 ms a query).
      this.prefix = probeOrderOf(this.index, this.ranked.slice(), want);
      this.complete = want >= this.index.live;
    }
    return this.prefix;
  }

  /** The m nearest centroids among `held` (ascending centroid ids: a cluster table's column) not skipped. */
  nearestHeld(held: Uint32Array, m: number, skip?: (c: number) => boolean): number[] {
    const out: number[] = [];
    if (m <= 0 || held.length === 0) return out;
    for (let depth = m; ; depth *= 2) {
      const order = this.first(depth);
      out.length = 0;
      for (const c of order) {
        if (out.length >= m) break;
        if (entryOf(held, c) >= 0 && !skip?.(c)) out.push(c);
      }
      if (out.length >= m || this.complete || order.length < depth) return out;
    }
  }
}

/** Index of centroid c in a cluster table's ascending centroid column, or -1. */
function entryOf(centroids: Uint32Array, c: number): number {
  let lo = 0;
  let hi = centroids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = centroids[mid]!;
    if (v === c) return mid;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** All of a part's codes of a cluster as a searcher's segment, rows renamed to global rows (part j's ordinal o is o + base). */
function wholeSlice(cc: ClusterCodes, base: number): ClusterSlice {
  return { of: cc, sel: null, from: 0, n: cc.n, shift: 0, base };
}

/**
 * The selections of one query's cluster slices (ClusterSlice.sel): each written once, after the ones before, and
 * read until the query ends (every searcher run and rescore reads the same slices). Full, it moves to a new buffer
 * (the slices already made keep the old one, which nothing writes again). Kept for the next query only when that
 * query has ended (`arenas`), so two queries in flight never share one.
 */
class SelectionArena {
  buf = new Uint32Array(4096);
  used = 0;

  /** Where `n` more entries may be written (at most: `used` moves by what is kept). */
  room(n: number): number {
    if (this.buf.length - this.used < n) {
      this.buf = new Uint32Array(Math.max(this.buf.length * 2, n));
      this.used = 0;
    }
    return this.used;
  }
}

/** Arenas of ended queries, for the next ones: a few, none larger than 4 MiB. */
const arenas: SelectionArena[] = [];
function takeArena(): SelectionArena {
  return arenas.pop() ?? new SelectionArena();
}
function giveArena(a: SelectionArena): void {
  a.used = 0;
  if (arenas.length < 8 && a.buf.length <= 1 << 20) arenas.push(a);
}
