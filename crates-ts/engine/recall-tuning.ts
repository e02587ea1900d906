/**
 * Recall tuning (RFC-0008 §5, `elax recall --tune`): measure recall of the clustered parts at increasing probe
 * depths on one sample of query vectors, pick the smallest depth that meets a target, and record it as
 * `router.vindex.probes_min` with one CAS. The measuring goes through a function (the engine in process, or a
 * server's `/_debug/recall` with `probes` and `seed`), so the same sweep serves both.
 */
import { ElaxError, type Clock } from '../core/index.js';
import { RouterStore, type Router } from '../router/index.js';
import type { RecallResponse } from './recall.js';

/** What one recall measurement at a given depth reports (the /_debug/recall response). */
export type RecallReport = Omit<RecallResponse, 'ground_truth'>;

export interface SweepRow {
  probes: number;
  avg_recall: number;
  avg_ann_count: number;
}

export interface SweepResult {
  clusters: number;
  rows: SweepRow[];
  /** The smallest depth measured at or above the target; null when even every cluster falls short. */
  chosen: number | null;
}

/** The depths a sweep tries: 1, 2, 3, 4, 6, 8, 12, 16, 24, … (powers of two and 1.5× them), then every cluster. */
export function probeDepths(clusters: number): number[] {
  const out: number[] = [1];
  for (let p = 2; p < clusters; p *= 2) {
    out.push(p);
    if (p + p / 2 < clusters) out.push(p + p / 2);
  }
  if (clusters > 1) out.push(clusters);
  return out.filter((d) => d <= clusters);
}

/** Validates a recall target: a fraction in (0, 1]. */
export function checkRecallTarget(target: number): void {
  if (!(target > 0 && target <= 1)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `recall target must be a number in (0, 1], got ${String(target)}`);
}

/**
 * Measures recall at increasing depths until one meets `target` (recall grows with depth: deeper probes a superset
 * of the clusters), on the sample `measure` draws for every depth alike (the caller passes one seed).
 */
export async function sweepProbes(measure: (probes: number) => Promise<RecallReport>, target: number): Promise<SweepResult> {
  checkRecallTarget(target);
  const first = await measure(1);
  if (first.clusters === undefined) {
    throw new ElaxError('ELAX_ERR_NO_CLUSTERED_INDEX', 'the recall report names no clustered index: the namespace has no clustered (IVF, format-3) parts to tune');
  }
  const clusters = first.clusters;
  const rows: SweepRow[] = [];
  for (const probes of probeDepths(clusters)) {
    const r = probes === 1 ? first : await measure(probes);
    rows.push({ probes, avg_recall: r.avg_recall, avg_ann_count: r.avg_ann_count });
    if (r.avg_recall >= target) return { clusters, rows, chosen: probes };
  }
  return { clusters, rows, chosen: null };
}

export interface RecordOutcome {
  epoch: number;
  /** The probes_min the router held before (undefined: none). */
  previous: number | undefined;
  /** The router already held this value: nothing was published. */
  unchanged: boolean;
  /** The codebook the router names now, when it is not the one measured (the value is kept: centroid ids are stable). */
  codebookChangedTo?: string;
}

/**
 * Records `probes` as `router.vindex.probes_min` of `ns` (RFC-0008 §5): one CAS that changes only that field;
 * on a lost race, re-read and retry on top of the new state. `measured` is the codebook the sweep ran against: if
 * the router names a later version now the value is still recorded (a new version only appends centroids), and the
 * outcome says so. A namespace deleted or recreated meanwhile (another wal_start), or without a codebook, is refused.
 */
export async function recordProbesMin(routers: RouterStore, ns: string, probes: number, measured: Pick<Router, 'wal_start' | 'vindex'>, clock: Clock): Promise<RecordOutcome> {
  if (!Number.isSafeInteger(probes) || probes < 1) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `probes_min must be a positive integer, got ${String(probes)}`);
  for (let attempt = 0; attempt < 20; attempt++) {
    const read = await routers.read(ns);
    if (!read || read.router.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' not found (deleted while its recall was measured?)`);
    const r = read.router;
    if (r.wal_start !== measured.wal_start) {
      throw new ElaxError('ELAX_ERR_CAS_CONFLICT', `namespace '${ns}' was deleted and written again while its recall was measured (wal_start ${measured.wal_start} → ${r.wal_start}); tune again`);
    }
    if (!r.vindex) throw new ElaxError('ELAX_ERR_NO_CLUSTERED_INDEX', `namespace '${ns}' names no codebook (router.vindex): nothing to record probes_min in (recreated while its recall was measured?)`);
    const codebookChangedTo = r.vindex.codebook === measured.vindex?.codebook ? undefined : r.vindex.codebook;
    const previous = r.vindex.probes_min;
    if (previous === probes) return { epoch: r.epoch, previous, unchanged: true, ...(codebookChangedTo ? { codebookChangedTo } : {}) };
    const next = RouterStore.next(r, { vindex: { ...r.vindex, probes_min: probes } }, new Date(Math.max(clock.now(), Date.parse(r.updated_at) || 0)).toISOString());
    const out = await routers.publish(r, read.witness, next);
    if (out.ok) return { epoch: next.epoch, previous, unchanged: false, ...(codebookChangedTo ? { codebookChangedTo } : {}) };
  }
  throw new ElaxError('ELAX_ERR_CAS_CONFLICT', `could not record probes_min for '${ns}': router.json kept changing (20 lost compare-and-swaps); run again`);
}
