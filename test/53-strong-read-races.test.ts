/**
 * A strong read must not skip WAL entries (issue 12, item 6; docs/rfcs/0001-wal-append.md step 6). Between a node
 * reading router.json and listing the WAL, an indexer may publish a part and GC delete the entries it covers: the
 * listed entries then no longer continue the router the node read. The node must notice and re-read, not answer
 * without the rows of the deleted entries. Each case arms a race that runs exactly inside the node's WAL LIST.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ListOptions, type ListResult } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { gcNamespace } from '../indexer/gc.js';

/**
 * A store whose next read of a namespace's WAL — a LIST, or the HEAD a warm node probes the entry after its head with
 * (namespace/catalog.ts doRefresh) — first runs `race` (once armed). Counts WAL LISTs.
 */
class RacingStore extends MemoryStore {
  private race: (() => Promise<void>) | null = null;
  walLists = 0;
  arm(race: () => Promise<void>) {
    this.race = race;
  }
  private async raceFirst(isWal: boolean): Promise<void> {
    const race = isWal ? this.race : null;
    if (race) {
      this.race = null;
      await race();
    }
  }
  override async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    if (prefix.endsWith('/wal/')) this.walLists++;
    await this.raceFirst(prefix.endsWith('/wal/'));
    return super.list(prefix, options);
  }
  override async head(key: string) {
    await this.raceFirst(key.includes('/wal/'));
    return super.head(key);
  }
}

let t = Date.now();
const clock = { now: () => (t += 1) };
const engine = (store: MemoryStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
let n = 0;
const indexAndCollect = async (store: MemoryStore, ns: string) => {
  await new Indexer(store, { clock, nonce: () => `r${n++}`, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);
  // GC's clock runs ahead of the store's object times: every covered entry is past retention.
  await gcNamespace(store, ns, { clock: { now: () => Date.now() + 60_000 }, walRetentionMs: 0 });
};
const ids = async (e: Engine, ns: string) =>
  ((await e.query(ns, { rank_by: ['id', 'asc'], top_k: 1000 })).rows as { id: number }[]).map((r) => r.id);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('strong reads racing publishes and WAL GC', () => {
  it('should re-read the router when the listed WAL does not continue it (cold node, entries deleted, one new entry)', async () => {
    const store = new RacingStore();
    const ns = 'race-gap';
    const writer = engine(store);
    for (const i of range(0, 5)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    const reader = engine(store);
    store.arm(async () => {
      await indexAndCollect(store, ns); // entries 1..6 (schema + 5 writes) now live only in a part
      await writer.write(ns, { upsert_rows: [{ id: 99, a: 1 }] });
    });
    expect(await ids(reader, ns)).toEqual([...range(0, 5), 99]);
  });

  it('should re-read the router when every entry after it was indexed and deleted (cold node, empty listing)', async () => {
    const store = new RacingStore();
    const ns = 'race-empty';
    const writer = engine(store);
    for (const i of range(0, 5)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    const reader = engine(store);
    store.arm(() => indexAndCollect(store, ns));
    expect(await ids(reader, ns)).toEqual(range(0, 5));
  });

  it('should see entries indexed and deleted after its cached view (warm node)', async () => {
    const store = new RacingStore();
    const ns = 'race-warm';
    const writer = engine(store);
    for (const i of range(0, 3)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    const reader = engine(store);
    expect(await ids(reader, ns)).toEqual(range(0, 3)); // cached view, all tail
    for (const i of range(3, 6)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    store.arm(() => indexAndCollect(store, ns));
    expect(await ids(reader, ns)).toEqual(range(0, 6));
  });

  it('should probe the entry after its head instead of listing the WAL when nothing was written (warm node)', async () => {
    const store = new RacingStore();
    const ns = 'probe';
    const writer = engine(store);
    for (const i of range(0, 3)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    const reader = engine(store);
    expect(await ids(reader, ns)).toEqual(range(0, 3));
    const lists = store.walLists;
    for (let k = 0; k < 3; k++) expect(await ids(reader, ns)).toEqual(range(0, 3));
    expect(store.walLists).toBe(lists); // nothing new: HEADs only
    await writer.write(ns, { upsert_rows: [{ id: 3, a: 3 }] });
    expect(await ids(reader, ns)).toEqual(range(0, 4));
    expect(store.walLists).toBe(lists + 1); // the probe found an entry: one LIST after the head
  });

  it('should see entries written after a publish and GC that deleted the probed entry (warm node)', async () => {
    const store = new RacingStore();
    const ns = 'probe-gc';
    const writer = engine(store);
    for (const i of range(0, 3)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    const reader = engine(store);
    expect(await ids(reader, ns)).toEqual(range(0, 3));
    for (const i of range(3, 6)) await writer.write(ns, { upsert_rows: [{ id: i, a: i }] });
    // Inside the probe: the entries after the reader's head are indexed and deleted, then one more is written.
    store.arm(async () => {
      await indexAndCollect(store, ns);
      await writer.write(ns, { upsert_rows: [{ id: 6, a: 6 }] });
    });
    expect(await ids(reader, ns)).toEqual(range(0, 7));
  });

  it('should never miss an acknowledged row under random interleavings of writes, indexing, GC and strong reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('write', 'index', 'race', 'read'), { minLength: 4, maxLength: 25 }), async (steps) => {
        const store = new RacingStore();
        const ns = 'race-random';
        const writer = engine(store);
        // The race may fire inside the writer's own LIST: its nested write goes through another node, or it would
        // wait behind the very commit it interrupts.
        const racer = engine(store);
        const reader = engine(store);
        const acked: number[] = [];
        let next = 0;
        const write = async (via = writer) => {
          const id = next++;
          await via.write(ns, { upsert_rows: [{ id, a: id }] });
          acked.push(id);
          acked.sort((a, b) => a - b);
        };
        await write();
        for (const s of steps) {
          if (s === 'write') await write();
          else if (s === 'index') await indexAndCollect(store, ns);
          else if (s === 'race') store.arm(async () => {
            await indexAndCollect(store, ns);
            if (next % 2 === 0) await write(racer);
          });
          else expect(await ids(reader, ns)).toEqual(acked);
        }
        expect(await ids(reader, ns)).toEqual(acked);
      }),
      { numRuns: 20 },
    );
  });
});


describe('strong reads while another reader resolves the tail against the parts', () => {
  /** A store whose reads of part files take `ms` (a slow object store: a fresh node's first id lookups). */
  class SlowPartsStore extends MemoryStore {
    constructor(private readonly ms: number) {
      super();
    }
    override async get(key: string, range?: { start: number; end: number }) {
      if (key.includes('/parts/')) await new Promise((r) => setTimeout(r, this.ms));
      return super.get(key, range);
    }
  }

  it('should not answer a second concurrent query before the first one has killed the part rows the tail shadows', async () => {
    // Found by the soak (bench/soak.ts, seed 25): a fresh server's strong reads returned a part's older row. A view's
    // settle() takes the pending tail ids and looks up their part rows (store reads); a second reader that came in
    // meanwhile found nothing pending and read the view with those rows still live.
    const store = new SlowPartsStore(25);
    const ns = 'settle-race';
    const writer = engine(store);
    const all = range(0, 40);
    await writer.write(ns, { upsert_rows: all.map((id) => ({ id, v: 1 })) });
    await new Indexer(store, { clock, nonce: () => `s${n++}`, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true); // v=1 in a part
    await writer.write(ns, { upsert_rows: all.map((id) => ({ id, v: 2 })) }); // v=2 in the tail, shadowing every part row
    const reader = engine(store); // a fresh node: its first view settles 40 ids against the part
    const read = async () => (await reader.query(ns, { filters: ['id', 'In', all], top_k: 100, include_attributes: ['v'] })).rows as { id: number; v: number }[];
    const answers = await Promise.all([read(), read(), read()]);
    for (const rows of answers) {
      expect(rows.length).toBe(40); // one row per id: no part row alongside its tail row
      expect(rows.every((r) => r.v === 2)).toBe(true);
    }
  });
});
