/**
 * One byte-budgeted LRU of immutable decoded values (RFC-0004 §8): part heads, id-index blocks, column blocks,
 * deletion vectors. Values are immutable (their objects are), so a hit never needs revalidation. Concurrent loads of
 * one key share a promise; a failed load is not cached.
 */
export class BlockCache {
  #bytes = 0;
  readonly #entries = new Map<string, { value: unknown; bytes: number }>();
  readonly #loading = new Map<string, Promise<unknown>>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(readonly budgetBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get<T>(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key); // re-insert: Map order is recency order
    this.#entries.set(key, e);
    return e.value as T;
  }

  set(key: string, value: unknown, bytes: number): void {
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    if (bytes > this.budgetBytes) return; // larger than the whole budget: serve it, never keep it
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.budgetBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
      this.stats.evictions++;
    }
  }

  delete(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= e.bytes;
  }

  /** The cached value, or load it once (concurrent callers share the load) and keep it within the budget. */
  async getOrLoad<T>(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<T> {
    const hit = this.get<T>(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return hit;
    }
    let p = this.#loading.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      this.stats.misses++;
      p = load().then(
        ({ value, bytes }) => {
          this.#loading.delete(key);
          this.set(key, value, bytes);
          return value;
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
