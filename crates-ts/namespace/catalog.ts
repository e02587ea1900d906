/**
 * Per-process cache of namespace views, refreshed against the object store.
 *
 * Strong reads re-read router.json and list the WAL after the cached head, so every acknowledged write (on any
 * node) is visible. Eventual reads reuse a view refreshed within `eventualMaxAgeMs` without touching the store.
 * WAL entries are immutable, so a cached view only ever moves forward; it is rebuilt when the router shows a new
 * incarnation (the namespace was deleted and written again).
 */
import { ElaxError, type Clock, type Id } from '../core/index.js';
import { Witness, routerKey, type ObjectStore } from '../store/index.js';
import { RouterStore, type RouterRead } from '../router/index.js';
import { WalLog, decodeWalEntry, type WalEntry, type WalObject } from '../wal/index.js';
import {
  IVF_FILE, PartData, blockCacheFor, decodeDeletionVector, fetchVerified, isBlockHead, loadPart, lookupIdsV2, manifestKey, partFileKey, partFileMissing, readManifest,
  type PartFileCache, type LoadedPartCache, type PartManifest,
} from '../part/index.js';
import { CachedViewPart, LoadedViewPart, type ViewPart } from './view-part.js';
import { BlockCache, Limiter } from '../cache/index.js';
import { partHome, type Router } from '../router/index.js';
import { DEFAULT_FOLD_SLICE, NamespaceView, type FoldSlice } from './view.js';
import { codebookIndex, type IvfIndex } from '../ivf/index.js';
import { readCodebook } from '../vindex/index.js';
import { VectorArena } from '../query/index.js';
import { codebookKey } from '../store/index.js';

export type Consistency = 'strong' | 'eventual';

/** A router's parts and deletion vectors, read: what a view of it is made from (carried over or rebuilt). */
interface PreparedParts {
  read: RouterRead;
  parts: ViewPart[];
  masks: (Uint8Array | null)[] | null;
  /** When the router was read (the view's part set was current then). */
  readAt: number;
}

export interface CatalogOptions {
  clock: Clock;
  /** Max age of a view served to eventual-consistency reads. Default 60 s. */
  eventualMaxAgeMs?: number;
  /** Parallel WAL entry fetches while catching up. Default 16. */
  fetchConcurrency?: number;
  /** Shared caches for part files (disk) and decoded parts (memory); optional (no caching without them). */
  partFiles?: PartFileCache;
  loadedParts?: LoadedPartCache;
  /** Postings files at least this large are range-read (see LoadPartOptions). Default 4 MiB. */
  rangedPostingsMinBytes?: number;
  /** Parts load their whole vectors into shared memory (PartDataOptions.sharedVectors): the engine scans on its pool. */
  sharedPartVectors?: boolean;
  /**
   * The node's memory budget (RFC-0004 §8): heads, columns, id-index blocks, vectors, deletion vectors, HNSW graphs,
   * postings of format-2 parts. Default: a private 256 MiB one.
   */
  blockCache?: BlockCache;
  /**
   * HNSW graphs of format-2 parts (loaded whole, seconds each: kept apart from the block cache so column and vector
   * blocks cannot evict them). Default: a private 4 GiB one.
   */
  graphCache?: BlockCache;
  /** Graphs up to this size load before an ANN query; larger ones load in the background (PartDataOptions). */
  graphWaitBytes?: number;
  /** Namespace views kept (least recently refreshed evicted). Default 10,000. */
  maxViews?: number;
  /** Decodes a WAL entry read while catching up (default: decodeWalEntry on this thread; the engine passes its pool's). */
  decodeWal?: (seq: number, bytes: Uint8Array) => Promise<WalEntry>;
  /**
   * A query may be answered from the cached view while a new part set's view is built in the background when the
   * cached tail holds at least this many rows (smaller tails rebuild in a few ms: not worth answering from the older
   * part set). Default 10,000.
   */
  staleRebuildMinRows?: number;
  /**
   * A publish carries the cached view over (no tail replay) while the tail store then holds at most this many more
   * rows the parts took over than rows it keeps; past that the view is rebuilt, which frees them. Default 65,536
   * (NamespaceView.carryOver).
   */
  carrySlackRows?: number;
  /** How views fold a large committed entry in slices (NamespaceView.apply). Default DEFAULT_FOLD_SLICE (5 ms). */
  foldSlice?: FoldSlice;
}

/** Same parts, deletion vectors and indexed range: a cached view can be moved forward instead of rebuilt. */
function samePartSet(a: Router, b: Router): boolean {
  return (
    a.format_version === b.format_version &&
    a.indexed_wal === b.indexed_wal &&
    a.parts.length === b.parts.length &&
    a.parts.every((p, i) => p.id === b.parts[i]!.id && p.deletes?.file === b.parts[i]!.deletes?.file)
  );
}

/**
 * How long after its part set was last seen current a view may still answer while its successor is built (viewFor):
 * far below GC's part grace (15 min by default), so its parts are still there.
 */
/** A new clustered part's codes are read ahead of its first query up to this size (catalog warmNewParts). */
const WARM_CODES_MAX_BYTES = 64 * 1024 * 1024;
const STALE_VIEW_MAX_MS = 10_000;

/** Longest stretch of tail replay (viewFor) between two yields to the event loop, ms. */
const REPLAY_SLICE_MS = 5;
/** Cached entries a rebuild's replay decodes ahead of the one it folds (replayCached). */
const REPLAY_DECODE_AHEAD = 4;

export class NamespaceCatalog {
  readonly routers: RouterStore;
  private readonly views = new Map<string, NamespaceView>();
  /**
   * Per namespace, a newer part set (a publish) being read in the background, while refreshes keep answering from the
   * cached view (viewFor): `prepared` once its parts and deletion vectors are read and its new parts warmed; the next
   * refresh makes its view (the cached one carried over, else rebuilt) and installs it.
   */
  private readonly rebuilds = new Map<string, { prepared: PreparedParts | null }>();
  /**
   * When each view's part set was last seen current (router read naming exactly its parts). A view whose parts were
   * retired is served only within STALE_VIEW_MAX_MS of that: GC deletes a part a grace period after it is retired,
   * 15 min by default, so those parts are still there.
   */
  private readonly partsSeenAt = new WeakMap<NamespaceView, number>();
  /** Single-flight refresh per namespace: `running` is the refresh in progress, `next` one queued behind it. */
  private readonly refreshes = new Map<string, { running: Promise<NamespaceView | null>; next?: Promise<NamespaceView | null>; nextStaleParts?: boolean }>();
  private readonly clock: Clock;
  private readonly eventualMaxAgeMs: number;
  private readonly fetchConcurrency: number;
  /** Lookups answered from memory vs. lookups that went to the store (for cache_hit_ratio). */
  stats = {
    entryHits: 0,
    entryMisses: 0,
    /** Cached WAL entries folded again into a rebuilt view (replayCached). */
    replayedEntries: 0,
    /** Views of a new part set carried over from the cached one (no tail replay: NamespaceView.carryOver). */
    carriedOver: 0,
    /** Views of a new part set rebuilt with the cached tail replayed (carry-over refused, or no cached view). */
    rebuilt: 0,
  };
  /**
   * WAL entries above each namespace's indexed_wal, as their encoded bytes and ids (CachedEntry): a carry-over reads
   * the ids, a rebuild decodes the bytes again (on the pool). Not the decoded entries: those hold a JS document per row
   * (an object, its attributes, a vector view) for as long as the row is unindexed, seconds under a write stream,
   * which the GC promotes and marks again and again (docs/rfcs/0010-worker-pool.md "Write path and mixed load").
   */
  private readonly tailEntries = new Map<string, Map<number, CachedEntry>>();
  /**
   * Entries this process is appending, by namespace and seq: the append's outcome (the entry when it won, null when it
   * lost or failed). A refresh whose listing meets one of them (its object is visible before the append has resolved)
   * waits for the outcome instead of reading and decoding what this process just encoded (beginAppend).
   */
  private readonly appending = new Map<string, Map<number, Promise<{ entry: WalEntry; bytes: number } | null>>>();
  private readonly partFiles?: PartFileCache;
  private readonly loadedParts?: LoadedPartCache;
  private readonly rangedPostingsMinBytes?: number;
  private readonly sharedPartVectors: boolean;
  /** The node's block cache (RFC-0004 §8): heads, column blocks, id-index blocks, deletion vectors. */
  readonly blocks: BlockCache;
  /** HNSW graphs (kept apart from `blocks`). */
  readonly graphs: BlockCache;
  private readonly graphWaitBytes?: number;
  /** Background graph loads, one at a time (crates-ts/cache/limiter.ts says why). */
  private readonly graphLoads = new Limiter(1);
  private readonly maxViews: number;
  private readonly staleRebuildMinRows: number;
  private readonly carrySlackRows: number | undefined;
  private readonly foldSlice: FoldSlice;
  private readonly decodeWal: (seq: number, bytes: Uint8Array) => Promise<WalEntry>;
  /** v2 parts read through the caches, by namespace/part id (small objects: the data is in `blocks`). */
  private readonly partData = new Map<string, CachedViewPart>();

  constructor(
    readonly store: ObjectStore,
    options: CatalogOptions,
  ) {
    this.routers = new RouterStore(store);
    this.clock = options.clock;
    this.eventualMaxAgeMs = options.eventualMaxAgeMs ?? 60_000;
    this.fetchConcurrency = options.fetchConcurrency ?? 16;
    this.partFiles = options.partFiles;
    this.loadedParts = options.loadedParts;
    this.rangedPostingsMinBytes = options.rangedPostingsMinBytes;
    this.sharedPartVectors = options.sharedPartVectors === true;
    this.blocks = options.blockCache ?? new BlockCache(256 * 1024 * 1024);
    this.graphs = options.graphCache ?? new BlockCache(4 * 1024 ** 3);
    this.graphWaitBytes = options.graphWaitBytes;
    this.maxViews = options.maxViews ?? 10_000;
    this.staleRebuildMinRows = options.staleRebuildMinRows ?? 10_000;
    this.carrySlackRows = options.carrySlackRows;
    this.foldSlice = options.foldSlice ?? DEFAULT_FOLD_SLICE;
    this.decodeWal = options.decodeWal ?? (async (seq, bytes) => decodeWalEntry(seq, bytes));
  }

  /**
   * The router's parts for a view. Under a v2 router a format 2 or 3 part is read through the caches (its head, then only what
   * queries fetch: RFC-0004 §6); format 1 parts, and every part under a v1 router (whose liveness the view computes by
   * folding rows), are decoded whole.
   */
  private async loadParts(router: Router): Promise<ViewPart[]> {
    return Promise.all(
      router.parts.map(async (ref): Promise<ViewPart> => {
        // A borrowed part (RFC-0011) is read from its home, and cached under it: a branch and its source share it.
        const home = partHome(router, ref);
        const key = `${home}/${ref.id}`;
        if (router.format_version >= 2) {
          const data = this.partData.get(key);
          if (data) {
            this.stats.entryHits++;
            return data;
          }
          // A clustered part not seen before (its head not cached): its cluster table, the first thing every ANN
          // query reads of it, is read whole (`ivf.blk` is that one block and the file's footer, a few KiB per
          // thousand clusters) in the round trip of the head rather than after it, and checked against the head's
          // CRC once the head is here (RFC-0008 §7: a cold ANN query is then head ∥ table, codes, vectors).
          const early =
            ref.index_kind === 'ivf' && this.blocks.get(`head:${home}/${ref.id}`) === undefined
              ? this.store.get(partFileKey(home, ref.id, IVF_FILE)).then((g) => g?.bytes ?? null)
              : undefined;
          early?.catch(() => undefined); // a failed early read only means the ranged read after the head
          const head = await this.head(home, ref.id);
          if (isBlockHead(head)) {
            this.stats.entryMisses++;
            const pd = new PartData(head, this.store, this.partFiles, this.blocks, { rangedPostingsMinBytes: this.rangedPostingsMinBytes, sharedVectors: this.sharedPartVectors, graphs: this.graphs, graphWaitBytes: this.graphWaitBytes, graphLoads: this.graphLoads });
            const info = (name: string) => head.files.find((f) => f.name === name)!;
            const vp = new CachedViewPart(
              pd,
              (ids) => lookupIdsV2(this.store, head, ids, this.blocks),
              (name) => fetchVerified(this.store, partFileKey(home, ref.id, name), info(name), blockCacheFor(this.store, this.partFiles)),
            );
            this.partData.set(key, vp);
            // A clustered part's cluster table is the first thing every ANN query reads of it (one ranged GET, a few
            // KiB per thousand clusters): it leaves now, in the round trip of the WAL tail and the router check,
            // rather than after them (RFC-0008 §7). Loaded into the block cache; a failure shows on the query.
            if ('ivf' in head && head.ivf) pd.clusterTable(early).catch(() => undefined);
            return vp;
          }
        }
        const cached = this.loadedParts?.get(key);
        if (cached) {
          this.stats.entryHits++;
          return new LoadedViewPart(cached);
        }
        this.stats.entryMisses++;
        // Lazy: the HNSW index and postings are fetched by the first query that needs them (view.prepare).
        const part = await loadPart(this.store, home, ref.id, this.partFiles, { lazy: true, rangedPostingsMinBytes: this.rangedPostingsMinBytes });
        this.loadedParts?.set(key, part);
        return new LoadedViewPart(part);
      }),
    );
  }

  /** A part's head (manifest), cached: immutable, small, needed by every view of its parts. */
  private head(ns: string, partId: string): Promise<PartManifest> {
    return this.blocks.getOrLoad(`head:${ns}/${partId}`, async () => {
      const m = await readManifest(this.store, ns, partId);
      if (!m) throw partFileMissing(manifestKey(ns, partId), `${this.store.description} (incomplete or deleted part)`);
      return { value: m, bytes: 4096 };
    });
  }

  /** Dead-row masks of the parts under a v2 router (RFC-0004 §3), null under v1 (the view folds the parts). */
  private async loadMasks(router: Router): Promise<(Uint8Array | null)[] | null> {
    if (router.format_version < 2) return null;
    return Promise.all(
      router.parts.map(async (ref) => {
        if (!ref.deletes) return null;
        const key = partFileKey(router.namespace, ref.id, ref.deletes.file);
        return this.blocks.getOrLoad(key, async () => {
          const got = await this.store.get(key);
          if (!got) throw partFileMissing(key, this.store.description);
          const { mask, count } = decodeDeletionVector(got.bytes, ref.rows, key);
          if (count !== ref.deletes!.count) throw new ElaxError('ELAX_ERR_CORRUPT', `${key} holds ${count} dead rows; the router says ${ref.deletes!.count}`);
          return { value: mask, bytes: mask.byteLength };
        });
      }),
    );
  }

  wal(ns: string): WalLog {
    return new WalLog(this.store, ns);
  }

  /** The view of `ns`, or null if the namespace does not exist (never written, or deleted). */
  async view(ns: string, consistency: Consistency = 'strong', staleParts = false): Promise<NamespaceView | null> {
    if (this.views.get(ns)?.failed) this.evict(ns); // a fold threw: the view holds part of an entry
    if (consistency === 'eventual') {
      const cached = this.views.get(ns);
      if (cached && this.clock.now() - cached.refreshedAt <= this.eventualMaxAgeMs) {
        await cached.settle();
        return cached;
      }
    }
    const v = await this.refresh(ns, staleParts);
    await v?.settle(); // tail shadows of part rows, by id lookups (RFC-0004 §4)
    return v;
  }

  /**
   * Like view() but a missing namespace is a 404. `staleParts`: a query may be answered from the cached view while a
   * new part set's view is built (viewFor); metadata, writes and retries get the router's part set.
   */
  async require(ns: string, consistency: Consistency = 'strong', staleParts = false): Promise<NamespaceView> {
    const v = await this.view(ns, consistency, staleParts);
    if (!v) throw new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `namespace '${ns}' not found`);
    return v;
  }

  /**
   * Cache `view` as the namespace's current one, least recently refreshed views evicted beyond `maxViews` (a view is
   * rebuilt from the router, cached heads and deletion vectors on its next use), and forget the parts of this
   * namespace the new router no longer references (their data is only cache).
   */
  private keepView(ns: string, view: NamespaceView): void {
    this.views.delete(ns);
    this.views.set(ns, view);
    for (const [name] of this.views) {
      if (this.views.size <= this.maxViews) break;
      this.views.delete(name);
      this.tailEntries.delete(name);
      this.rebuilds.delete(name);
    }
    const prefix = `${ns}/`;
    const current = new Set(view.router.parts.map((p) => `${ns}/${p.id}`));
    for (const key of this.partData.keys()) if (key.startsWith(prefix) && !current.has(key)) this.partData.delete(key);
  }

  /** A view that reflects every write acknowledged before this call started (joins or queues a refresh). */
  refresh(ns: string, staleParts = false): Promise<NamespaceView | null> {
    const slot = this.refreshes.get(ns);
    if (!slot) {
      const running = this.doRefresh(ns, staleParts);
      this.refreshes.set(ns, { running });
      this.advanceWhenSettled(ns, running);
      return running;
    }
    // A refresh already running may have listed the WAL before our caller's write was acknowledged: queue one more,
    // which may answer from a stale part set only if every caller that joined it accepts that.
    slot.nextStaleParts = (slot.nextStaleParts ?? true) && staleParts;
    const queued = slot;
    slot.next ??= slot.running.then(
      () => this.doRefresh(ns, queued.nextStaleParts !== false),
      () => this.doRefresh(ns, queued.nextStaleParts !== false),
    );
    return slot.next;
  }

  /**
   * When `p` settles, start the queued refresh (if any). Both outcomes are handled here: the callers awaiting `p`
   * see its rejection, and no derived promise is left rejecting unobserved (an unhandled rejection exits Node).
   */
  private advanceWhenSettled(ns: string, p: Promise<unknown>): void {
    const advance = () => {
      const slot = this.refreshes.get(ns);
      if (!slot || slot.running !== p) return;
      if (slot.next) {
        const running = slot.next;
        this.refreshes.set(ns, { running });
        this.advanceWhenSettled(ns, running);
      } else {
        this.refreshes.delete(ns);
      }
    };
    p.then(advance, advance);
  }

  /** Forget the cached view (after deleting a namespace). */
  evict(ns: string): void {
    this.views.delete(ns);
    this.tailEntries.delete(ns);
    this.rebuilds.delete(ns);
  }

  /**
   * The write path is about to append entry `seq` of `ns`: until the returned function is called with the outcome
   * (the committed entry, after applyCommitted; null when the append lost the race or failed), a refresh that lists
   * that seq waits for it rather than GETting and decoding the object (docs/rfcs/0010-worker-pool.md "Strong reads
   * without threadpool trips"). The function must be called on every path.
   */
  beginAppend(ns: string, seq: number): (outcome: { entry: WalEntry; bytes: number } | null) => void {
    let byNs = this.appending.get(ns);
    if (!byNs) this.appending.set(ns, (byNs = new Map()));
    let resolve!: (o: { entry: WalEntry; bytes: number } | null) => void;
    const outcome = new Promise<{ entry: WalEntry; bytes: number } | null>((r) => (resolve = r));
    byNs.set(seq, outcome);
    const m = byNs;
    return (o) => {
      if (m.get(seq) === outcome) m.delete(seq);
      if (m.size === 0 && this.appending.get(ns) === m) this.appending.delete(ns);
      resolve(o);
    };
  }

  /** Fold an entry this process just committed, if the view is exactly one behind (saves a re-read). */
  applyCommitted(ns: string, entry: WalEntry, encoded: Uint8Array): void {
    this.rememberEntry(ns, entry, encoded);
    const v = this.views.get(ns);
    if (v && v.acceptedSeq === entry.seq - 1) v.apply(entry, encoded.length);
  }

  /** Caches an entry above indexed_wal: its bytes as stored (`encoded`, never written to again) and its ids. */
  private rememberEntry(ns: string, entry: WalEntry, encoded: Uint8Array): void {
    let cache = this.tailEntries.get(ns);
    if (!cache) this.tailEntries.set(ns, (cache = new Map()));
    const ops = entry.ops;
    const ids = new Array<Id>(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      ids[i] = op.kind === 'upsert' ? op.doc.id : op.id;
    }
    cache.set(entry.seq, { ids, encoded });
  }

  cachedView(ns: string): NamespaceView | undefined {
    return this.views.get(ns);
  }

  /**
   * One strong refresh (docs/rfcs/0001-wal-append.md step 6). The WAL listing must continue the router it is
   * applied to: GC deletes entries only after a router covering them was published, so
   *  - with a cached view, LIST after its head first and read router.json second: any entry deleted before the LIST
   *    is covered by the router read after it;
   *  - without one (the router tells where to list from), read the router, LIST, and if the listing is empty or does
   *    not start right after the view's head, check that router.json did not move meanwhile;
   *  - a listing with a hole, or an entry that vanished between LIST and GET, means a publish + GC raced us: re-read.
   * A new part set does not hold the refresh up: the cached view answers while the new one is built (viewFor,
   * docs/rfcs/0010-worker-pool.md "Write path and mixed load" item 7).
   */
  private async doRefresh(ns: string, staleParts = false): Promise<NamespaceView | null> {
    const started = this.clock.now();
    const log = this.wal(ns);
    for (let attempt = 1; ; attempt++) {
      if (this.views.get(ns)?.failed) this.evict(ns); // a fold threw (NamespaceView.apply): rebuilt from the store
      const cached = this.views.get(ns);
      // The entry after the cached head, probed before any LIST: absent, and the router read next leaves the view where
      // it is, then nothing follows it (the log is dense: RFC-0001 step 3; an entry GC deleted under us is covered by
      // that router, which then moves the view, and the WAL is listed from the moved head below). One HEAD instead of a
      // listing whose cost grows with the entries kept for the retention window (a directory read on the local store).
      const probedAt = cached?.acceptedSeq;
      const nothingNew = probedAt !== undefined && !(await log.has(probedAt + 1));
      const listedFirst = cached ? (nothingNew ? [] : await log.listAfter(cached.acceptedSeq)) : null;
      const read: RouterRead | null = await this.routers.read(ns);
      if (!read || read.router.deleted) {
        this.evict(ns);
        return null;
      }
      // Cold: the LIST from the router's head runs in the same round trip as the part heads (RFC-0008 §7), and so
      // does the codebook's GET when the router names one (ANN queries need it next; other queries pay one GET).
      if (read.router.vindex) this.ivfIndexOf(read.router)?.().catch(() => undefined);
      const coldList = listedFirst === null ? log.listAfter(Math.max(read.router.wal_start - 1, read.router.indexed_wal)) : null;
      // An empty cold listing is checked against router.json (below). The HEAD needs only the LIST to have ended, so
      // it leaves then, beside the part heads, instead of one round trip after them (RFC-0008 §7: a cold query is
      // router → heads + codebook + LIST (+ this HEAD) → cluster tables → codes → vectors).
      const earlyHead = coldList?.then((l) => (l.length === 0 ? this.store.head(routerKey(ns)).then((h) => ({ h })) : null));
      earlyHead?.catch(() => undefined); // awaited below when it is used; never an unhandled rejection
      // A publish changed the part set: the cached view may keep answering (its parts stay readable through the GC
      // grace period, RFC-0006) while the new one is built in the background — if the listing after its head holds
      // every entry up to the new router's indexed_wal (none was collected under us). Once per refresh: a retry builds.
      const staleOk = staleParts && attempt === 1 && cached !== undefined && cached.tailRows.rows >= this.staleRebuildMinRows && listedFirst !== null && listingCovers(listedFirst, cached.acceptedSeq, read.router.indexed_wal);
      const [view, listedCold] = await Promise.all([this.viewFor(ns, read, staleOk), coldList]);
      let listed = listedFirst ?? listedCold!;
      let verifyRouter = listedFirst === null;
      // acceptedSeq: an entry being folded in slices (NamespaceView.apply) is the view's already.
      if (nothingNew && view.acceptedSeq !== probedAt) {
        // The probe answered for another head: list from the view's, then verify below.
        listed = await log.listAfter(view.acceptedSeq);
        verifyRouter = true;
      } else if (listed.length > 0 && listed[0]!.seq > view.acceptedSeq + 1) {
        // The view starts below what we listed: list from the view's head, then verify below.
        listed = await log.listAfter(view.acceptedSeq);
        verifyRouter = true;
      }
      const head = view.acceptedSeq;
      const pending = listed.filter((o) => o.seq > head);
      const continues = pending.every((o, i) => o.seq === head + 1 + i);
      let moved = !continues;
      if (!moved && verifyRouter && pending.length === 0) {
        // The early HEAD was issued after the same (empty) listing ended: it answers the same question.
        const early = listed === listedCold && earlyHead ? await earlyHead : null;
        const now = early ? early.h : await this.store.head(routerKey(ns));
        moved = now === null || Witness.backendToken(now.witness) !== Witness.backendToken(read.witness);
      }
      if (!moved && (await this.apply(view, pending))) {
        view.refreshedAt = started;
        this.keepView(ns, view);
        return view;
      }
      // Keep what was folded consecutively: the next attempt lists after it.
      this.keepView(ns, view);
      if (attempt >= MAX_REFRESH_ATTEMPTS) {
        throw new ElaxError(
          'ELAX_ERR_CORRUPT',
          `WAL of ${ns} does not continue router epoch ${read.router.epoch} (indexed_wal ${read.router.indexed_wal}) after ${attempt} reads: entry ${view.headSeq + 1} is missing`,
        );
      }
    }
  }

  /**
   * The loader of the codebook the router names, as the in-memory index ANN queries probe (RFC-0008 §4): read once
   * (one GET) and kept in the block cache under the object's key, so every view of the namespace shares it.
   */
  private ivfIndexOf(r: Router): (() => Promise<IvfIndex>) | null {
    const ref = r.vindex;
    if (!ref) return null;
    const key = `${codebookKey(r.namespace, ref.codebook)}#index`;
    return () =>
      this.blocks.getOrLoad(key, async () => {
        const cb = await readCodebook(this.store, r.namespace, ref);
        const index = codebookIndex(cb);
        // The centroids in WebAssembly memory too: ranking them is a SIMD scan (null without SIMD: the JS loop).
        const arena = VectorArena.create(index.dims, index.k);
        arena?.data.set(index.centroids);
        index.centroidScan = arena;
        return { value: index, bytes: cb.centroids.byteLength * (arena ? 4 : 3) + cb.k * 16 + 1024 };
      });
  }

  /**
   * The view for router `read`: the cached one moved forward if its parts are unchanged, else a view of the new part
   * set (buildView: the cached view carried over, or rebuilt). When `staleOk`, the new part set is read (and its new
   * parts warmed) in the background while the refresh answers from the cached view, and a later refresh makes and
   * installs its view: a query or a commit does not wait for the part set's reads at a publish.
   */
  private async viewFor(ns: string, read: RouterRead, staleOk = false): Promise<NamespaceView> {
    const r = read.router;
    const cached = this.views.get(ns);
    const sameIncarnation = cached !== undefined && cached.router.wal_start === r.wal_start && cached.router.created_at === r.created_at;
    const now = this.clock.now();
    if (cached && sameIncarnation && samePartSet(cached.router, r)) {
      cached.router = r;
      cached.routerWitness = read.witness;
      cached.ivfIndex = this.ivfIndexOf(r);
      this.partsSeenAt.set(cached, now);
      return cached;
    }
    const fresh = cached !== undefined && now - (this.partsSeenAt.get(cached) ?? -Infinity) <= STALE_VIEW_MAX_MS;
    if (!staleOk || !cached || !sameIncarnation || !fresh) {
      this.rebuilds.delete(ns);
      return this.buildView(ns, read, cached);
    }
    const rb = this.rebuilds.get(ns);
    if (rb && rb.prepared !== null) {
      this.rebuilds.delete(ns);
      // The new part set's parts and deletion vectors are read (and its new parts warmed): the view is the cached one
      // carried over, now (synchronously: no entry lands in between), or, when it cannot be, rebuilt here.
      await cached.folded(); // a view holding part of an entry is not carried over
      const built = this.carry(ns, rb.prepared, cached) ?? (await this.rebuild(ns, rb.prepared, cached));
      if (samePartSet(built.router, r)) {
        built.router = r;
        built.routerWitness = read.witness;
        built.ivfIndex = this.ivfIndexOf(r);
        this.partsSeenAt.set(built, now);
      }
      return built; // if another publish came meanwhile, the next refresh builds again
    }
    if (!this.rebuilds.has(ns)) {
      const entry: { prepared: PreparedParts | null } = { prepared: null };
      this.rebuilds.set(ns, entry);
      const build = async () => {
        const p = await this.prepareParts(read);
        await this.warmNewParts(p.parts, r, cached); // before the view is installed: its first queries find the new parts read
        return p;
      };
      build().then(
        (p) => {
          if (this.rebuilds.get(ns) === entry) entry.prepared = p;
        },
        () => {
          // A failed background build (a part head unreadable): the next refresh that needs it builds in the foreground.
          if (this.rebuilds.get(ns) === entry) this.rebuilds.delete(ns);
        },
      );
    }
    return cached;
  }

  /**
   * Before a view built in the background is installed, reads what the first queries would otherwise read cold of the
   * parts the publish added (issue 17: the first query after a publish waited for them): a clustered part's codes,
   * every cluster (up to WARM_CODES_MAX_BYTES of them), and the postings dictionaries of the full-text attributes
   * that queries on the previous view searched. Into the block cache, unpinned: the budget still decides what stays.
   * Best effort: a failed read is left to the query that needs it.
   */
  private async warmNewParts(parts: readonly ViewPart[], router: Router, previous: NamespaceView): Promise<void> {
    const before = new Set(previous.parts);
    const schema = previous.headSeq > router.indexed_wal ? previous.schema : router.schema;
    const texts = previous.tailRows.textIndexedAttrs().filter((a) => schema[a]?.full_text_search);
    await Promise.all(
      parts
        .filter((p): p is CachedViewPart => !before.has(p) && p instanceof CachedViewPart)
        .map(async (p) => {
          const pd = p.data;
          const head = pd.head;
          const codes = 'ivf' in head && head.ivf ? head.files.find((f) => f.name === head.ivf!.codes.file) : undefined;
          const tasks: Promise<unknown>[] = [];
          if (codes && codes.bytes <= WARM_CODES_MAX_BYTES) tasks.push(pd.prepareClusters((t) => t.centroid).then((pc) => pc.release()));
          if (texts.length > 0) {
            const need = { attrs: [], vectors: false, postings: texts.map((attr) => ({ attr, terms: [], prefixes: [] })) };
            tasks.push(pd.segment(null).prepare(need).then((release) => release()));
          }
          await Promise.all(tasks.map((t) => t.catch(() => undefined)));
        }),
    );
  }

  /**
   * A view of router `read`: the previous view carried over when it can be (carry), else built from the router's parts
   * with the cached tail above indexed_wal replayed (rebuild).
   */
  private async buildView(ns: string, read: RouterRead, previous: NamespaceView | undefined): Promise<NamespaceView> {
    const p = await this.prepareParts(read);
    await previous?.folded(); // a view holding part of an entry is not carried over
    return this.carry(ns, p, previous) ?? this.rebuild(ns, p, previous);
  }

  /** The router's parts and deletion vectors, read (a view of them is then carried over or rebuilt). */
  private async prepareParts(read: RouterRead): Promise<PreparedParts> {
    const readAt = this.clock.now();
    const [parts, masks] = await Promise.all([this.loadParts(read.router), this.loadMasks(read.router)]);
    return { read, parts, masks, readAt };
  }

  /**
   * `previous` carried over to the prepared part set (NamespaceView.carryOver: no tail replay, shadowing resolved
   * only for ids the new parts may hold), and installed as the namespace's view at once, so entries this process
   * commits from now on fold into it (the previous view takes no more). Null when it cannot be (the caller rebuilds):
   * another incarnation, or any case carryOver refuses (a v1 router, a gap, a covered entry not in the cache, too many
   * rows the parts took over still held by the shared tail store).
   */
  private carry(ns: string, p: PreparedParts, previous: NamespaceView | undefined): NamespaceView | null {
    const r = p.read.router;
    if (previous === undefined || previous.router.wal_start !== r.wal_start || previous.router.created_at !== r.created_at) return null;
    if (this.views.get(ns) !== previous) return null; // evicted or replaced meanwhile: nothing current to carry over
    const cache = this.tailEntries.get(ns);
    const v = previous.carryOver(r, p.read.witness, p.parts, p.masks, (seq) => cache?.get(seq)?.ids, this.carrySlackRows);
    if (v === null) return null;
    v.foldSlice = this.foldSlice;
    v.ivfIndex = this.ivfIndexOf(r);
    this.partsSeenAt.set(v, p.readAt);
    if (cache) for (const seq of [...cache.keys()]) if (seq <= r.indexed_wal || seq < r.wal_start) cache.delete(seq);
    this.stats.carriedOver++;
    this.keepView(ns, v);
    return v;
  }

  /** A view of the prepared part set with the cached tail above indexed_wal replayed (O(tail)). */
  private async rebuild(ns: string, p: PreparedParts, previous: NamespaceView | undefined): Promise<NamespaceView> {
    const { read, parts, masks, readAt } = p;
    this.stats.rebuilt++;
    const r = read.router;
    const view = new NamespaceView(r, read.witness, parts, masks);
    view.foldSlice = this.foldSlice;
    view.ivfIndex = this.ivfIndexOf(r);
    if (previous) view.tailRows.inheritTextIndexes(previous.tailRows);
    const cache = this.tailEntries.get(ns);
    if (cache) {
      for (const seq of [...cache.keys()].sort((a, b) => a - b)) {
        if (seq <= r.indexed_wal || seq < r.wal_start) cache.delete(seq);
      }
      let rows = 0;
      for (const [seq, c] of cache) if (seq > view.headSeq) rows += c.ids.length;
      view.tailRows.reserve(rows);
    }
    await this.replayCached(ns, view);
    this.partsSeenAt.set(view, readAt);
    return view;
  }

  /**
   * Folds the cached entries that continue `view`'s head, in order. The replay is O(tail) and runs at every publish of
   * new parts: it gives the event loop back every few ms, so queries and writes on the node wait for one slice, not for
   * the whole tail (issue 17: 100k tail rows replayed in one go held the loop 200-350 ms). Entries committed meanwhile
   * are folded by doRefresh's listing, as for any entry after the cached tail.
   */
  private async replayCached(ns: string, view: NamespaceView): Promise<void> {
    const cache = this.tailEntries.get(ns);
    if (!cache) return;
    // The entries to fold, consecutive after the head, decoded REPLAY_DECODE_AHEAD ahead of the fold (on the pool when
    // the engine has one): the fold of one overlaps the decoding of the next ones.
    const seqs: number[] = [];
    for (const seq of [...cache.keys()].sort((a, b) => a - b)) {
      if (seq <= view.headSeq) continue;
      if (seq !== view.headSeq + 1 + seqs.length) break;
      seqs.push(seq);
    }
    const decoding: (Promise<{ entry: WalEntry; bytes: number } | undefined> | undefined)[] = [];
    const decode = (i: number) => {
      if (i >= seqs.length || decoding[i] !== undefined) return;
      const c = cache.get(seqs[i]!);
      // Dropped meanwhile (the namespace was evicted): the fold stops there.
      const p = c === undefined ? Promise.resolve(undefined) : this.decodeWal(seqs[i]!, c.encoded).then((entry) => ({ entry, bytes: c.encoded.length }));
      p.catch(() => {}); // awaited in order below; one that fails after an earlier failure is not unhandled
      decoding[i] = p;
    };
    let slice = performance.now();
    for (let i = 0; i < seqs.length; i++) {
      for (let j = i; j < i + REPLAY_DECODE_AHEAD; j++) decode(j);
      const c = await decoding[i]!;
      decoding[i] = undefined;
      if (c === undefined || seqs[i] !== view.headSeq + 1) break;
      const { entry, bytes } = c;
      slice = performance.now();
      // A large entry (group commit coalesces requests) is folded in slices too: the view is not installed yet.
      const over = () => performance.now() - slice > REPLAY_SLICE_MS;
      for (let at = 0; ; ) {
        at = view.applyOps(entry, bytes, at, over);
        if (at >= entry.ops.length) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      this.stats.replayedEntries++;
      if (over()) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
  }

  /**
   * Fetch `objects` (consecutive after the view's head) in parallel and fold them in order. False if one vanished
   * between LIST and GET (GC after a publish we did not see): the entries before it are folded, the caller re-reads.
   */
  private async apply(view: NamespaceView, objects: readonly WalObject[]): Promise<boolean> {
    if (objects.length === 0) {
      this.stats.entryHits++;
      return true;
    }
    const log = this.wal(view.namespace);
    this.stats.entryMisses += objects.length;
    let next = 0;
    let vanished = false;
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
      while (next < objects.length && !vanished) {
        const o = objects[next++]!;
        const own = this.appending.get(view.namespace)?.get(o.seq);
        if (own !== undefined) {
          // This process is appending that seq: its entry, if the append won (else the object is another writer's).
          const got = await own;
          if (got !== null) {
            this.stats.entryMisses--; // not read from the store after all
            this.stats.entryHits++;
            fetched.set(o.seq, got);
            applyReady();
            continue;
          }
        }
        const bytes = await log.readBytes(o.seq);
        if (!bytes) {
          vanished = true;
          return;
        }
        const entry = await this.decodeWal(o.seq, bytes); // off the event loop when the engine has a pool
        this.rememberEntry(view.namespace, entry, bytes);
        fetched.set(o.seq, { entry, bytes: bytes.length });
        applyReady();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.fetchConcurrency, objects.length) }, worker));
    applyReady();
    return !vanished;
  }
}

/** A cached WAL entry (NamespaceCatalog.tailEntries): its ids in op order, and its bytes as stored. */
interface CachedEntry {
  ids: Id[];
  encoded: Uint8Array;
}

/** Whether `listed` (entries after `head`, ascending) holds every seq from head + 1 through `through`. */
function listingCovers(listed: readonly { seq: number }[], head: number, through: number): boolean {
  let at = head;
  for (const o of listed) {
    if (at >= through) break;
    if (o.seq !== at + 1) return false;
    at = o.seq;
  }
  return at >= through;
}

/** Re-reads of router + WAL in one refresh before a hole in the WAL is declared corruption. */
const MAX_REFRESH_ATTEMPTS = 8;
