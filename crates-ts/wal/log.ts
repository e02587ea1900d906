/**
 * The WAL of one namespace as objects `{ns}/wal/{seq:020d}.parquet`: discover entries, read them, append with
 * put-if-absent. Sequence numbers start at 1; zero padding makes LIST order sequence order.
 * RFC-0001 (docs/rfcs/0001-wal-append.md) describes the append protocol.
 */
import type { ObjectStore } from '../store/index.js';
import { walKey, walPrefix, parseWalKey } from '../store/index.js';
import { decodeWalEntry, type WalEntry } from './format.js';

export interface WalObject {
  seq: number;
  size: number;
  /** Epoch ms. */
  lastModified: number;
}

export type AppendOutcome = { ok: true } | { ok: false; reason: 'seq_taken' };

export class WalLog {
  constructor(
    private readonly store: ObjectStore,
    readonly namespace: string,
  ) {}

  /** Entries with seq > afterSeq, in order. */
  async listAfter(afterSeq: number, limit?: number): Promise<WalObject[]> {
    const startAfter = afterSeq > 0 ? walKey(this.namespace, afterSeq) : undefined;
    const res = await this.store.list(walPrefix(this.namespace), { startAfter, limit });
    const out: WalObject[] = [];
    for (const o of res.objects) {
      const seq = parseWalKey(o.key);
      if (seq !== null && seq > afterSeq) out.push({ seq, size: o.size, lastModified: o.lastModified });
    }
    return out;
  }

  /** Whether entry `seq` exists (one HEAD; the log is dense, RFC-0001 step 3, so none after it if not). */
  async has(seq: number): Promise<boolean> {
    return (await this.store.head(walKey(this.namespace, seq))) !== null;
  }

  /** Highest existing seq ≥ floor, or `floor` if there is none above it. */
  async discoverHead(floor: number): Promise<number> {
    const after = await this.listAfter(floor);
    return after.length > 0 ? after[after.length - 1]!.seq : floor;
  }

  async read(seq: number): Promise<WalEntry | null> {
    const got = await this.store.get(walKey(this.namespace, seq));
    return got ? decodeWalEntry(seq, got.bytes) : null;
  }

  async readBytes(seq: number): Promise<Uint8Array | null> {
    const got = await this.store.get(walKey(this.namespace, seq));
    return got ? got.bytes : null;
  }

  /**
   * RFC-0001 step 3: write entry `seq` only if nobody has. Resolves once the store acknowledged it durably.
   * `seq_taken` means another writer committed that sequence first: re-discover the head and re-resolve.
   */
  async append(seq: number, bytes: Uint8Array): Promise<AppendOutcome> {
    const res = await this.store.putIfAbsent(walKey(this.namespace, seq), bytes);
    return res.ok ? { ok: true } : { ok: false, reason: 'seq_taken' };
  }

  /** Delete entries with seq < beforeSeq (namespace deletion, GC). Returns how many were deleted. */
  async deleteBefore(beforeSeq: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = (await this.listAfter(0, 1000)).filter((o) => o.seq < beforeSeq);
      if (batch.length === 0) return deleted;
      await Promise.all(batch.map((o) => this.store.delete(walKey(this.namespace, o.seq))));
      deleted += batch.length;
    }
  }
}
