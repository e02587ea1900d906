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
 */
export type Release = () => void;

/** A resident value, linked into the recency list (oldest at the head). */
interface Entry {
  readonly key: string;
  value: unknown;
  bytes: number;
  prev: Entry | null;
  next: Entry | null;
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

  constructor(readonly budgetBytes: number) {}

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
    if (this.#newest === e) return;
    this.#unlink(e);
    this.#append(e);
  }

  #remove(e: Entry): void {
    this.#entries.delete(e.key);
    this.#unlink(e);
    this.#bytes -= e.bytes;
  }

  set(key: string, value: unknown, bytes: number): void {
    const old = this.#entries.get(key);
    if (old) this.#remove(old);
    this.#repin(key, bytes);
    if (bytes > this.budgetBytes) return; // larger than the whole budget: serve it, never keep it
    const e: Entry = { key, value, bytes, prev: null, next: null };
    this.#entries.set(key, e);
    this.#append(e);
    this.#bytes += bytes;
    this.#evict();
  }

  /** A resident value grew or shrank (postings keep the lists queries fetched and decoded): re-account it. */
  resize(key: string, bytes: number): void {
    const e = this.#entries.get(key);
    this.#repin(key, bytes);
    if (e === undefined) return;
    this.#bytes += bytes - e.bytes;
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
      }
      e = next;
    }
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
    const p = this.#pins.get(key);
    if (p) p.refs++;
    else {
      this.#pins.set(key, { bytes: this.#entries.get(key)?.bytes ?? bytes, refs: 1 });
      this.#pinnedBytes += this.#pins.get(key)!.bytes;
      if (this.#pinnedBytes > this.#peakPinnedBytes) this.#peakPinnedBytes = this.#pinnedBytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const q = this.#pins.get(key)!;
      if (--q.refs > 0) return;
      this.#pins.delete(key);
      this.#pinnedBytes -= q.bytes;
      this.#evict(); // pinned values may have kept the cache over its budget
    };
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
