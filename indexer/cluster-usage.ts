/**
 * Which codebook centroids the parts of a router still hold live rows in (RFC-0008 §6): compaction may retire a
 * centroid only when no part outside the merged run does, since a retired centroid is never probed again.
 *
 * A format-3 part's cluster table gives each present cluster's ordinal range; a row there counts unless the part's
 * deletion vector (a v2 router) marks it dead — DVs only grow, so a cluster found empty stays empty. Format-2 parts
 * hold no cluster. Cluster tables are read whole (ivf.blk is one small block) and cached per reader.
 */
import { isBlockHead, blockOf, decodeClusterTable, partFileKey, partFileMissing, type ClusterTable, type PartHeadV3 } from '../crates-ts/part/index.js';
import type { PartRef, Router } from '../crates-ts/router/index.js';
import { LIVENESS_ROUTER_FORMAT, type LivenessReader } from './liveness.js';

/**
 * Cluster tables of the parts this process read lately, per store object, shared by every ClusterUsage (an indexer
 * builds one per pass): a part is immutable, so its table never changes, and an indexing pass would otherwise GET
 * every format-3 part's ivf.blk again. Keyed by namespace and part; the oldest entries go beyond TABLES_KEPT.
 */
const TABLES_KEPT = 2048;
const tablesByStore = new WeakMap<object, Map<string, Promise<ClusterTable | null>>>();

export class ClusterUsage {
  constructor(private readonly liveness: LivenessReader) {}

  /** A part's cluster table, or null for a part that is not format 3. */
  table(ref: PartRef): Promise<ClusterTable | null> {
    let recentTables = tablesByStore.get(this.liveness.store);
    if (!recentTables) tablesByStore.set(this.liveness.store, (recentTables = new Map()));
    const key = `${this.liveness.homeOf(ref)}/${ref.id}@${ref.created_at}`; // created_at: a namespace recreated under one part id
    let p = recentTables.get(key);
    if (p) {
      recentTables.delete(key); // re-insert: Map order is recency order
      recentTables.set(key, p);
      return p;
    }
    p = this.read(ref);
    p.catch(() => recentTables.delete(key));
    recentTables.set(key, p);
    if (recentTables.size > TABLES_KEPT) recentTables.delete(recentTables.keys().next().value!);
    return p;
  }

  /** The centroids that `parts` of `router` (all but the skipped ids) hold at least one live row in. */
  async held(router: Router, skip: ReadonlySet<string>): Promise<Set<number>> {
    const out = new Set<number>();
    const v2 = router.format_version >= LIVENESS_ROUTER_FORMAT;
    await Promise.all(
      router.parts
        .filter((p) => !skip.has(p.id) && (p.index_kind === undefined || p.index_kind === 'ivf')) // others are format 2
        .map(async (p) => {
          const [t, mask] = await Promise.all([this.table(p), v2 ? this.liveness.mask(p) : Promise.resolve(null)]);
          if (t === null) return;
          for (let i = 0; i < t.centroid.length; i++) {
            if (mask === null) {
              out.add(t.centroid[i]!);
              continue;
            }
            const end = t.first[i]! + t.rows[i]!;
            for (let o = t.first[i]!; o < end; o++) {
              if (mask[o] !== 1) {
                out.add(t.centroid[i]!);
                break;
              }
            }
          }
        }),
    );
    return out;
  }

  /**
   * Rows per centroid (index = centroid id, length k) in the format-3 parts of `router` but `skip`, dead rows included: they
   * cost a query scoring until compaction drops them, which is what a split decision weighs.
   */
  async rowsPerCentroid(router: Router, k: number, skip: ReadonlySet<string> = new Set()): Promise<number[]> {
    const out = new Array<number>(k).fill(0);
    const tables = await Promise.all(router.parts.filter((p) => !skip.has(p.id) && (p.index_kind === undefined || p.index_kind === 'ivf')).map((p) => this.table(p)));
    for (const t of tables) {
      if (t === null) continue;
      for (let i = 0; i < t.centroid.length; i++) if (t.centroid[i]! < k) out[t.centroid[i]!]! += t.rows[i]!;
    }
    return out;
  }

  private async read(ref: PartRef): Promise<ClusterTable | null> {
    const head = await this.liveness.head(ref);
    if (!isBlockHead(head) || head.ivf === undefined) return null;
    const ns = this.liveness.homeOf(ref);
    const key = partFileKey(ns, ref.id, head.ivf.file);
    const got = await this.liveness.store.get(key);
    if (!got) throw partFileMissing(key, this.liveness.store.description);
    return decodeClusterTable(blockOf(got.bytes, head.ivf.blocks, 0, key), head as PartHeadV3, key);
  }
}
