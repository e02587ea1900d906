/**
 * PartFileCache: a bounded on-disk LRU of part files (docs/ARCHITECTURE.md, part/; docs/runbooks/disk-cache.md). Parts are
 * immutable, so an entry never goes stale; what can go wrong is the disk itself, so every read is checked by the
 * caller's verify (size and SHA-256 from the part manifest) and a file that fails is deleted and fetched again.
 *
 * The directory may be shared by several processes on one machine (two servers, a server and an indexer) and
 * outlives them (a restarted process starts warm). So:
 *  - each object is `{dir}/{sha256(key)[0..40]}.bin`, written to a unique temp name (exclusive create) and renamed
 *    into place: no reader ever sees half a file under the final name;
 *  - a read tries the disk first, whoever wrote the file; a file evicted by another process is just a miss;
 *  - recency is the file's mtime (touched on every hit), so all sharers evict the same least recently used files;
 *  - the byte budget covers the whole directory: open() scans it and evicts down to the budget, and so does every
 *    write that brings this instance's writes since its last scan past 1/8 of the budget (other processes' files
 *    included), so sharers overshoot by at most that much each;
 *  - temp files left by a crashed writer are deleted once they are STALE_TMP_MS old.
 * Caching is best effort: a disk error only means the bytes come from the store next time.
 */
import { partFileMissing } from './missing.js';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ElaxError, systemClock, type Clock } from '../core/index.js';
import type { ByteRange, ObjectStore } from '../store/index.js';

const SUFFIX = '.bin';
const TMP_MARK = '.tmp-';
/** A temp file untouched this long belongs to a writer that died (writes of part files take seconds). */
export const STALE_TMP_MS = 15 * 60 * 1000;
/** Rescan the directory once this instance has written this fraction of the budget since its last scan. */
const RESCAN_FRACTION = 1 / 8;

function fileNameOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40) + SUFFIX;
}

/** Unique within the process; across processes the pid and the exclusive create keep temp names apart. */
let tmpCounter = 0;

/** Checks bytes against what the caller knows of them: null when good, else why not (for the error message). */
/** Checks bytes: null when good, else what is wrong (async for checks that yield to the event loop while hashing). */
export type VerifyBytes = (bytes: Uint8Array) => string | null | Promise<string | null>;

export interface FileCacheStats {
  /** Gets answered from disk (or by joining an in-flight fetch). */
  hits: number;
  /** Gets that went to the object store. */
  misses: number;
  /** Cached files that failed verification (deleted, then fetched again; also counted as misses). */
  corrupt: number;
}

export interface PartFileCacheOptions {
  /** Times hits (file mtimes: the LRU order shared with other processes) and ages temp files. Default: system. */
  clock?: Clock;
  /** The directory belongs to this instance alone: close() removes it. Default false (a persistent cache). */
  temporary?: boolean;
}

export class PartFileCache {
  readonly stats: FileCacheStats = { hits: 0, misses: 0, corrupt: 0 };
  readonly dir: string;
  readonly maxBytes: number;
  readonly temporary: boolean;
  readonly #clock: Clock;
  /** file name → size, least recently used first (Map keeps insertion order); rebuilt from mtimes by each scan. */
  #entries = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  /** Files this instance admitted while a scan ran (the scan's listing may predate them). */
  readonly #admittedDuringScan = new Set<string>();
  #bytes = 0;
  #writtenSinceScan = 0;
  #ready: Promise<void> | null = null;
  #scan: Promise<void> | null = null;
  #nextScan: Promise<void> | null = null;
  #usable = true;
  #closed: Promise<void> | null = null;

  constructor(dir: string, maxBytes: number, opts: PartFileCacheOptions = {}) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.temporary = opts.temporary ?? false;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Bytes of cached files currently accounted for (this instance's view of the directory). */
  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#entries.size;
  }

  /**
   * Create the directory, adopt the files a previous process left (least recently used first), delete stale temp
   * files and evict down to the budget. Idempotent; get() calls it. A directory that cannot be created turns
   * the cache off (every get goes to the store) rather than failing queries.
   */
  open(): Promise<void> {
    this.#ready ??= mkdir(this.dir, { recursive: true }).then(
      () => this.#rescan(),
      () => {
        this.#usable = false;
      },
    );
    return this.#ready;
  }

  /** Wait for writes in flight; a temporary cache then removes its directory. get() after close() bypasses the disk. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#inflight.values(), this.#ready, this.#scan, this.#nextScan]);
      if (this.temporary) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      this.#entries.clear();
      this.#bytes = 0;
    })();
    return this.#closed;
  }

  /**
   * The object's bytes: from disk if a good copy is there, else from the store (then cached). With `verify`, a
   * cached copy that fails it is deleted and treated as a miss, and store bytes that fail it are not cached and
   * throw ELAX_ERR_CORRUPT. A missing object is corrupt.
   */
  async get(store: ObjectStore, key: string, verify?: VerifyBytes, range?: ByteRange): Promise<Uint8Array> {
    await this.open();
    if (!this.#usable || this.#closed) {
      this.stats.misses++;
      return fetchChecked(store, key, verify, range);
    }
    // A byte range (one block of a v2 part file, RFC-0004 §1) is cached as an object of its own.
    const name = fileNameOf(range ? `${key}#${range.start}-${range.end}` : key);
    const pending = this.#inflight.get(name);
    if (pending) {
      this.stats.hits++;
      return pending;
    }
    const cached = await this.#readDisk(name, verify);
    if (cached) {
      this.stats.hits++;
      return cached;
    }
    // Another get may have started fetching while this one read the disk.
    const raced = this.#inflight.get(name);
    if (raced) {
      this.stats.hits++;
      return raced;
    }
    this.stats.misses++;
    const p = this.#fetch(store, key, name, verify, range).finally(() => this.#inflight.delete(name));
    this.#inflight.set(name, p);
    return p;
  }

  /** Drop a cached object (e.g. it failed a check the cache did not make); the next get fetches it from the store. */
  async delete(key: string): Promise<void> {
    await this.open();
    const name = fileNameOf(key);
    this.#forget(name);
    await unlink(join(this.dir, name)).catch(() => undefined);
  }

  /** A verified copy from disk, whoever wrote it, or null (absent, unreadable, or corrupt: then deleted). */
  async #readDisk(name: string, verify?: VerifyBytes): Promise<Uint8Array | null> {
    const file = join(this.dir, name);
    let bytes: Uint8Array;
    try {
      const buf = await readFile(file);
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // a plain view, like store.get's bytes
    } catch {
      this.#forget(name); // never written, or evicted by another process sharing the directory
      return null;
    }
    if (verify && (await verify(bytes)) !== null) {
      this.stats.corrupt++;
      this.#forget(name);
      await unlink(file).catch(() => undefined);
      return null;
    }
    if (this.#entries.has(name)) {
      this.#entries.delete(name); // move to the most recent end
      this.#entries.set(name, bytes.byteLength);
    } else {
      this.#admit(name, bytes.byteLength); // written by another process since our last scan
    }
    const now = this.#clock.now() / 1000;
    await utimes(file, now, now).catch(() => undefined); // the shared LRU order
    return bytes;
  }

  async #fetch(store: ObjectStore, key: string, name: string, verify?: VerifyBytes, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await fetchChecked(store, key, verify, range);
    if (bytes.byteLength > this.maxBytes || this.#closed) return bytes;
    const tmp = await this.#writeTemp(name, bytes);
    if (tmp === null) return bytes;
    try {
      await rename(tmp, join(this.dir, name)); // atomic: readers see the old file, no file, or the whole new one
    } catch {
      await unlink(tmp).catch(() => undefined);
      return bytes;
    }
    this.#forget(name); // a copy another process wrote may have been accounted already
    this.#admit(name, bytes.byteLength);
    this.#writtenSinceScan += bytes.byteLength;
    if (this.#bytes > this.maxBytes || this.#writtenSinceScan > this.maxBytes * RESCAN_FRACTION) await this.#rescan();
    return bytes;
  }

  /** Writes bytes to a fresh temp name (exclusive create: never someone else's temp file); null on a disk error. */
  async #writeTemp(name: string, bytes: Uint8Array): Promise<string | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const tmp = join(this.dir, `${name}${TMP_MARK}${process.pid}-${tmpCounter++}`);
      try {
        await writeFile(tmp, bytes, { flag: 'wx' });
        const now = this.#clock.now() / 1000;
        await utimes(tmp, now, now).catch(() => undefined); // recency on the same clock as hits
        return tmp;
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt === 0) {
          await mkdir(this.dir, { recursive: true }).catch(() => undefined); // deleted by hand: caching goes on
        } else if (code !== 'EEXIST') {
          return null;
        }
      }
    }
    return null;
  }

  #admit(name: string, size: number): void {
    this.#entries.set(name, size);
    this.#bytes += size;
    if (this.#scan) this.#admittedDuringScan.add(name);
  }

  #forget(name: string): boolean {
    const size = this.#entries.get(name);
    if (size === undefined) return false;
    this.#entries.delete(name);
    this.#bytes -= size;
    return true;
  }

  /**
   * One scan at a time. A caller arriving during a scan needs one that starts after its write: it joins the single
   * scan queued behind the running one (concurrent writers share it instead of scanning once each).
   */
  #rescan(): Promise<void> {
    const start = (): Promise<void> => {
      this.#nextScan = null;
      this.#scan = this.#scanAndEvict().finally(() => {
        this.#scan = null;
        this.#admittedDuringScan.clear();
      });
      return this.#scan;
    };
    if (!this.#scan) return start();
    this.#nextScan ??= this.#scan.then(start, start);
    return this.#nextScan;
  }

  /** Re-read the directory (every sharer's files, ordered by mtime), drop stale temp files, evict to the budget. */
  async #scanAndEvict(): Promise<void> {
    this.#writtenSinceScan = 0;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      this.#entries = new Map(); // the directory is gone (removed by hand): so are its files
      this.#bytes = 0;
      return;
    }
    const now = this.#clock.now();
    const found: { name: string; size: number; mtime: number }[] = [];
    await Promise.all(
      names.map(async (name) => {
        try {
          const s = await stat(join(this.dir, name));
          if (!s.isFile()) return;
          if (name.includes(TMP_MARK)) {
            if (now - s.mtimeMs > STALE_TMP_MS) await unlink(join(this.dir, name));
          } else if (name.endsWith(SUFFIX)) {
            found.push({ name, size: s.size, mtime: s.mtimeMs });
          }
        } catch {
          // vanished meanwhile (evicted by a sharer)
        }
      }),
    );
    // mtimes have the clock's millisecond resolution: within one, this instance's own order is the finer one.
    const rank = new Map([...this.#entries.keys()].map((name, i) => [name, i]));
    found.sort((a, b) => a.mtime - b.mtime || (rank.get(a.name) ?? -1) - (rank.get(b.name) ?? -1) || (a.name < b.name ? -1 : 1));
    const entries = new Map(found.map((f) => [f.name, f.size]));
    for (const name of this.#admittedDuringScan) {
      const size = this.#entries.get(name);
      if (size !== undefined) {
        entries.delete(name);
        entries.set(name, size); // admitted after the listing: most recent
      }
    }
    this.#entries = entries;
    this.#bytes = [...entries.values()].reduce((a, b) => a + b, 0);
    for (const [name, size] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(name);
      this.#bytes -= size;
      await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }
}

async function fetchChecked(store: ObjectStore, key: string, verify?: VerifyBytes, range?: ByteRange): Promise<Uint8Array> {
  const got = await store.get(key, range);
  if (!got) throw partFileMissing(key, store.description);
  const bad = await verify?.(got.bytes);
  if (bad) throw new ElaxError('ELAX_ERR_CORRUPT', bad);
  return got.bytes;
}
