/**
 * Per-process cache of namespace views, refreshed against the object store.
 *
 * Strong reads re-read router.json and list the WAL after the cached head, so every acknowledged write (on any
 * node) is visible. Eventual reads reuse a view refreshed within `eventualMaxAgeMs` without touching the store.
 * WAL entries are immutable, so a cached view only ever moves forward; it is rebuilt when the router shows a new
 * incarnation (the namespace was deleted and written again).
 */
import { ElaxError, type Clock } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import { RouterStore, type RouterRead } from '../router/index.js';
import { WalLog, decodeWalEntry, type WalEntry } from '../wal/index.js';
import { NamespaceView } from './view.js';

export type Consistency = 'strong' | 'eventual';

export interface CatalogOptions {
  clock: Clock;
  /** Max age of a view served to eventual-consistency reads. Default 60 s. */
  eventualMaxAgeMs?: number;
  /** Parallel WAL entry fetches while catching up. Default 16. */
  fetchConcurrency?: number;
}

export class NamespaceCatalog {
  readonly routers: RouterStore;
  private readonly views = new Map<string, NamespaceView>();
  /** Single-flight refresh per namespace: `running` is the refresh in progress, `next` one queued behind it. */
  private readonly refreshes = new Map<string, { running: Promise<NamespaceView | null>; next?: Promise<NamespaceView | null> }>();
  private readonly clock: Clock;
  private readonly eventualMaxAgeMs: number;
  private readonly fetchConcurrency: number;
  /** Lookups answered from memory vs. lookups that went to the store (for cache_hit_ratio). */
  stats = { entryHits: 0, entryMisses: 0 };

  constructor(
    readonly store: ObjectStore,
    options: CatalogOptions,
  ) {
    this.routers = new RouterStore(store);
    this.clock = options.clock;
    this.eventualMaxAgeMs = options.eventualMaxAgeMs ?? 60_000;
    this.fetchConcurrency = options.fetchConcurrency ?? 16;
  }

  wal(ns: string): WalLog {
    return new WalLog(this.store, ns);
  }

  /** The view of `ns`, or null if the namespace does not exist (never written, or deleted). */
  async view(ns: string, consistency: Consistency = 'strong'): Promise<NamespaceView | null> {
    if (consistency === 'eventual') {
      const cached = this.views.get(ns);
      if (cached && this.clock.now() - cached.refreshedAt <= this.eventualMaxAgeMs) return cached;
    }
    return this.refresh(ns);
  }

  /** Like view() but a missing namespace is a 404. */
  async require(ns: string, consistency: Consistency = 'strong'): Promise<NamespaceView> {
    const v = await this.view(ns, consistency);
    if (!v) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' not found`);
    return v;
  }

  /** A view that reflects every write acknowledged before this call started (joins or queues a refresh). */
  refresh(ns: string): Promise<NamespaceView | null> {
    const slot = this.refreshes.get(ns);
    if (!slot) {
      const running = this.doRefresh(ns).finally(() => this.advance(ns));
      this.refreshes.set(ns, { running });
      return running;
    }
    // A refresh already running may have listed the WAL before our caller's write was acknowledged: queue one more.
    if (!slot.next) {
      slot.next = slot.running.then(
        () => this.doRefresh(ns),
        () => this.doRefresh(ns),
      );
    }
    return slot.next;
  }

  private advance(ns: string): void {
    const slot = this.refreshes.get(ns);
    if (!slot) return;
    if (slot.next) {
      const running = slot.next.finally(() => this.advance(ns));
      this.refreshes.set(ns, { running });
    } else {
      this.refreshes.delete(ns);
    }
  }

  /** Forget the cached view (after deleting a namespace). */
  evict(ns: string): void {
    this.views.delete(ns);
  }

  /** Fold an entry this process just committed, if the view is exactly one behind (saves a re-read). */
  applyCommitted(ns: string, entry: WalEntry, bytes: number): void {
    const v = this.views.get(ns);
    if (v && v.headSeq === entry.seq - 1) v.apply(entry, bytes);
  }

  cachedView(ns: string): NamespaceView | undefined {
    return this.views.get(ns);
  }

  private async doRefresh(ns: string): Promise<NamespaceView | null> {
    const started = this.clock.now();
    const read: RouterRead | null = await this.routers.read(ns);
    if (!read || read.router.deleted) {
      this.views.delete(ns);
      return null;
    }
    let view = this.views.get(ns);
    if (!view || view.router.wal_start !== read.router.wal_start || view.router.created_at !== read.router.created_at) {
      view = new NamespaceView(read.router, read.witness);
    } else {
      view.router = read.router;
      view.routerWitness = read.witness;
    }
    await this.catchUp(view);
    view.refreshedAt = started;
    this.views.set(ns, view);
    return view;
  }

  /** List the WAL after the view's head and fold the new entries in order (fetched in parallel). */
  private async catchUp(view: NamespaceView): Promise<void> {
    const log = this.wal(view.namespace);
    const objects = await log.listAfter(view.headSeq);
    if (objects.length === 0) {
      this.stats.entryHits++;
      return;
    }
    this.stats.entryMisses += objects.length;
    let next = 0;
    const fetched = new Map<number, { entry: WalEntry; bytes: number }>();
    let applyIdx = 0;
    const applyReady = () => {
      while (applyIdx < objects.length && fetched.has(objects[applyIdx]!.seq)) {
        const o = objects[applyIdx]!;
        const f = fetched.get(o.seq)!;
        fetched.delete(o.seq);
        view.apply(f.entry, f.bytes);
        applyIdx++;
      }
    };
    const worker = async () => {
      while (next < objects.length) {
        const o = objects[next++]!;
        const bytes = await log.readBytes(o.seq);
        if (!bytes) throw new ElaxError('ELAX_ERR_CORRUPT', `WAL entry ${o.seq} of ${view.namespace} was listed but is gone`);
        fetched.set(o.seq, { entry: decodeWalEntry(o.seq, bytes), bytes: bytes.length });
        applyReady();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.fetchConcurrency, objects.length) }, worker));
    applyReady();
  }
}
