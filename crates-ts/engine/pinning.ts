/**
 * Namespace pinning (docs/api.md "Pinning"; turbopuffer's `PATCH /v1/namespaces/:ns/metadata {pinning}`).
 *
 * The configuration is namespace state: `router.pinning` in router.json, set by one CAS (`recordPinning`), so every
 * node and every restart sees it. A node acts on it when it opens the namespace (`NamespacePins.observe`, called on
 * every view the engine hands out): it holds the namespace's values in its caches (BlockCache held share, exempt from
 * eviction up to `--pinned-cache-share` of each budget, earliest `pinned_at` first) and loads them (the same loads as
 * hint_cache_warm) in the background, again whenever the part set changes. Metadata reports the status: one ready
 * replica when this node has loaded the current part set and holds all of it.
 */
import { ElaxError, type Clock } from '../core/index.js';
import type { BlockCache } from '../cache/index.js';
import type { NamespaceView } from '../namespace/index.js';
import { RouterStore, type Router, type RouterPinning } from '../router/index.js';

/** What a metadata PATCH asks of pinning: pin (or change replicas), or unpin. */
export type PinningChange = { pin: true; replicas: number } | { pin: false };

/** A parsed `PATCH /v1/namespaces/:ns/metadata` body (turbopuffer's NamespaceMetadataPatch). */
export interface MetadataPatch {
  /** Absent: no change to pinning. */
  pinning?: PinningChange;
}

function invalid(message: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_REQUEST', message);
}

/**
 * Parses a metadata PATCH: `{}` changes nothing; `pinning: true` pins with the defaults (1 replica), an object
 * `{replicas?}` sets the configuration, `false` or `null` unpins. Anything else is a 400 naming the field.
 */
export function parseMetadataPatch(body: unknown): MetadataPatch {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid(`the metadata patch must be a JSON object, got ${Array.isArray(body) ? 'array' : typeof body}`);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'pinning') throw invalid(`unknown field '${k}' in the metadata patch (only 'pinning' can be changed)`);
  if (!('pinning' in b) || b.pinning === undefined) return {};
  const p = b.pinning;
  if (p === null || p === false) return { pinning: { pin: false } };
  if (p === true) return { pinning: { pin: true, replicas: 1 } };
  if (typeof p !== 'object' || Array.isArray(p)) throw invalid(`pinning must be true, false, null or an object {replicas?}, got ${JSON.stringify(p)}`);
  const o = p as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'replicas') throw invalid(`unknown field 'pinning.${k}' (a pinning configuration has 'replicas' only)`);
  const r = o.replicas;
  if (r === undefined || r === null) return { pinning: { pin: true, replicas: 1 } };
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1) throw invalid(`pinning.replicas must be a positive integer, got ${JSON.stringify(r)}`);
  return { pinning: { pin: true, replicas: r } };
}

/**
 * Records `change` as router.pinning of `ns` by CAS (re-read and retried on a lost race). Pinning an already pinned
 * namespace keeps its `pinned_at` (its place in the share); a change to nothing publishes nothing. router.updated_at
 * is kept: metadata's updated_at is the data's and schema's (turbopuffer's definition), not pinning's.
 */
export async function recordPinning(routers: RouterStore, ns: string, change: PinningChange, clock: Clock): Promise<RouterPinning | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const read = await routers.read(ns);
    if (!read || read.router.deleted) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' not found`);
    const r = read.router;
    const want: RouterPinning | undefined = change.pin ? { replicas: change.replicas, pinned_at: r.pinning?.pinned_at ?? new Date(clock.now()).toISOString() } : undefined;
    if (want?.replicas === r.pinning?.replicas && want?.pinned_at === r.pinning?.pinned_at) return r.pinning;
    const next = RouterStore.next(r, { pinning: want }, r.updated_at);
    if (!want) delete next.pinning;
    if ((await routers.publish(r, read.witness, next)).ok) return want;
  }
  throw new ElaxError('ELAX_ERR_CAS_CONFLICT', `could not record pinning for '${ns}': router.json kept changing (20 lost compare-and-swaps); retry`);
}

/** turbopuffer's NamespaceMetadata.Pinning.Status. */
export interface PinningStatus {
  /** 1 when this node has loaded the namespace's current part set and holds all of it; else 0. */
  ready_replicas: number;
  updated_at: string;
  /** The namespace's held bytes as a fraction of this node's pinned share (0..1). */
  utilization: number;
}

interface Pinned {
  rank: number;
  homes: string[];
  /** The router epoch last observed, and the part set it named (warm again when that changes). */
  epoch: number;
  parts: string;
  /** The part set the last completed warm loaded, and the evictions counted then. */
  warmed: string | null;
  evictionsAtWarm: number;
  warming: boolean;
  again: boolean;
  error?: string;
}

/** The namespaces whose parts the router's parts live in (a branch borrows its source's: RFC-0011). */
function homesOf(r: Router): string[] {
  const out = new Set([r.namespace]);
  for (const p of r.parts) if (p.home !== undefined) out.add(p.home);
  return [...out].sort();
}

function partSet(r: Router): string {
  return r.parts.map((p) => `${p.home ?? ''}/${p.id}:${p.deletes?.file ?? ''}`).join(',');
}

/** This node's pinned namespaces: what its caches hold for them and whether each is loaded. */
export class NamespacePins {
  readonly #pinned = new Map<string, Pinned>();

  constructor(
    private readonly caches: readonly BlockCache[],
    /** Loads the namespace's state into the caches (the engine's hint_cache_warm loads). */
    private readonly warm: (ns: string) => Promise<void>,
    private readonly clock: Clock,
    private readonly onWarmError?: (ns: string, e: unknown) => void,
  ) {}

  /** The namespaces pinned on this node now. */
  get namespaces(): string[] {
    return [...this.#pinned.keys()];
  }

  /** Acts on the view's router.pinning: holds and loads a newly pinned namespace or part set, releases an unpinned one. */
  observe(view: NamespaceView): void {
    const r = view.router;
    const ns = view.namespace;
    const p = r.pinning;
    const state = this.#pinned.get(ns);
    if (!p) {
      if (state) this.forget(ns);
      return;
    }
    if (state && state.epoch === r.epoch && (state.error === undefined || state.warming)) return; // a failed load is retried
    const rank = Date.parse(p.pinned_at);
    const homes = homesOf(r);
    const parts = partSet(r);
    if (!state || state.rank !== rank || state.homes.join('\0') !== homes.join('\0')) for (const c of this.caches) c.hold(ns, homes, rank);
    const s: Pinned = state ?? { rank, homes, epoch: r.epoch, parts, warmed: null, evictionsAtWarm: 0, warming: false, again: false };
    Object.assign(s, { rank, homes, epoch: r.epoch, parts });
    this.#pinned.set(ns, s);
    if (s.warmed !== parts) this.#warm(ns, s);
  }

  /** Stops holding `ns` (unpinned, or gone). */
  forget(ns: string): void {
    if (!this.#pinned.delete(ns)) return;
    for (const c of this.caches) c.unhold(ns);
  }

  #warm(ns: string, s: Pinned): void {
    if (s.warming) {
      s.again = true;
      return;
    }
    s.warming = true;
    s.again = false;
    const target = s.parts;
    void this.warm(ns)
      .then(
        () => {
          s.warmed = target;
          s.evictionsAtWarm = this.#held(s).evictions;
          delete s.error;
        },
        (e: unknown) => {
          s.error = e instanceof Error ? e.message : String(e);
          this.onWarmError?.(ns, e);
        },
      )
      .finally(() => {
        s.warming = false;
        if (this.#pinned.get(ns) === s && (s.again || s.warmed !== s.parts)) {
          if (s.error === undefined || s.again) this.#warm(ns, s);
        }
      });
  }

  #held(s: Pinned) {
    const out = { heldBytes: 0, spilledBytes: 0, evictions: 0 };
    for (const c of this.caches) {
      const h = c.heldStatus(s.homes);
      out.heldBytes += h.heldBytes;
      out.spilledBytes += h.spilledBytes;
      out.evictions += h.evictions;
    }
    return out;
  }

  /** Waits until `ns`'s current load is done (tests, and a PATCH that asks to wait). */
  async settled(ns: string): Promise<void> {
    for (;;) {
      const s = this.#pinned.get(ns);
      if (!s || !s.warming) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Metadata's `pinning` of a pinned view (call `observe` first). */
  status(view: NamespaceView): { replicas: number; status: PinningStatus } | undefined {
    const p = view.router.pinning;
    if (!p) return undefined;
    const s = this.#pinned.get(view.namespace);
    const budget = this.caches.reduce((n, c) => n + c.heldBudgetBytes, 0);
    const h = s ? this.#held(s) : { heldBytes: 0, spilledBytes: 0, evictions: 0 };
    const ready = s !== undefined && !s.warming && s.warmed === s.parts && h.spilledBytes === 0 && h.evictions === s.evictionsAtWarm;
    return {
      replicas: p.replicas,
      status: {
        ready_replicas: ready ? 1 : 0,
        updated_at: new Date(this.clock.now()).toISOString(),
        utilization: budget > 0 ? Math.min(1, h.heldBytes / budget) : 0,
      },
    };
  }
}
