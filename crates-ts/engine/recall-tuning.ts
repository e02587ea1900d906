/**
 * Recall tuning (RFC-0008 §5, `elax recall --tune`): measure recall of the clustered parts at increasing probe
 * depths on one sample of query vectors, pick the smallest depth that meets a target, then at that depth lower
 * RaBitQ's bound confidence ε0 step by step while the target still holds (fewer candidates refined: a cheaper
 * query at the same depth), and record both as `router.vindex.probes_min` and `router.vindex.eps0` with one CAS. The measuring goes through a function (the engine in process, or a
 * server's `/_debug/recall` with `probes` and `seed`), so the same sweep serves both.
 */
import { ElaxError, type Clock } from '../core/index.js';
import { RouterStore, type Router } from '../router/index.js';
import { DEFAULT_EPS0 } from '../ivf/index.js';
import { isTunedEps0 } from '../router/index.js';
import type { RecallResponse } from './recall.js';

/** What one recall measurement at a given depth reports (the /_debug/recall response). */
export type RecallReport = Omit<RecallResponse, 'ground_truth'>;

export interface SweepRow {
  probes: number;
  eps0: number;
  avg_recall: number;
  recall_stderr: number;
  avg_ann_count: number;
}

export interface SweepResult {
  clusters: number;
  rows: SweepRow[];
  /** The smallest depth meeting the target (`meets`); null when even every cluster falls short. */
  chosen: number | null;
  /** The smallest ε0 of EPS0_STEPS still at or above the target at `chosen` (DEFAULT_EPS0: none was; absent: not tuned). */
  chosenEps0?: number;
}

/**
 * The ε0 values a sweep tries below the default, in order, at the chosen depth. At 1M × 128-d clustered data (default
 * depth, bench/micro/ann-query-loop.ts): 1.9 → 1,081 candidates refined a query, 1.5 → 644, 1.2 → 483, at recall@10
 * 0.998, 0.9915, 0.9725. Below 1.0 the bound stops holding often enough to be worth a step.
 */
export const EPS0_STEPS: readonly number[] = [1.5, 1.2, 1.0];

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
 * Whether a measurement meets the target with one standard error of margin: the sample's mean minus its standard
 * error (about 84 % confidence that the mean over all queries is at or above it). At 1M clustered, a depth measured
 * at exactly 0.950 on 100 sampled vectors gave 0.942 on 200 held-out queries.
 */
export function meets(r: Pick<RecallReport, 'avg_recall' | 'recall_stderr'>, target: number): boolean {
  return r.avg_recall - (r.recall_stderr ?? 0) >= target;
}

/**
 * Measures recall at increasing depths until one meets `target` (with a standard error of margin, `meets`) (recall grows with depth: deeper probes a superset
 * of the clusters), on the sample `measure` draws for every depth alike (the caller passes one seed); the depths are
 * measured at the default ε0. With `eps0`, then lowers ε0 through EPS0_STEPS at the chosen depth while the target
 * holds (recall falls as ε0 does: the first step below the target ends the sweep).
 */
export async function sweepProbes(measure: (probes: number, eps0: number) => Promise<RecallReport>, target: number, opts: { eps0?: boolean } = {}): Promise<SweepResult> {
  checkRecallTarget(target);
  const first = await measure(1, DEFAULT_EPS0);
  if (first.clusters === undefined) {
    throw new ElaxError('ELAX_ERR_NO_CLUSTERED_INDEX', 'the recall report names no clustered index: the namespace has no clustered (IVF, format-3) parts to tune');
  }
  const clusters = first.clusters;
  const rows: SweepRow[] = [];
  for (const probes of probeDepths(clusters)) {
    const r = probes === 1 ? first : await measure(probes, DEFAULT_EPS0);
    rows.push({ probes, eps0: DEFAULT_EPS0, avg_recall: r.avg_recall, recall_stderr: r.recall_stderr ?? 0, avg_ann_count: r.avg_ann_count });
    if (!meets(r, target)) continue;
    if (!opts.eps0) return { clusters, rows, chosen: probes };
    let chosenEps0 = DEFAULT_EPS0;
    for (const eps0 of EPS0_STEPS) {
      const e = await measure(probes, eps0);
      rows.push({ probes, eps0, avg_recall: e.avg_recall, recall_stderr: e.recall_stderr ?? 0, avg_ann_count: e.avg_ann_count });
      if (!meets(e, target)) break;
      chosenEps0 = eps0;
    }
    return { clusters, rows, chosen: probes, chosenEps0 };
  }
  return { clusters, rows, chosen: null };
}

export interface RecordOutcome {
  epoch: number;
  /** The probes_min the router held before (undefined: none). */
  previous: number | undefined;
  /** The eps0 the router held before (undefined: none, the default). */
  previousEps0?: number;
  /** The router already held this value: nothing was published. */
  unchanged: boolean;
  /** The codebook the router names now, when it is not the one measured (the value is kept: centroid ids are stable). */
  codebookChangedTo?: string;
}

/**
 * Records `probes` as `router.vindex.probes_min` of `ns` (RFC-0008 §5), and `eps0` as `router.vindex.eps0` when given
 * (a number; null clears it, so queries use the default; undefined leaves it): one CAS that changes only those fields;
 * on a lost race, re-read and retry on top of the new state. `measured` is the codebook the sweep ran against: if
 * the router names a later version now the value is still recorded (a new version only appends centroids), and the
 * outcome says so. A namespace deleted or recreated meanwhile (another wal_start), or without a codebook, is refused.
 */
export async function recordProbesMin(routers: RouterStore, ns: string, probes: number, measured: Pick<Router, 'wal_start' | 'vindex'>, clock: Clock, eps0?: number | null): Promise<RecordOutcome> {
  if (!Number.isSafeInteger(probes) || probes < 1) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `probes_min must be a positive integer, got ${String(probes)}`);
  if (eps0 !== undefined && eps0 !== null && !isTunedEps0(eps0)) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `eps0 must be a number in (0, 10], got ${String(eps0)}`);
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
    const previousEps0 = r.vindex.eps0;
    const was = { previous, ...(previousEps0 !== undefined ? { previousEps0 } : {}), ...(codebookChangedTo ? { codebookChangedTo } : {}) };
    const vindex = { ...r.vindex, probes_min: probes };
    if (eps0 === null) delete vindex.eps0;
    else if (eps0 !== undefined) vindex.eps0 = eps0;
    if (previous === probes && previousEps0 === vindex.eps0) return { epoch: r.epoch, ...was, unchanged: true };
    const next = RouterStore.next(r, { vindex }, new Date(Math.max(clock.now(), Date.parse(r.updated_at) || 0)).toISOString());
    const out = await routers.publish(r, read.witness, next);
    if (out.ok) return { epoch: next.epoch, ...was, unchanged: false };
  }
  throw new ElaxError('ELAX_ERR_CAS_CONFLICT', `could not record probes_min for '${ns}': router.json kept changing (20 lost compare-and-swaps); run again`);
}
