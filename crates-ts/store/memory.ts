/**
 * MemoryStore: an in-process ObjectStore for unit tests with the same conditional-write semantics as the real
 * backends. The witness is a store-wide version counter, so it changes on every write, even a delete followed by a
 * re-create with identical bytes. Keys are validated and ordered exactly like the other backends.
 */
import { systemClock, type Clock } from '../core/index.js';
import { checkRange } from './common.js';
import { compareKeys, validateKey, validatePrefix } from './keys.js';
import { ListBuilder } from './list-builder.js';
import { Witness, type ByteRange, type GetResult, type ListOptions, type ListResult, type ObjectInfo, type ObjectStore, type PutResult } from './types.js';

interface Stored {
  bytes: Uint8Array;
  version: string;
  lastModified: number;
}

export interface MemoryStoreOptions {
  /** Source of lastModified (default: the system clock). */
  clock?: Clock;
}

export class MemoryStore implements ObjectStore {
  readonly description = 'memory://';
  readonly #clock: Clock;
  readonly #objects = new Map<string, Stored>();
  /** All keys in compareKeys order, maintained on insert/delete so list is a binary search plus a scan. */
  readonly #sorted: string[] = [];
  #nextVersion = 1;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    validateKey(key);
    if (range) checkRange(range);
    const o = this.#objects.get(key);
    if (!o) return null;
    const bytes = range ? o.bytes.slice(Math.min(range.start, o.bytes.length), Math.min(range.end, o.bytes.length)) : o.bytes.slice();
    return { bytes, witness: Witness.fromBackendToken(o.version), info: infoOf(key, o) };
  }

  async head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    validateKey(key);
    const o = this.#objects.get(key);
    return o ? { info: infoOf(key, o), witness: Witness.fromBackendToken(o.version) } : null;
  }

  async put(key: string, bytes: Uint8Array): Promise<Witness> {
    validateKey(key);
    return this.#store(key, bytes);
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    validateKey(key);
    if (this.#objects.has(key)) return { ok: false };
    return { ok: true, witness: this.#store(key, bytes) };
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    validateKey(key);
    const o = this.#objects.get(key);
    if (!o || o.version !== Witness.backendToken(witness)) return { ok: false };
    return { ok: true, witness: this.#store(key, bytes) };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    validatePrefix(prefix);
    const after = options.startAfter;
    // Start at the first key >= prefix, or > startAfter when that is further on.
    const i0 = after !== undefined && compareKeys(after, prefix) >= 0 ? this.#bound(after, false) : this.#bound(prefix, true);
    const out = new ListBuilder(prefix, options);
    for (let i = i0; i < this.#sorted.length; i++) {
      const key = this.#sorted[i]!;
      if (!key.startsWith(prefix) || !out.offer(key)) break;
    }
    return { objects: out.keys.map((k) => infoOf(k, this.#objects.get(k)!)), prefixes: out.prefixes };
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    if (this.#objects.delete(key)) this.#sorted.splice(this.#bound(key, true), 1);
  }

  async close(): Promise<void> {}

  #store(key: string, bytes: Uint8Array): Witness {
    // Copy: callers may reuse their buffer, and stored objects are immutable.
    const version = `v${this.#nextVersion++}`;
    if (!this.#objects.has(key)) this.#sorted.splice(this.#bound(key, true), 0, key);
    this.#objects.set(key, { bytes: bytes.slice(), version, lastModified: this.#clock.now() });
    return Witness.fromBackendToken(version);
  }

  /** Index of the first key >= k (inclusive) or > k (exclusive). */
  #bound(k: string, inclusive: boolean): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.#sorted[mid]!, k);
      if (c < 0 || (!inclusive && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function infoOf(key: string, o: Stored): ObjectInfo {
  return { key, size: o.bytes.length, lastModified: o.lastModified };
}
