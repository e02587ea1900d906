/**
 * Part files as local files, never as one buffer: a file is downloaded in ranged GETs of a bounded size, each chunk
 * checked and appended to a file, and a file on disk is checked by reading it back through one reused buffer. What
 * reads a path (hnswlib's `readIndex`) then gets verified bytes without the process holding them (a 158 MB graph
 * held as a buffer beside hnswlib's own copy was ~160 MiB of peak RSS, docs/benchmarks.md "Storage engine v2").
 */
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElaxError } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import { partFileMissing } from './missing.js';

/** Bytes per ranged GET and per read-back: memory held is about two of these (one arriving, one checked). */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * Verification of a file that arrives in order, chunk by chunk (the streaming form of VerifyBytes): `update` sees
 * every byte exactly once, and may reject early (e.g. more bytes than expected); `finish` gives the verdict. Both
 * return null when good so far, else what is wrong (the ELAX_ERR_CORRUPT message).
 */
export interface StreamCheck {
  update(chunk: Uint8Array): string | null | Promise<string | null>;
  finish(): string | null;
}

/** A fresh StreamCheck per pass over a file (a check has state). */
export type VerifyStream = () => StreamCheck;

/** A verified local copy of a part file: read it through `path`, then `release()` it (its path may vanish after). */
export interface LocalFile {
  readonly path: string;
  release(): Promise<void>;
}

/** A LocalFile whose release runs `cleanup` once, however often it is called. */
export function localFile(path: string, cleanup: () => Promise<void>): LocalFile {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      await cleanup();
    },
  };
}

/**
 * Downloads `key` into `path` (created exclusively: never someone else's file), in ranged GETs of `chunkBytes`, the
 * next one in flight while the current one is checked and written. A missing object is partFileMissing, bytes that
 * fail `check` are ELAX_ERR_CORRUPT; on any failure `path` is deleted. Store and check failures are ElaxErrors, so a
 * caller can tell them from errors of the local disk. Returns the file's size.
 */
export async function downloadChecked(store: ObjectStore, key: string, check: StreamCheck, path: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<number> {
  const fh = await open(path, 'wx');
  let done = false;
  try {
    const fetchAt = (start: number) => {
      const p = store.get(key, { start, end: start + chunkBytes });
      p.catch(() => undefined); // awaited below, unless an earlier chunk fails first: never an unhandled rejection
      return p;
    };
    let pending = fetchAt(0);
    let offset = 0;
    for (;;) {
      const got = await pending;
      if (!got) throw partFileMissing(key, store.description);
      const size = got.info.size;
      const n = got.bytes.byteLength;
      if (n === 0 && offset < size) throw new ElaxError('ELAX_ERR_CORRUPT', `${key}: a ranged read at ${offset} of ${size} bytes returned nothing`);
      if (offset + n < size) pending = fetchAt(offset + n);
      const bad = await check.update(got.bytes);
      if (bad !== null) throw new ElaxError('ELAX_ERR_CORRUPT', bad);
      for (let w = 0; w < n; ) w += (await fh.write(got.bytes, w, n - w)).bytesWritten;
      offset += n;
      if (offset >= size) break;
    }
    const bad = check.finish();
    if (bad !== null) throw new ElaxError('ELAX_ERR_CORRUPT', bad);
    done = true;
    return offset;
  } finally {
    await fh.close().catch(() => undefined);
    if (!done) await unlink(path).catch(() => undefined);
  }
}

/**
 * Reads a local file back through one `chunkBytes` buffer and checks it. Returns the verdict and the bytes read;
 * throws only on a disk error (the file vanished, unreadable).
 */
export async function readChecked(path: string, check: StreamCheck, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<{ bad: string | null; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, total);
      if (bytesRead === 0) break;
      const bad = await check.update(buf.subarray(0, bytesRead));
      if (bad !== null) return { bad, bytes: total + bytesRead };
      total += bytesRead;
    }
    return { bad: check.finish(), bytes: total };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * A verified copy of `key` in a private directory under the OS temp dir, removed by `release()`: for processes
 * without a disk cache (and a disk cache that cannot write). Memory held: O(chunk), like the cached path.
 */
export async function downloadToTemp(store: ObjectStore, key: string, verify: VerifyStream, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<LocalFile> {
  const dir = await mkdtemp(join(tmpdir(), 'elax-part-file-'));
  const path = join(dir, 'file');
  try {
    await downloadChecked(store, key, verify(), path, chunkBytes);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return localFile(path, () => rm(dir, { recursive: true, force: true }));
}
