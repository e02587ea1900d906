/**
 * S3 ListObjectsV2 semantics (delimiter grouping, limit) over keys that arrive in compareKeys order, already
 * filtered to `prefix` and `> startAfter`. Shared by the memory and local backends so both group and count exactly
 * like S3: `limit` counts objects and common prefixes together (S3 MaxKeys), a common prefix appears once, and
 * a common prefix is listed only if it sorts after `startAfter` itself (so a startAfter inside `a/` skips the
 * whole `a/` group, as radosgw does, and a page boundary at a common prefix resumes after it).
 */
import { compareKeys } from './keys.js';
import type { ListOptions } from './types.js';

export class ListBuilder {
  readonly #prefix: string;
  readonly #delimiter: string | undefined;
  readonly #limit: number;
  readonly #startAfter: string | undefined;
  readonly keys: string[] = [];
  readonly prefixes: string[] = [];

  constructor(prefix: string, options: ListOptions | undefined) {
    this.#prefix = prefix;
    this.#delimiter = options?.delimiter === '' ? undefined : options?.delimiter;
    this.#limit = options?.limit ?? Number.POSITIVE_INFINITY;
    this.#startAfter = options?.startAfter;
  }

  /** True once `limit` entries have been collected. */
  get full(): boolean {
    return this.keys.length + this.prefixes.length >= this.#limit;
  }

  /**
   * The common prefix that every key starting with `keyStart` rolls up into, or null if that is not decided by
   * `keyStart` alone (no delimiter after the list prefix within it).
   */
  commonPrefixOf(keyStart: string): string | null {
    if (this.#delimiter === undefined) return null;
    const i = keyStart.indexOf(this.#delimiter, this.#prefix.length);
    if (i < 0 || i + this.#delimiter.length > keyStart.length) return null;
    return keyStart.slice(0, i + this.#delimiter.length);
  }

  /** Whether common prefix `cp` sorts after startAfter (else S3 leaves it out). */
  prefixListable(cp: string): boolean {
    return this.#startAfter === undefined || compareKeys(cp, this.#startAfter) > 0;
  }

  /** Offer the next key in order. Returns false when the result is full and the caller should stop. */
  offer(key: string): boolean {
    if (this.full) return false;
    const cp = this.commonPrefixOf(key);
    if (cp === null) this.keys.push(key);
    else this.offerPrefix(cp);
    return !this.full;
  }

  /** Offer a common prefix directly (the local backend can tell a whole directory rolls up into one). */
  offerPrefix(cp: string): boolean {
    if (this.full) return false;
    if (!this.prefixListable(cp)) return true;
    if (this.prefixes[this.prefixes.length - 1] !== cp) this.prefixes.push(cp);
    return !this.full;
  }
}
