/**
 * One byte-budgeted LRU of immutable decoded values (RFC-0004 §8): part heads, id-index blocks, column blocks,
 * deletion vectors, postings. Values are immutable (their objects are), so a hit never needs revalidation. Concurrent
 * loads of one key share a promise; a failed load is not cached.
 *
 * Pins: a running query holds what its synchronous kernels read (`getPinned`, `pin`). A pinned value cannot be freed
 * whatever the cache does, so eviction passes over it (evicting it would only lose its accounting, and a second query
 * would load a second copy) and `pinnedBytes` counts it, resident or not: what the node holds for running queries is
 * then `bytes` plus the pinned values that were never resident (larger than the whole budget). `peakPinnedBytes` is
 * the most ever pinned at once: what bounds a query's memory (tests and /metrics read it).
 *
 * Namespace pinning (`PATCH /v1/namespaces/:ns/metadata {pinning}`, docs/api.md "Pinning") is another thing, called
 * *held* here to keep the words apart: the values of held namespaces (a key's namespace is its first path segment,
 * `namespaceOf`) are exempt from eviction up to `pinnedShare` of the budget (the held share). Held values leave the
 * recency list, so eviction never walks over them. Namespaces are held in priority order (`hold`'s rank, lower
 * first: the engine ranks by pin time, so the earliest pinned namespace keeps its room): a value of a namespace that
 * does not fit the share takes the room of namespaces ranked after its own when that is enough, and is otherwise an
 * ordinary LRU value (*spilled*), evictable. `heldStatus` reports per namespace what is held, spilled and evicted.
 */
export type Release = () => void;

/** A resident value; linked into the recency list (oldest at the head) unless held for a pinned namespace. */
interface Entry {
  readonly key: string;
  value: unknown;
  bytes: number;
  prev: Entry | null;
  next: Entry | null;
  /** The namespace the value belongs to (namespaceOf(key)), or null. */
  readonly ns: string | null;
  /** Held for a pinned namespace: out of the recency list, never evicted. */
  held: boolean;
}

export interface BlockCacheOptions {
  /** The share of the budget, in [0, 1], that values of pinned namespaces may hold exempt from eviction. Default 0.5. */
  pinnedShare?: number;
  /** The namespace of a key (default `namespaceOfKey`). */
  namespaceOf?: (key: string) => string | null;
}

/** The default pinned share of a cache's budget (`--pinned-cache-share`). */
export const DEFAULT_PINNED_SHARE = 0.5;

/**
 * The namespace a cache key belongs to: its first path segment (part files `{ns}/parts/…`, codebooks `{ns}/vindex/…`),
 * after a `head:` prefix (part heads). Namespace names have no `/` (core validateNamespaceName).
 */
export function namespaceOfKey(key: string): string | null {
  const k = key.startsWith('head:') ? key.slice(5) : key;
  const slash = k.indexOf('/');
  return slash > 0 ? k.slice(0, slash) : null;
}

/** What a cache holds of some namespaces (`heldStatus`). */
export interface HeldStatus {
  /** Bytes held (exempt from eviction). */
  heldBytes: number;
  /** Bytes resident but not held (the share was full): evictable. */
  spilledBytes: number;
  /** Values of these namespaces evicted while they were pinned (only spilled values can be). */
  evictions: number;
}

export class BlockCache {
  #bytes = 0;
  /**
   * Key → entry, and the entries in recency order as a linked list: a hit moves its entry to the tail with four
   * pointer writes. (A Map re-insert per hit, delete + set, cost ≈ 1 µs at 15k entries: an ANN rerank makes a
   * thousand hits per query.)
   */
  readonly #entries = new Map<string, Entry>();
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  readonly #loading = new Map<string, Promise<{ value: unknown; bytes: number }>>();
  /** Pinned keys: their size and how many holders. */
  readonly #pins = new Map<string, { bytes: number; refs: number }>();
  #pinnedBytes = 0;
  #peakPinnedBytes = 0;
  readonly stats = { hits: 0, misses: 0, evictions: 0 };
  /** Namespace pinning (see the file comment): the held share, what is held, and the holders. */
  readonly heldBudgetBytes: number;
  readonly #namespaceOf: (key: string) => string | null;
  #heldBytes = 0;
  /** Holder → its rank and the namespaces whose values it holds (a branch holds its parts' homes too). */
  readonly #holds = new Map<string, { rank: number; namespaces: readonly string[] }>();
  /** Held namespace → its best rank over the holders. */
  readonly #nsRank = new Map<string, number>();
  /** Held namespace → its resident values (held or spilled), its held bytes, its evictions. */
  readonly #nsEntries = new Map<string, Set<Entry>>();
  readonly #nsHeld = new Map<string, number>();
  readonly #nsEvictions = new Map<string, number>();

  constructor(
    readonly budgetBytes: number,
    opts: BlockCacheOptions = {},
  ) {
    const share = opts.pinnedShare ?? DEFAULT_PINNED_SHARE;
    if (!(share >= 0 && share <= 1)) throw new RangeError(`pinnedShare must be in [0, 1], got ${share}`);
    this.heldBudgetBytes = Math.floor(budgetBytes * share);
    this.#namespaceOf = opts.namespaceOf ?? namespaceOfKey;
  }

  /** Bytes held for pinned namespaces (exempt from eviction; at most heldBudgetBytes). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Bytes of the resident values (pinned ones included). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of the values pinned now (each key once, whoever holds it). */
  get pinnedBytes(): number {
    return this.#pinnedBytes;
  }

  /** The most bytes pinned at once since the cache was made or `resetPeak` was called. */
  get peakPinnedBytes(): number {
    return this.#peakPinnedBytes;
  }

  /** Starts a new peak from what is pinned now (to measure one operation). */
  resetPeak(): void {
    this.#peakPinnedBytes = this.#pinnedBytes;
  }

  get<T>(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#touch(e);
    return e.value as T;
  }

  #unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.#oldest = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#newest = e.prev;
    e.prev = e.next = null;
  }

  #append(e: Entry): void {
    e.prev = this.#newest;
    e.next = null;
    if (this.#newest) this.#newest.next = e;
    else this.#oldest = e;
    this.#newest = e;
  }

  /** Most recently used now. */
  #touch(e: Entry): void {
    if (e.held || this.#newest === e) return;
    this.#unlink(e);
    this.#append(e);
  }

  #remove(e: Entry): void {
    this.#entries.delete(e.key);
    if (e.held) this.#release(e, false);
    else this.#unlink(e);
    this.#bytes -= e.bytes;
    if (e.ns !== null) this.#nsEntries.get(e.ns)?.delete(e);
  }

  set(key: string, value: unknown, bytes: number): void {
    const old = this.#entries.get(key);
    if (old) this.#remove(old);
    this.#repin(key, bytes);
    if (bytes > this.budgetBytes) return; // larger than the whole budget: serve it, never keep it
    const ns = this.#namespaceOf(key);
    const e: Entry = { key, value, bytes, prev: null, next: null, ns, held: false };
    this.#entries.set(key, e);
    this.#bytes += bytes;
    if (ns !== null && this.#nsRank.has(ns)) {
      this.#nsEntries.get(ns)!.add(e);
      if (!this.#admit(e)) this.#append(e);
    } else this.#append(e);
    this.#evict();
  }

  /** A resident value grew or shrank (postings keep the lists queries fetched and decoded): re-account it. */
  resize(key: string, bytes: number): void {
    const e = this.#entries.get(key);
    this.#repin(key, bytes);
    if (e === undefined) return;
    this.#bytes += bytes - e.bytes;
    if (e.held) {
      this.#heldBytes += bytes - e.bytes;
      this.#nsHeld.set(e.ns!, this.#nsHeld.get(e.ns!)! + bytes - e.bytes);
      e.bytes = bytes;
      if (this.#heldBytes > this.heldBudgetBytes) this.#release(e, true); // grew past the share: spilled
    }
    e.bytes = bytes;
    if (bytes > this.budgetBytes && !this.#pins.has(key)) {
      this.#remove(e);
      this.stats.evictions++;
    }
    this.#evict();
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (e) this.#remove(e);
  }

  /** Least recently used first, passing over pinned values, until within the budget. */
  #evict(): void {
    if (this.#bytes <= this.budgetBytes) return;
    for (let e = this.#oldest; e !== null && this.#bytes > this.budgetBytes; ) {
      const next = e.next;
      if (!this.#pins.has(e.key)) {
        this.#remove(e);
        this.stats.evictions++;
        if (e.ns !== null && this.#nsRank.has(e.ns)) this.#nsEvictions.set(e.ns, (this.#nsEvictions.get(e.ns) ?? 0) + 1);
      }
      e = next;
    }
  }

  /**
   * Holds the values of `namespaces` for `holder` (a pinned namespace) at `rank` (lower: held first), or changes its
   * rank or namespaces; the held share is then refilled in rank order.
   */
  hold(holder: string, namespaces: readonly string[], rank: number): void {
    const was = this.#holds.get(holder);
    if (was && was.rank === rank && was.namespaces.length === namespaces.length && was.namespaces.every((n, i) => n === namespaces[i])) return;
    this.#holds.set(holder, { rank, namespaces: [...namespaces] });
    this.#reholds();
  }

  /** Stops holding for `holder` (unpinned): its values become ordinary LRU values unless another holder holds them. */
  unhold(holder: string): void {
    if (this.#holds.delete(holder)) this.#reholds();
  }

  /** The holders (pinned namespaces) this cache holds values for. */
  holders(): string[] {
    return [...this.#holds.keys()];
  }

  /** What is held, spilled and evicted of `namespaces` (those not held count nothing). */
  heldStatus(namespaces: readonly string[]): HeldStatus {
    const out: HeldStatus = { heldBytes: 0, spilledBytes: 0, evictions: 0 };
    for (const ns of new Set(namespaces)) {
      const entries = this.#nsEntries.get(ns);
      if (entries === undefined) continue;
      const held = this.#nsHeld.get(ns) ?? 0;
      let resident = 0;
      for (const e of entries) resident += e.bytes;
      out.heldBytes += held;
      out.spilledBytes += resident - held;
      out.evictions += this.#nsEvictions.get(ns) ?? 0;
    }
    return out;
  }

  /** Sorts namespaces best first: lower rank, then name. */
  #better(a: string, b: string): number {
    return this.#nsRank.get(a)! - this.#nsRank.get(b)! || (a < b ? -1 : a > b ? 1 : 0);
  }

  /** Recomputes the held namespaces and their ranks from the holders, then refills the held share in rank order. */
  #reholds(): void {
    const rank = new Map<string, number>();
    for (const h of this.#holds.values()) for (const ns of h.namespaces) rank.set(ns, Math.min(rank.get(ns) ?? Infinity, h.rank));
    // Namespaces no longer held: their values go back to the recency list.
    for (const ns of [...this.#nsRank.keys()]) {
      if (rank.has(ns)) continue;
      for (const e of this.#nsEntries.get(ns)!) if (e.held) this.#release(e, true);
      this.#nsRank.delete(ns);
      this.#nsEntries.delete(ns);
      this.#nsHeld.delete(ns);
      this.#nsEvictions.delete(ns);
    }
    // Newly held namespaces: find their resident values (one pass over the cache, when pins change only).
    const fresh = [...rank.keys()].filter((ns) => !this.#nsRank.has(ns));
    for (const ns of fresh) {
      this.#nsEntries.set(ns, new Set());
      this.#nsHeld.set(ns, 0);
    }
    if (fresh.length > 0) {
      const wanted = new Set(fresh);
      for (const e of this.#entries.values()) if (e.ns !== null && wanted.has(e.ns)) this.#nsEntries.get(e.ns)!.add(e);
    }
    for (const [ns, r] of rank) this.#nsRank.set(ns, r);
    // Refill in rank order: greedily, the values already held first within a namespace (no needless churn).
    const order = [...this.#nsRank.keys()].sort((a, b) => this.#better(a, b));
    const keep = new Set<Entry>();
    let room = this.heldBudgetBytes;
    for (const ns of order) {
      const entries = [...this.#nsEntries.get(ns)!].sort((a, b) => Number(b.held) - Number(a.held));
      for (const e of entries) {
        if (e.bytes > room) continue;
        keep.add(e);
        room -= e.bytes;
      }
    }
    for (const ns of order) for (const e of this.#nsEntries.get(ns)!) if (e.held && !keep.has(e)) this.#release(e, true);
    for (const e of keep) if (!e.held) this.#take(e, true);
    this.#evict();
  }

  /**
   * Holds a new value of a held namespace if the share has room, or if taking the held values of namespaces ranked
   * after its own (worst first) makes room; else leaves it to the caller to link as an ordinary value.
   */
  #admit(e: Entry): boolean {
    if (this.#heldBytes + e.bytes <= this.heldBudgetBytes) {
      this.#take(e, false);
      return true;
    }
    const worse = [...this.#nsRank.keys()].filter((ns) => this.#better(ns, e.ns!) > 0).sort((a, b) => this.#better(b, a));
    let freeable = 0;
    for (const ns of worse) freeable += this.#nsHeld.get(ns) ?? 0;
    if (this.#heldBytes - freeable + e.bytes > this.heldBudgetBytes) return false;
    for (const ns of worse) {
      for (const v of this.#nsEntries.get(ns)!) {
        if (this.#heldBytes + e.bytes <= this.heldBudgetBytes) break;
        if (v.held) this.#release(v, true);
      }
      if (this.#heldBytes + e.bytes <= this.heldBudgetBytes) break;
    }
    this.#take(e, false);
    return true;
  }

  /** Marks `e` held (unlinked from the recency list when `linked`). */
  #take(e: Entry, linked: boolean): void {
    if (linked) this.#unlink(e);
    e.held = true;
    this.#heldBytes += e.bytes;
    this.#nsHeld.set(e.ns!, (this.#nsHeld.get(e.ns!) ?? 0) + e.bytes);
  }

  /** Marks `e` not held; `relink`: back into the recency list as the most recent (it stays resident). */
  #release(e: Entry, relink: boolean): void {
    e.held = false;
    this.#heldBytes -= e.bytes;
    this.#nsHeld.set(e.ns!, (this.#nsHeld.get(e.ns!) ?? 0) - e.bytes);
    if (relink) this.#append(e);
  }

  #repin(key: string, bytes: number): void {
    const p = this.#pins.get(key);
    if (p === undefined || p.bytes === bytes) return;
    this.#pinnedBytes += bytes - p.bytes;
    p.bytes = bytes;
    if (this.#pinnedBytes > this.#peakPinnedBytes) this.#peakPinnedBytes = this.#pinnedBytes;
  }

  /**
   * Pins `key` (a value of `bytes` that the caller holds, resident or not) until the release: eviction passes over it
   * and pinnedBytes counts it once however many hold it. Releasing twice is harmless.
   */
  pin(key: string, bytes: number): Release {
    this.#pin(key, bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#unpin(key);
      this.#evict(); // pinned values may have kept the cache over its budget
    };
  }

  #pin(key: string, bytes: number): void {
    const p = this.#pins.get(key);
    if (p) p.refs++;
    else {
      const q = { bytes: this.#entries.get(key)?.bytes ?? bytes, refs: 1 };
      this.#pins.set(key, q);
      this.#pinnedBytes += q.bytes;
      if (this.#pinnedBytes > this.#peakPinnedBytes) this.#peakPinnedBytes = this.#pinnedBytes;
    }
  }

  #unpin(key: string): void {
    const q = this.#pins.get(key)!;
    if (--q.refs > 0) return;
    this.#pins.delete(key);
    this.#pinnedBytes -= q.bytes;
  }

  /** The cached value, or load it once (concurrent callers share the load) and keep it within the budget. */
  async getOrLoad<T>(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<T> {
    return (await this.#sized(key, load)).value;
  }

  /**
   * The resident value of `key`, pinned until the release (see `pin`), or undefined: no load. A warm query takes its
   * hundreds of cluster blocks this way without a promise each (RFC-0008 "Refine codes": 2.3 ms a query at 10M).
   */
  peekPinned<T>(key: string): { value: T; release: Release } | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#touch(hit);
    this.stats.hits++;
    return { value: hit.value as T, release: this.pin(key, hit.bytes) };
  }

  /**
   * peekPinned without a release of its own: the value is pinned until `unpin` names its key (once per peekPin that
   * returned a value). A query that takes hundreds of resident cluster blocks releases them with one call, not a
   * closure each (part-data.ts prepareClusters).
   */
  peekPin<T>(key: string): T | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#touch(hit);
    this.stats.hits++;
    this.#pin(key, hit.bytes);
    return hit.value as T;
  }

  /** Releases one pin of each of `keys` (see peekPin). */
  unpin(keys: readonly string[]): void {
    for (let i = 0; i < keys.length; i++) this.#unpin(keys[i]!);
    this.#evict(); // pinned values may have kept the cache over its budget
  }

  /** getOrLoad, then pinned until the release (see `pin`). */
  async getPinned<T>(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<{ value: T; release: Release }> {
    const { value, bytes } = await this.#sized(key, load);
    return { value, release: this.pin(key, bytes) };
  }

  #sized<T>(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<{ value: T; bytes: number }> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#touch(hit);
      this.stats.hits++;
      return Promise.resolve(hit as unknown as { value: T; bytes: number });
    }
    let p = this.#loading.get(key) as Promise<{ value: T; bytes: number }> | undefined;
    if (p === undefined) {
      this.stats.misses++;
      p = load().then(
        (got) => {
          this.#loading.delete(key);
          this.set(key, got.value, got.bytes);
          return got;
        },
        (e: unknown) => {
          this.#loading.delete(key);
          throw e;
        },
      );
      this.#loading.set(key, p);
    } else this.stats.hits++;
    return p;
  }
}
