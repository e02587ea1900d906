/**
 * Fuzzy indexes read by byte ranges (RFC-0009 "Fuzzy indexes", fuzzy_version 2; issue 14 item 13, design rule "cold
 * reads are byte ranges"):
 *
 *  - the interval automaton never rules out a range that holds a string within the distance (randomized, seeded), and
 *    does rule out ranges (it is not trivially true);
 *  - a version 2 index answers exactly what a brute-force Levenshtein computed here says (randomized values: case
 *    variants, arrays, non-BMP characters; tiny and default term blocks), and with only the blocks a query's
 *    directory pass names decoded;
 *  - through the engine, a cold Fuzzy query reads the directory and a few blocks: far fewer bytes of `ffz-0.blk`
 *    than the file, with the brute-force rows;
 *  - corruption of the directory, a term block or a rows block is ELAX_ERR_CORRUPT;
 *  - the golden fixture test/fixtures/part-ffz2 (fuzzy_version 2) decodes to its documents' terms and rows, is
 *    rebuilt byte for byte and answers through the engine (part-ffz, version 1, is test/105's).
 */
import { describe, it, expect } from 'vitest';
import type { Doc, Id } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { CountingStore, LocalDirStore, MemoryStore, type ByteRange, type GetResult } from '../crates-ts/store/index.js';
import { buildPartFiles, isBlockHead, newPartId, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { IntervalAutomaton } from '../crates-ts/filter/edit-interval.js';
import { parseFuzzy } from '../crates-ts/filter/index.js';
import { buildFuzzyIndexV2, fuzzyLookupBlocked, fuzzySurvivors, fuzzyWalkBlocks, readFuzzyIndexV2, type FuzzyRowsBlock, type FuzzyTermsBlock } from '../crates-ts/part/fuzzy-blocks.js';
import type { FuzzyIndexInfo } from '../crates-ts/part/fuzzy-index.js';
import { publishBuiltPart } from './helpers/part-namespace.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';
import { compareCodePoints, fold, fuzzyMatch, lev, P12, PARAMS } from './helpers/fuzzy-model.js';
import { seededRandom as rng } from '../crates-ts/ivf/index.js';
import { FFZ2_CREATED_AT, FFZ2_NS, FFZ2_PART_ID, ffz2Docs } from './fixtures/part-ffz2.js';

const cps = (s: string) => Uint32Array.from(Array.from(s), (c) => c.codePointAt(0)!);

const SYL = ['jo', 'na', 'than', 'mar', 'ga', 'ret', 'eli', 'za', 'beth', 'chris', 'to', 'pher', 'Å', 'ng', 'ström', 'na', 'ïve', '𝒜', 'l', 'ge'];
function word(r: () => number): string {
  const n = 2 + Math.floor(r() * 4);
  let s = '';
  for (let i = 0; i < n; i++) s += SYL[Math.floor(r() * SYL.length)]!;
  if (r() < 0.2) s = s.toUpperCase();
  return s;
}
function typo(r: () => number, s: string): string {
  const c = Array.from(s);
  const n = Math.floor(r() * 3);
  for (let k = 0; k < n && c.length > 0; k++) {
    const at = Math.floor(r() * c.length);
    const op = Math.floor(r() * 3);
    if (op === 0) c[at] = 'xyzA'[Math.floor(r() * 4)]!;
    else if (op === 1) c.splice(at, 1);
    else c.splice(at, 0, 'q');
  }
  return c.join('');
}

describe('the interval automaton (filter/edit-interval.ts)', () => {
  it('should never rule out a range holding a string within the distance, and rule out some', () => {
    const r = rng(112);
    const alpha = ['a', 'b', 'c', 'd', '𝒜'];
    const rand = () => Array.from({ length: Math.floor(r() * 7) }, () => alpha[Math.floor(r() * alpha.length)]!).join('');
    let pruned = 0;
    let checked = 0;
    for (let trial = 0; trial < 400; trial++) {
      const q = rand() + rand();
      const d = Math.floor(r() * 3);
      const strings = Array.from({ length: 60 }, rand).sort(compareCodePoints);
      const a = new IntervalAutomaton(cps(q), d);
      // Sorted ranges of the strings, as a directory lists them.
      for (let i = 0; i < strings.length; i += 1 + Math.floor(r() * 8)) {
        const j = Math.min(strings.length - 1, i + Math.floor(r() * 8));
        const inside = strings.slice(i, j + 1);
        const may = a.mayHold(cps(strings[i]!), cps(strings[j]!));
        checked++;
        if (!may) pruned++;
        if (inside.some((s) => lev(s, q) <= d)) expect(may, `${JSON.stringify(q)} d=${d} [${strings[i]}, ${strings[j]}]`).toBe(true);
      }
      // A random string between two bounds (not one of the terms) within reach: the range may hold it.
      const s = rand();
      const lo = strings.filter((x) => compareCodePoints(x, s) <= 0).pop();
      const hi = strings.find((x) => compareCodePoints(x, s) >= 0);
      if (lo !== undefined && hi !== undefined && lev(s, q) <= d) expect(new IntervalAutomaton(cps(q), d).mayHold(cps(lo), cps(hi))).toBe(true);
    }
    expect(pruned).toBeGreaterThan(checked / 10);
  });
});

function randomValues(seed: number, n: number): (string | string[] | null)[] {
  const r = rng(seed);
  const base = Array.from({ length: Math.max(4, n >> 2) }, () => word(r));
  return Array.from({ length: n }, (_, i) => {
    if (i % 17 === 3) return null;
    if (i % 5 === 1) return [typo(r, base[Math.floor(r() * base.length)]!), typo(r, base[Math.floor(r() * base.length)]!)];
    return typo(r, base[Math.floor(r() * base.length)]!);
  });
}

describe('version 2 fuzzy indexes (part/fuzzy-blocks.ts)', () => {
  it('should find exactly the rows a brute-force Levenshtein keeps, with only the blocks the directory names', () => {
    for (const [seed, n, blockTerms] of [
      [1, 400, 4],
      [2, 1500, 16],
      [3, 3000, undefined],
    ] as const) {
      const values = randomValues(seed, n);
      const built = buildFuzzyIndexV2('a', values, blockTerms ? { blockTerms } : {})!;
      const info: FuzzyIndexInfo = { ...built.info, file: 'ffz-0.blk' };
      const whole = readFuzzyIndexV2(built.bytes, info, n, 'ffz-0.blk');
      if (blockTerms) expect(whole.dir.blocks).toBeGreaterThan(n / blockTerms / 4);
      const r = rng(seed * 31);
      let pruned = 0;
      for (let k = 0; k < 40; k++) {
        const src = values[Math.floor(r() * n)];
        const q = typo(r, (Array.isArray(src) ? src[0] : src) ?? word(r));
        for (const p of PARAMS) {
          const spec = parseFuzzy(q, p);
          if ('error' in spec) throw new Error(spec.error);
          const want = values.flatMap((v, o) => (fuzzyMatch(v, q, p) ? [o] : []));
          expect(Array.from(fuzzyLookupBlocked(whole.reader, spec, n).bits.toArray()), `${q} ${JSON.stringify(p)}`).toEqual(want);
          // As a part prepares it: the terms of the surviving blocks only, then the rows of the blocks that matched.
          const survivors = new Set(fuzzySurvivors(whole.dir, spec).blocks);
          pruned += whole.dir.blocks - survivors.size;
          const terms = (b: number): FuzzyTermsBlock | undefined => (survivors.has(b) ? whole.terms[b] : undefined);
          const matched = new Set<number>();
          fuzzyWalkBlocks(whole.dir, terms, spec, (b) => matched.add(b));
          const rows = (b: number): FuzzyRowsBlock | undefined => (matched.has(b) ? whole.rows[b] : undefined);
          expect(Array.from(fuzzyLookupBlocked({ kind: 'fuzzy-blocked', dir: whole.dir, terms, rows }, spec, n).bits.toArray())).toEqual(want);
        }
      }
      if (blockTerms) expect(pruned).toBeGreaterThan(0);
    }
  });

  it('should report a corrupt directory, terms block or rows block as ELAX_ERR_CORRUPT', () => {
    const values = randomValues(7, 600);
    const built = buildFuzzyIndexV2('a', values, { blockTerms: 8 })!;
    const info: FuzzyIndexInfo = { ...built.info, file: 'ffz-0.blk' };
    const whole = readFuzzyIndexV2(built.bytes, info, 600, 'ffz-0.blk');
    const B = whole.dir.blocks;
    const tamper = (offset: number, f: (b: Uint8Array) => void) => {
      const copy = new Uint8Array(built.bytes); // a copy (Buffer.slice would be a view)
      f(copy.subarray(offset));
      return copy;
    };
    expect(() => readFuzzyIndexV2(built.bytes, info, 10, 'ffz-0.blk')).toThrow(/outside the part's 10 rows/);
    // A flipped byte anywhere in a block fails its CRC-32.
    for (const b of [0, B - 1, B, 2 * B - 1]) {
      const at = whole.dir.table.offset[b]! + 2;
      const bad = tamper(at, (x) => (x[0] = x[0]! ^ 0xff));
      expect(() => readFuzzyIndexV2(bad, info, 600, 'ffz-0.blk'), `block ${b}`).toThrow(expect.objectContaining({ code: 'ELAX_ERR_CORRUPT' }));
    }
    const dirAt = info.blocks.offset[0]!;
    expect(() => readFuzzyIndexV2(tamper(dirAt, (x) => (x[0] = x[0]! ^ 1)), info, 600, 'ffz-0.blk')).toThrow(expect.objectContaining({ code: 'ELAX_ERR_CORRUPT' }));
    // The head disagreeing with the directory.
    expect(() => readFuzzyIndexV2(built.bytes, { ...info, terms: info.terms + 1 }, 600, 'ffz-0.blk')).toThrow(/the head says/);
    expect(() => readFuzzyIndexV2(built.bytes, { ...info, attr: 'z' }, 600, 'ffz-0.blk')).toThrow(/footer says/);
  });
});

/** A store that counts the bytes GET returns per key. */
class KeyBytes extends CountingStore {
  readonly byKey = new Map<string, number>();
  override async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    const got = await super.get(key, range);
    if (got) this.byKey.set(key, (this.byKey.get(key) ?? 0) + got.bytes.byteLength);
    return got;
  }
}

describe('a cold Fuzzy query through the engine', () => {
  it('should read the directory and a few blocks of ffz-0.blk, far less than the file, and answer exactly', async () => {
    const r = rng(1120);
    const base = Array.from({ length: 3000 }, () => word(r));
    const docs: Doc[] = Array.from({ length: 12000 }, (_, id) => ({ id, vector: null, attrs: { name: typo(r, base[id % base.length]!) } }));
    const mem = new MemoryStore();
    const ns = 'fz-ranged';
    const built = await buildPartFiles({
      namespace: ns,
      partId: newPartId(1, 2, 'fz000001'),
      walStart: 1,
      walEnd: 2,
      level: 0,
      changes: new Map<Id, Doc | null>(docs.map((d) => [d.id, d] as const)),
      schema: { name: { type: 'string', filterable: false, fuzzy: true } },
      distanceMetric: null,
      createdAt: '2026-12-06T00:00:00.000Z',
      partFormat: 2,
    });
    await publishBuiltPart(mem, built);
    const head = built.manifest;
    if (!isBlockHead(head)) throw new Error('not a block part');
    const ffz = head.fuzzy_indexes![0]!;
    expect(ffz.version).toBe(2);
    const fileBytes = built.files.find((f) => f.name === ffz.file)!.bytes.byteLength;
    const key = partFileKey(ns, head.part_id, ffz.file);
    for (const q of [typo(r, base[5]!), typo(r, base[77]!), 'zzzzzzzzzz']) {
      const store = new KeyBytes(mem);
      let t = Date.parse('2026-12-06T00:00:00.000Z');
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        const got = await e.query(ns, { filters: ['name', 'Fuzzy', q, P12], rank_by: ['id', 'asc'], top_k: 10000 });
        expect(got.rows!.map((x) => x.id)).toEqual(docs.filter((d) => fuzzyMatch(d.attrs.name, q, P12)).map((d) => d.id));
        const read = store.byKey.get(key) ?? 0;
        expect(read).toBeGreaterThan(0);
        expect(read, `${q}: read ${read} of ${fileBytes} bytes`).toBeLessThan(fileBytes / 4);
      } finally {
        await e.close();
      }
    }
    // A damaged term block, or directory, read by range: ELAX_ERR_CORRUPT naming the file, never a silent miss.
    const good = (await mem.get(key))!.bytes;
    const dirAt = ffz.blocks.offset[0]!;
    for (const [from, to] of [
      [0, dirAt],
      [dirAt, dirAt + 8],
    ] as const) {
      const bad = new Uint8Array(good);
      for (let i = from; i < to; i += 7) bad[i] = bad[i]! ^ 0x5a;
      await mem.put(key, bad);
      let t = Date.parse('2026-12-06T00:00:00.000Z');
      const e = new Engine(mem, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        await expect(e.query(ns, { filters: ['name', 'Fuzzy', base[5]!, P12], rank_by: ['id', 'asc'], top_k: 10 })).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringContaining(ffz.file) });
      } finally {
        await e.close();
      }
    }
    await mem.put(key, good);
  });
});

describe('the fuzzy-index fixture (test/fixtures/part-ffz2, fuzzy_version 2)', () => {
  it('should decode to the terms and rows its documents define, rebuild byte for byte, and answer through the engine', async () => {
    await withFixtureCopy('part-ffz2', async (store) => {
      const docs = ffz2Docs();
      const head = (await readManifest(store, FFZ2_NS, FFZ2_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.fuzzy_indexes!.map((i) => `${i.attr}:${i.file}:${i.array}:${i.version}`)).toEqual(['name:ffz-0.blk:false:2', 'tags:ffz-1.blk:true:2']);
      for (const info of head.fuzzy_indexes!) {
        const bytes = (await store.get(partFileKey(FFZ2_NS, FFZ2_PART_ID, info.file)))!.bytes;
        const values = docs.map((d) => d.attrs[info.attr]);
        const distinct = [...new Set(values.flatMap((v) => (v == null ? [] : Array.isArray(v) ? (v as unknown[]) : [v])) as string[])];
        const terms = [...new Set(distinct.map(fold))].sort(compareCodePoints);
        const idx = readFuzzyIndexV2(bytes, info, head.rows, info.file);
        if (info.attr === 'name') expect(idx.dir.blocks).toBeGreaterThan(1);
        const decoded = idx.terms.flatMap((tb) => Array.from({ length: tb.off.length - 1 }, (_, t) => String.fromCodePoint(...tb.cps.subarray(tb.off[t]!, tb.off[t + 1]!))));
        expect(decoded).toEqual(terms);
        const variants = idx.rows.flatMap((rb) => rb.variants);
        expect(new Set(variants)).toEqual(new Set(distinct));
        for (const rb of idx.rows) {
          for (let v = 0; v < rb.variants.length; v++) {
            const rows = Array.from(rb.posts.subarray(rb.postOff[v]!, rb.postOff[v + 1]!));
            expect(rows, rb.variants[v]).toEqual(docs.flatMap((d, o) => ([d.attrs[info.attr]].flat().includes(rb.variants[v]!) ? [o] : [])));
          }
        }
        // The format is pinned: today's builder writes the committed bytes.
        expect(Buffer.from(buildFuzzyIndexV2(info.attr, values)!.bytes).equals(Buffer.from(bytes))).toBe(true);
      }
      let t = Date.parse(FFZ2_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        for (const q of ['jonathan', 'MARGARET', 'ångström', '𝒜lgebra', 'elizabeht', 'anber cagar', 'JOKALU MARNE']) {
          for (const p of PARAMS) {
            for (const attr of ['name', 'tags']) {
              const got = await e.query(FFZ2_NS, { filters: [attr, 'Fuzzy', q, p], rank_by: ['id', 'asc'], top_k: 10000 });
              expect(got.rows!.map((x) => x.id), `${attr} ${q} ${JSON.stringify(p)}`).toEqual(docs.filter((d) => fuzzyMatch(d.attrs[attr], q, p)).map((d) => d.id));
            }
          }
        }
        const plan = (await e.explainQuery(FFZ2_NS, { filters: ['name', 'Fuzzy', 'jonathan', P12], rank_by: ['id', 'asc'], top_k: 10 })).plan_text;
        expect(plan).toContain('fuzzy index ffz-0.blk');
      } finally {
        await e.close();
      }
    });
  });
});
