/** A MemoryStore that logs every GET it serves (key, bytes, ranged or whole): tests of what a query reads. */
import { MemoryStore, type ByteRange } from '../../crates-ts/store/index.js';

export class ReadLogStore extends MemoryStore {
  reads: { key: string; bytes: number; ranged: boolean }[] = [];
  override async get(key: string, range?: ByteRange) {
    const got = await super.get(key, range);
    if (got) this.reads.push({ key, bytes: got.bytes.byteLength, ranged: range !== undefined });
    return got;
  }
  /** The reads of keys ending with `suffix`. */
  file(suffix: string) {
    return this.reads.filter((r) => r.key.endsWith(suffix));
  }
  /** Bytes read in all. */
  bytes() {
    return this.reads.reduce((s, r) => s + r.bytes, 0);
  }
}
