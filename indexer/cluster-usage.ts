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

export class ClusterUsage {
  private readonly tables = new Map<string, Promise<ClusterTable | null>>();

  constructor(private readonly liveness: LivenessReader) {}

  /** A part's cluster table, or null for a part that is not format 3. */
  table(ref: PartRef): Promise<ClusterTable | null> {
    let p = this.tables.get(ref.id);
    if (!p) {
      p = this.read(ref);
      p.catch(() => this.tables.delete(ref.id));
      this.tables.set(ref.id, p);
    }
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
    const head = await this.liveness.head(ref.id);
    if (!isBlockHead(head) || head.ivf === undefined) return null;
    const ns = this.liveness.ns;
    const key = partFileKey(ns, ref.id, head.ivf.file);
    const got = await this.liveness.store.get(key);
    if (!got) throw partFileMissing(key, this.liveness.store.description);
    return decodeClusterTable(blockOf(got.bytes, head.ivf.blocks, 0, key), head as PartHeadV3, key);
  }
}
