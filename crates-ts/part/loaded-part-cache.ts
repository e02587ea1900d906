/**
 * LoadedPartCache: a bounded in-memory LRU of decoded parts, weighed by LoadedPart.bytes(). Parts are immutable,
 * so entries never go stale; keys are the caller's (e.g. `${ns}/${partId}`). A part larger than the whole budget is
 * not kept. getOrLoad() shares one load between concurrent callers of the same key.
 */
import type { LoadedPart } from './loaded-part.js';

export class LoadedPartCache {
  readonly stats = { hits: 0, misses: 0 };
  readonly #maxBytes: number;
  /** key → part, least recently used first. */
  readonly #entries = new Map<string, LoadedPart>();
  readonly #loading = new Map<string, Promise<LoadedPart>>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): LoadedPart | undefined {
    const part = this.#entries.get(key);
    if (part === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.#entries.delete(key);
    this.#entries.set(key, part);
    return part;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  set(key: string, part: LoadedPart): void {
    this.delete(key);
    const size = part.bytes();
    if (size > this.#maxBytes) return;
    this.#entries.set(key, part);
    this.#bytes += size;
    for (const [k, p] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= p.bytes();
    }
  }

  delete(key: string): boolean {
    const part = this.#entries.get(key);
    if (part === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= part.bytes();
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** The cached part, or load it once (concurrent callers share the promise) and cache it. */
  async getOrLoad(key: string, load: () => Promise<LoadedPart>): Promise<LoadedPart> {
    const hit = this.get(key);
    if (hit) return hit;
    let p = this.#loading.get(key);
    if (!p) {
      p = load().then(
        (part) => {
          this.#loading.delete(key);
          this.set(key, part);
          return part;
        },
        (e: unknown) => {
          this.#loading.delete(key);
          throw e;
        },
      );
      this.#loading.set(key, p);
    }
    return p;
  }
}
