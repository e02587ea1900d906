/**
 * In-memory object store for unit tests. Same conditional semantics as the real backends: every write gets a new
 * version token, putIfAbsent loses if the key exists, putIfMatch loses on a stale or missing version.
 */
import { Witness, type ByteRange, type GetResult, type ListOptions, type ListResult, type ObjectInfo, type ObjectStore, type PutResult } from './types.js';

interface Stored {
  bytes: Uint8Array;
  version: string;
  lastModified: number;
}

export class MemoryStore implements ObjectStore {
  readonly description = 'memory://';
  private readonly objects = new Map<string, Stored>();
  private nextVersion = 1;

  private store(key: string, bytes: Uint8Array): Witness {
    const version = `v${this.nextVersion++}`;
    this.objects.set(key, { bytes: bytes.slice(), version, lastModified: Date.now() });
    return Witness.fromBackendToken(version);
  }

  private info(key: string, o: Stored): ObjectInfo {
    return { key, size: o.bytes.length, lastModified: o.lastModified };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    const o = this.objects.get(key);
    if (!o) return null;
    const bytes = range ? o.bytes.slice(range.start, Math.min(range.end, o.bytes.length)) : o.bytes.slice();
    return { bytes, witness: Witness.fromBackendToken(o.version), info: this.info(key, o) };
  }

  async head(key: string) {
    const o = this.objects.get(key);
    return o ? { info: this.info(key, o), witness: Witness.fromBackendToken(o.version) } : null;
  }

  async put(key: string, bytes: Uint8Array): Promise<Witness> {
    return this.store(key, bytes);
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    if (this.objects.has(key)) return { ok: false };
    return { ok: true, witness: this.store(key, bytes) };
  }

  async putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    const o = this.objects.get(key);
    if (!o || o.version !== Witness.backendToken(witness)) return { ok: false };
    return { ok: true, witness: this.store(key, bytes) };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && (options.startAfter === undefined || k > options.startAfter)).sort();
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    const seen = new Set<string>();
    for (const k of keys) {
      if (options.limit !== undefined && objects.length + prefixes.length >= options.limit) break;
      if (options.delimiter) {
        const i = k.indexOf(options.delimiter, prefix.length);
        if (i >= 0) {
          const p = k.slice(0, i + options.delimiter.length);
          if (!seen.has(p)) {
            seen.add(p);
            prefixes.push(p);
          }
          continue;
        }
      }
      objects.push(this.info(k, this.objects.get(k)!));
    }
    return { objects, prefixes };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async close(): Promise<void> {}
}
