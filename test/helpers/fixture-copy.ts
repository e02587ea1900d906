/**
 * Golden fixtures (test/fixtures/<dir>) are read from a temporary copy: tests may write to the store (indexing,
 * compaction, corrupting a file) and the fixture's bytes must stay as they were committed.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalDirStore } from '../../crates-ts/store/index.js';

export const FIXTURES_DIR = path.resolve(import.meta.dirname, '..', 'fixtures');

/** Runs `f` over a LocalDirStore on a fresh copy of test/fixtures/`dir`; then closes the store and removes the copy. */
export async function withFixtureCopy<T>(dir: string, f: (store: LocalDirStore) => Promise<T>): Promise<T> {
  const tmp = mkdtempSync(path.join(tmpdir(), `elax-golden-${dir.replaceAll('/', '-')}-`));
  try {
    cpSync(path.join(FIXTURES_DIR, dir), tmp, { recursive: true });
    const store = new LocalDirStore(tmp);
    try {
      return await f(store);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
