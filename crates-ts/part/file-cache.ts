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
 *
 * `file()` gives a verified file's PATH instead of its bytes (HNSW graphs: hnswlib reads a path), downloaded in
 * ranged chunks and checked as it streams, so the process never holds the file. The path is a pin: a hard link
 * `{name}.tmp-pin-{pid}-{n}` to the cached file (a copy on a disk without hard links), private to its callers.
 * Eviction (ours or another process's) unlinks only the final name, so the pinned inode stays readable until
 * `release()`; the pin's name is a temp name, so one left by a crash is deleted like any stale temp file. The pinned
 * bytes are the ones verified: the check reads the pin itself, and cached files are never rewritten in place (a new
 * copy is a new inode renamed over the name). A pin whose file was evicted holds its disk space, outside the budget,
 * until released (the seconds of one graph load).
 */
import { partFileMissing } from './missing.js';
import { createHash } from 'node:crypto';
import { constants, copyFile, link, mkdir, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ElaxError, systemClock, type Clock } from '../core/index.js';
import type { ByteRange, ObjectStore } from '../store/index.js';
import { DEFAULT_CHUNK_BYTES, downloadChecked, downloadToTemp, localFile, readChecked, type LocalFile, type VerifyStream } from './file-stream.js';

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
  /** Bytes per ranged GET and per read-back of `file()` (memory it holds: about two of these). Default 8 MiB. */
  chunkBytes?: number;
}

/** A shared pin of one cached file: callers of `file()` for the same key while it is held share it. */
interface Pin {
  ready: Promise<LocalFile>;
  refs: number;
}

export class PartFileCache {
  readonly stats: FileCacheStats = { hits: 0, misses: 0, corrupt: 0 };
  readonly dir: string;
  readonly maxBytes: number;
  readonly temporary: boolean;
  readonly chunkBytes: number;
  readonly #clock: Clock;
  /** file name → size, least recently used first (Map keeps insertion order); rebuilt from mtimes by each scan. */
  #entries = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  /** file name → the pin `file()` callers share (one download or one verification, then one hard link). */
  readonly #pins = new Map<string, Pin>();
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
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
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
      await Promise.allSettled([...this.#inflight.values(), ...[...this.#pins.values()].map((p) => p.ready), this.#ready, this.#scan, this.#nextScan]);
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

  /**
   * The object as a local file, verified by `verify` (a streaming check: size, SHA-256, block CRCs), pinned until
   * `release()`: eviction meanwhile does not remove it. From disk if a good copy is there (read back through one
   * chunk buffer), else downloaded by ranged GETs of `chunkBytes` and cached. A cached copy that fails is deleted and
   * fetched again; store bytes that fail throw ELAX_ERR_CORRUPT and nothing is cached; a missing object is corrupt
   * (partFileMissing), as in get(). Concurrent callers share one download and one pin.
   */
  async file(store: ObjectStore, key: string, verify: VerifyStream): Promise<LocalFile> {
    await this.open();
    if (!this.#usable || this.#closed) {
      this.stats.misses++;
      return downloadToTemp(store, key, verify, this.chunkBytes);
    }
    const name = fileNameOf(key);
    let pin = this.#pins.get(name);
    if (pin) this.stats.hits++;
    else {
      const created: Pin = { ready: this.#pin(store, key, name, verify), refs: 0 };
      pin = created;
      this.#pins.set(name, created);
      created.ready.catch(() => {
        if (this.#pins.get(name) === created) this.#pins.delete(name); // failed: the next caller tries afresh
      });
    }
    pin.refs++;
    const held = pin;
    const local = await held.ready;
    let released = false;
    return {
      path: local.path,
      release: async () => {
        if (released) return;
        released = true;
        if (--held.refs > 0) return;
        if (this.#pins.get(name) === held) this.#pins.delete(name);
        await local.release();
      },
    };
  }

  /** A pinned, verified copy of the object: the cached file if it is good, else a download (cached if it fits). */
  async #pin(store: ObjectStore, key: string, name: string, verify: VerifyStream): Promise<LocalFile> {
    const final = join(this.dir, name);
    const pinned = await this.#link(final, name);
    if (pinned !== null) {
      // Touch first: the pin is a temp name sharing the file's mtime, and must not look stale to a scan meanwhile.
      const now = this.#clock.now() / 1000;
      await utimes(pinned.path, now, now).catch(() => undefined);
      const read = await readChecked(pinned.path, verify(), this.chunkBytes).catch(() => null); // vanished: a miss
      if (read !== null && read.bad === null) {
        this.stats.hits++;
        this.#forget(name);
        this.#admit(name, read.bytes); // the most recent end (or written by another process since our last scan)
        return pinned;
      }
      await pinned.release();
      if (read !== null) {
        this.stats.corrupt++;
        this.#forget(name);
        await unlink(final).catch(() => undefined);
      }
    }
    this.stats.misses++;
    await mkdir(this.dir, { recursive: true }).catch(() => undefined); // deleted by hand: caching goes on
    const tmp = join(this.dir, `${name}${TMP_MARK}${process.pid}-${tmpCounter++}`);
    let size: number;
    try {
      size = await downloadChecked(store, key, verify(), tmp, this.chunkBytes);
    } catch (e) {
      if (e instanceof ElaxError) throw e; // the store's answer (missing, corrupt, unavailable)
      return downloadToTemp(store, key, verify, this.chunkBytes); // the cache's disk failed: not cached
    }
    const now = this.#clock.now() / 1000;
    await utimes(tmp, now, now).catch(() => undefined); // recency on the same clock as hits
    const own = privateFile(tmp);
    if (size > this.maxBytes || this.#closed) return own; // never fits: used once, not cached
    const pin = await this.#link(tmp, name);
    if (pin === null) return own; // unreadable already: used once, not cached
    try {
      await rename(tmp, final); // atomic: readers see the old file, no file, or the whole new one
    } catch {
      await own.release();
      return pin;
    }
    this.#forget(name); // a copy another process wrote may have been accounted already
    this.#admit(name, size);
    this.#writtenSinceScan += size;
    if (this.#bytes > this.maxBytes || this.#writtenSinceScan > this.maxBytes * RESCAN_FRACTION) await this.#rescan();
    return pin;
  }

  /**
   * `target` under a fresh pin name: a hard link (no copy), or a copy on a disk without hard links (bounded memory:
   * the kernel copies). Null if `target` is absent or cannot be read.
   */
  async #link(target: string, name: string): Promise<LocalFile | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const pin = join(this.dir, `${name}${TMP_MARK}pin-${process.pid}-${tmpCounter++}`);
      try {
        await link(target, pin);
        return privateFile(pin);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code === 'ENOENT') return null;
      }
      try {
        await copyFile(target, pin, constants.COPYFILE_EXCL);
        return privateFile(pin);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        await unlink(pin).catch(() => undefined);
        return null;
      }
    }
    return null;
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

/** A file only its holder uses: released by deleting it. */
function privateFile(path: string): LocalFile {
  return localFile(path, () => unlink(path).catch(() => undefined));
}

async function fetchChecked(store: ObjectStore, key: string, verify?: VerifyBytes, range?: ByteRange): Promise<Uint8Array> {
  const got = await store.get(key, range);
  if (!got) throw partFileMissing(key, store.description);
  const bad = await verify?.(got.bytes);
  if (bad) throw new ElaxError('ELAX_ERR_CORRUPT', bad);
  return got.bytes;
}
