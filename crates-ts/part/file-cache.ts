/**
 * PartFileCache: a bounded on-disk LRU of part files, shared by every query of a process (design.md §6: "parts are
 * cached on local disk"). Parts are immutable, so an entry never goes stale; the only invalidation is dropping a
 * file that failed its checksum (delete()).
 *
 * Each object lives in `{dir}/{sha256(key)[0..40]}.bin`, written to a temp name and renamed, so a reader never sees
 * half a file. Entries found in the directory at first use are adopted (oldest mtime evicted first): a restarted
 * process starts warm. Caching is best effort: a disk error only means the bytes come from the store next time.
 */
import { partFileMissing } from './missing.js';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ElaxError } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';

const SUFFIX = '.bin';

function fileNameOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40) + SUFFIX;
}

export interface FileCacheStats {
  /** Gets answered from disk (or by joining an in-flight fetch). */
  hits: number;
  /** Gets that went to the object store. */
  misses: number;
}

export class PartFileCache {
  readonly stats: FileCacheStats = { hits: 0, misses: 0 };
  readonly #dir: string;
  readonly #maxBytes: number;
  /** file name → size, in LRU order (least recently used first; Map keeps insertion order). */
  readonly #entries = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  #bytes = 0;
  #ready: Promise<void> | null = null;
  #tmpCounter = 0;

  constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  /** Bytes of cached files currently accounted for. */
  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#entries.size;
  }

  /** The object's bytes, from disk if cached, else from the store (then cached). A missing object is corrupt. */
  async get(store: ObjectStore, key: string): Promise<Uint8Array> {
    await (this.#ready ??= this.#adopt());
    const name = fileNameOf(key);
    if (this.#entries.has(name)) {
      try {
        const buf = await readFile(join(this.#dir, name));
        this.#touch(name);
        this.stats.hits++;
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // a plain view, like store.get's bytes
      } catch {
        this.#forget(name); // removed behind our back (another process sharing the directory): fetch again
      }
    }
    const pending = this.#inflight.get(name);
    if (pending) {
      this.stats.hits++;
      return pending;
    }
    this.stats.misses++;
    const p = this.#fetch(store, key, name).finally(() => this.#inflight.delete(name));
    this.#inflight.set(name, p);
    return p;
  }

  /** Drop a cached object (it failed verification); the next get fetches it from the store. */
  async delete(key: string): Promise<void> {
    await (this.#ready ??= this.#adopt());
    const name = fileNameOf(key);
    if (this.#forget(name)) await unlink(join(this.#dir, name)).catch(() => undefined);
  }

  async #fetch(store: ObjectStore, key: string, name: string): Promise<Uint8Array> {
    const got = await store.get(key);
    if (!got) throw partFileMissing(key, store.description);
    const bytes = got.bytes;
    if (bytes.byteLength <= this.#maxBytes && !this.#entries.has(name)) {
      const tmp = join(this.#dir, `${name}.tmp-${process.pid}-${this.#tmpCounter++}`);
      try {
        await writeFile(tmp, bytes);
        await rename(tmp, join(this.#dir, name));
        this.#entries.set(name, bytes.byteLength);
        this.#bytes += bytes.byteLength;
        await this.#evict();
      } catch {
        await unlink(tmp).catch(() => undefined);
      }
    }
    return bytes;
  }

  #touch(name: string): void {
    const size = this.#entries.get(name);
    if (size === undefined) return;
    this.#entries.delete(name);
    this.#entries.set(name, size);
  }

  #forget(name: string): boolean {
    const size = this.#entries.get(name);
    if (size === undefined) return false;
    this.#entries.delete(name);
    this.#bytes -= size;
    return true;
  }

  async #evict(): Promise<void> {
    while (this.#bytes > this.#maxBytes && this.#entries.size > 0) {
      const oldest = this.#entries.keys().next().value as string;
      this.#forget(oldest);
      await unlink(join(this.#dir, oldest)).catch(() => undefined);
    }
  }

  /** Create the directory and adopt files a previous process left, least recently modified first. */
  async #adopt(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const found: { name: string; size: number; mtime: number }[] = [];
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      try {
        const s = await stat(join(this.#dir, name));
        if (s.isFile()) found.push({ name, size: s.size, mtime: s.mtimeMs });
      } catch {
        // vanished meanwhile
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) {
      this.#entries.set(f.name, f.size);
      this.#bytes += f.size;
    }
    await this.#evict();
  }
}
