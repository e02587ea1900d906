/**
 * LIST for the local directory store: walks directories in S3 key order (UTF-8 bytes), so it can stop at `limit`,
 * skip whole subtrees at or before `startAfter`, and report a directory as one common prefix without reading it
 * all. Temp, lock and other '.elax-*' files are not keys and are skipped.
 */
import { opendirSync, promises as fs, type Dir, type Dirent } from 'node:fs';
import path from 'node:path';
import { ElaxError } from '../core/index.js';
import { errno } from './common.js';
import { compareKeys, RESERVED_SEGMENT_PREFIX } from './keys.js';
import { ListBuilder } from './list-builder.js';
import type { ListOptions } from './types.js';

interface Entry {
  name: string;
  dir: boolean;
  /** name, plus '/' for directories: sorting by this gives key order, since every key below a dir starts 'name/'. */
  sortKey: string;
}

/**
 * A directory's entries in key order. `syncEntries` > 0: the first that many entries are read with synchronous system
 * calls and only a larger directory's rest asynchronously (LocalDirStore `syncSmallReads`: a strong query lists the WAL
 * after its head every time, and a trip through libuv's threadpool waits behind fsyncs and the event loop's queue).
 */
async function readSorted(absDir: string, syncEntries: number): Promise<Entry[]> {
  let dirents: Dirent[];
  try {
    dirents = syncEntries > 0 ? await readDirMostlySync(absDir, syncEntries) : await fs.readdir(absDir, { withFileTypes: true });
  } catch (e) {
    // Missing (never written, or removed by a concurrent delete) or a file where a directory would be: no keys.
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `local store: cannot list ${absDir}: ${(e as Error).message}`, { cause: e });
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    if (d.name.startsWith(RESERVED_SEGMENT_PREFIX)) continue;
    if (d.isDirectory()) out.push({ name: d.name, dir: true, sortKey: `${d.name}/` });
    else if (d.isFile()) out.push({ name: d.name, dir: false, sortKey: d.name });
  }
  return out.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

async function readDirMostlySync(absDir: string, syncEntries: number): Promise<Dirent[]> {
  const dir: Dir = opendirSync(absDir);
  const out: Dirent[] = [];
  try {
    for (let d = dir.readSync(); d !== null; d = out.length < syncEntries ? dir.readSync() : await dir.read()) out.push(d);
    return out;
  } finally {
    dir.closeSync();
  }
}

/** Collect the keys and common prefixes of `list(prefix, options)` under `root`, in order, into `out`. */
export async function walkList(root: string, prefix: string, options: ListOptions | undefined, out: ListBuilder, syncEntries = 0): Promise<void> {
  const slash = prefix.lastIndexOf('/');
  const dirKey = prefix.slice(0, slash + 1);
  await visit(root, dirKey, prefix.slice(dirKey.length), options?.startAfter, out, syncEntries);
}

/**
 * Offer every key below directory `dirKey` (a key prefix ending in '/', or '') whose name in that directory starts
 * with `nameFilter` and which sorts after `startAfter`. Returns false once `out` is full.
 */
async function visit(root: string, dirKey: string, nameFilter: string, startAfter: string | undefined, out: ListBuilder, syncEntries: number): Promise<boolean> {
  for (const e of await readSorted(path.join(root, dirKey), syncEntries)) {
    if (!e.name.startsWith(nameFilter)) continue;
    if (!e.dir) {
      const key = dirKey + e.name;
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      if (!out.offer(key)) return false;
      continue;
    }
    const sub = `${dirKey}${e.name}/`;
    // Every key below `sub` starts with it; if `sub` sorts before startAfter and is not a prefix of it, so do they.
    if (startAfter !== undefined && !startAfter.startsWith(sub) && compareKeys(sub, startAfter) < 0) continue;
    const cp = out.commonPrefixOf(sub);
    if (cp !== null) {
      // The whole subtree rolls up into one common prefix, listed if it sorts after startAfter (then so do all its
      // keys) and holds at least one key: empty directories and lock files do not make a prefix.
      if (out.prefixListable(cp) && (await hasKey(root, sub, syncEntries)) && !out.offerPrefix(cp)) return false;
    } else if (!(await visit(root, sub, '', startAfter, out, syncEntries))) {
      return false;
    }
  }
  return true;
}

/** Whether directory `dirKey` holds any key at all. */
async function hasKey(root: string, dirKey: string, syncEntries: number): Promise<boolean> {
  const probe = new ListBuilder(dirKey, { limit: 1 });
  await visit(root, dirKey, '', undefined, probe, syncEntries);
  return probe.keys.length > 0;
}
