/**
 * The scan of the WAL tail's vector chunks (chunk-scan.ts, driven by execute-segments.ts rankSegments) against the
 * loop it replaced, kept here as the reference: one loop over the ordinals that looks up each selected row's chunk,
 * enters a chunk at its first selected row and leaves it when a row of another chunk is selected, at a pause (every
 * CHECK_EVERY_ROWS rows once scanSlice.ms has run; 0 here: every time) and at the end. Over random tails — several
 * chunks (small chunk shifts: the first chunk a plain array, the others arenas with codes), dead rows, rows without a
 * vector, duplicate vectors (ties), segments carried over (ordinals starting mid-chunk), filters (a number column, a
 * string column, both), restrictions, both metrics, code scan always / never / auto, in one piece and in slices — the
 * answers are the same rows, order and bit-identical $dist, the code scan ranks the same rows (codeScanStats), and
 * control.check / checkpoint are asked as often.
 *
 * A string equality over the tail's column of values (execute-segments.ts stringEqTest) matches the rows the compiled
 * filter matches over the documents, whatever else the column holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CHECK_EVERY_ROWS, KthSmallest, type AttrValue, type Doc, type Id, type QueryControl } from '../core/index.js';
import { TailSegment } from '../namespace/tail-segment.js';
import { boundBatch, codeScanStats, newCandidates, queryCodes, setCodeScanMode, useCodeScan } from './code-scan.js';
import { compareIds } from './compare.js';
import { cosineFromDot, cosineWithSqNormAt, distanceAt, norm } from './distance.js';
import { executeOnSegments, scanSlice } from './execute-segments.js';
import { executeQuery } from './execute.js';
import { parseQuery } from './parse-query.js';
import { RowCursor, type Segment, type VectorChunk } from './segment.js';
import type { ParsedQuery } from './types.js';
import type { VectorScan } from './vector-arena.js';

const defaultSlice = scanSlice.ms;
afterEach(() => {
  scanSlice.ms = defaultSlice;
  setCodeScanMode('auto');
});

/**
 * The chunked tail scan as it was before chunk-scan.ts (execute-segments.ts at 7429f3e), over one segment, with the
 * query's top k as the k smallest distances offered: the answer (ids and $dist) and its code scan's counters.
 */
function referenceScan(seg: Segment, q: ParsedQuery, only: ArrayLike<number> | null, sliced: boolean): { rows: [Id, number][]; coded: number; exact: number } {
  const rank = q.rank!;
  if (rank.kind !== 'vector') throw new Error('a vector query');
  const v = seg.vectors()!;
  if (v.chunks === undefined) throw new Error('chunked vectors');
  const query = rank.query;
  const dims = query.length;
  const cosine = rank.metric === 'cosine_distance';
  const qNorm = norm(query);
  const query64 = Float64Array.from(query);
  const generic = distanceAt(rank.metric, query);
  const cursor = new RowCursor(seg, q.readAttrs);
  const filter = q.filter;
  const test = filter === null ? null : (o: number) => filter(cursor.at(o));
  const offered: { o: number; d: number }[] = [];
  const top = new KthSmallest(q.limit);
  const offer = (o: number, d: number) => {
    offered.push({ o, d });
    top.offer(d);
  };
  const rejects = (d: number) => d > top.bound;
  let coded = 0;
  let exactRows = 0;

  const { chunks, shift, base, present } = v;
  const mask = (1 << shift) - 1;
  const dead = seg.dead;
  const n = only === null ? seg.rows : only.length;
  let kc: VectorChunk | null = null;
  let m = 0;
  const ords = new Int32Array(256);
  const cq = useCodeScan(q.limit, n, only) ? queryCodes(query, qNorm) : null;
  const kth = cq !== null ? new KthSmallest(q.limit) : null;
  let codesOn = false;
  let cand = newCandidates();
  const exact = (k: VectorScan, sq: Float64Array, count: number) => {
    if (cosine) k.dots(count);
    else k.l2s(count);
    for (let j = 0; j < count; j++) offer(ords[j]!, cosine ? cosineFromDot(k.out[j]!, qNorm, sq[k.sel[j]!]!) : k.out[j]!);
  };
  const flush = () => {
    const c = kc!;
    const k = c.scan!;
    if (!codesOn) {
      exact(k, c.sqNorms, m);
      m = 0;
      return;
    }
    const codes = c.codes!;
    codes.arena.idots(m);
    coded += m;
    cand = boundBatch(cq!, cosine, codes, c.sqNorms, codes.arena.sel, codes.arena.out, ords, m, kth!, top.bound, cand);
    m = 0;
  };
  const rankCandidates = () => {
    const c = kc!;
    const k = c.scan!;
    let b = 0;
    for (let j = 0; j < cand.n; j++) {
      const lb = cand.lb[j]!;
      if (lb > kth!.bound || rejects(lb)) continue;
      k.sel[b] = cand.r[j]!;
      ords[b++] = cand.o[j]!;
      if (b === k.batch) {
        exact(k, c.sqNorms, b);
        exactRows += b;
        b = 0;
      }
    }
    if (b > 0) exact(k, c.sqNorms, b);
    exactRows += b;
    cand.n = 0;
  };
  const leaveChunk = () => {
    if (m > 0) flush();
    if (codesOn && cand.n > 0) rankCandidates();
  };
  for (let i = 0; i < n; i++) {
    if ((i & (CHECK_EVERY_ROWS - 1)) === 0 && i > 0 && sliced) {
      if (kc !== null) leaveChunk();
      kc = null;
    }
    const o = only === null ? i : only[i]!;
    if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
    if (dead !== null && dead[o] === 1) continue;
    if (test !== null && !test(o)) continue;
    const p = base + o;
    const c = chunks[p >>> shift]!;
    const r = p & mask;
    const k = c.scan;
    if (k === undefined) {
      offer(o, cosine ? cosineWithSqNormAt(query64, qNorm, c.data, r * dims, c.sqNorms[r]!) : generic(c.data, r * dims));
      continue;
    }
    if (c !== kc) {
      if (kc !== null) leaveChunk();
      kc = c;
      codesOn = cq !== null && c.codes !== undefined;
      k.setQuery(query);
      if (codesOn) c.codes!.arena.setQueryCodes(cq!.qc);
    }
    k.sel[m] = r;
    ords[m++] = o;
    if (m === k.batch || m === ords.length) flush();
  }
  if (kc !== null) leaveChunk();
  const best = offered.map(({ o, d }) => ({ id: seg.id(o), d })).sort((a, b) => a.d - b.d || compareIds(a.id, b.id));
  return { rows: best.slice(0, q.limit).map((h) => [h.id, h.d]), coded, exact: exactRows };
}

/** A generator of numbers in [0, 1) from a seed (the tail's rows: too many for fast-check to draw one by one). */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const FILTERS = [null, ['cat', 'Lt', 3], ['category', 'Eq', 'c2'], ['Or', [['category', 'Eq', 'c5'], ['cat', 'Gte', 8]]], ['cat', 'In', [1, 4]]] as const;

describe('the chunked tail scan', () => {
  it('gives the answers, code scan counters and checks of the row-by-row loop it replaced', async () => {
    let sliceRuns = 0;
    let codedRows = 0;
    let restricted = 0;
    let carried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat(),
          // Mostly small tails; some past a few CHECK_EVERY_ROWS rows (pauses, several arenas at larger shifts).
          rows: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 400 }) }, { weight: 1, arbitrary: fc.integer({ min: 4000, max: 14000 }) }),
          dims: fc.integer({ min: 1, max: 19 }),
          shift: fc.integer({ min: 2, max: 13 }),
          noVector: fc.constantFrom(0, 0.05, 0.5),
          overwrite: fc.constantFrom(0, 0.1, 0.6),
          remove: fc.constantFrom(0, 0.03, 0.3),
          // Rows drawn from a few vectors (ties) or all different.
          pool: fc.constantFrom(3, 40, 0),
          carry: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 3 }),
        }),
        fc.array(
          fc.record({
            k: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 400 })),
            filter: fc.constantFrom(...FILTERS),
            metric: fc.constantFrom('cosine_distance' as const, 'euclidean_squared' as const),
            mode: fc.constantFrom('always' as const, 'never' as const, 'auto' as const),
            sliced: fc.boolean(),
            restrict: fc.option(fc.constantFrom('ascending' as const, 'shuffled' as const), { freq: 4 }),
            fromPool: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (t, queries) => {
          const rand = seeded(t.seed);
          const vec = () => Float32Array.from({ length: t.dims }, () => Math.fround((rand() * 2 - 1) * (rand() < 0.1 ? 100 : 1)));
          const pool = Array.from({ length: t.pool }, vec);
          const rowVec = () => (rand() < t.noVector ? null : pool.length > 0 ? pool[Math.floor(rand() * pool.length)]! : vec());
          // Many rows in chunks of a few rows would be thousands of arenas (a memory each): larger chunks then.
          let tail = TailSegment.withChunkShift(t.rows > 1000 ? Math.max(t.shift, 10) : t.shift);
          let next = 0;
          const write = (count: number) => {
            for (let i = 0; i < count; i++) {
              const id = next > 0 && rand() < t.overwrite ? Math.floor(rand() * next) : next++;
              const cat = Math.floor(rand() * 10);
              tail.upsert({ id, vector: rowVec(), attrs: { cat, category: `c${cat}` } });
              if (rand() < t.remove) tail.delete(Math.floor(rand() * next));
            }
          };
          write(t.rows);
          if (t.carry !== null) {
            // A publish carried the tail over: the segment starts at row `drop` of the store (mid-chunk, mid-byte).
            carried++;
            tail = tail.carryOver(Math.floor(t.carry * tail.rows), 0, []);
            write(Math.floor(t.rows / 3));
          }
          if (tail.rows === 0) return;
          const snap = tail.snapshot();
          if (snap.vectors() === null) return; // no row has a vector
          const ctx = { schema: { vector: { type: `[${t.dims}]f32` }, cat: { type: 'int' }, category: { type: 'string' } }, distanceMetric: 'cosine_distance' as const };
          for (const qq of queries) {
            const qv = qq.fromPool && pool.length > 0 ? pool[0]! : vec();
            const body = { rank_by: ['vector', 'kNN', Array.from(qv)], top_k: qq.k, ...(qq.filter !== null ? { filters: qq.filter } : {}) };
            const q = parseQuery(body, { ...ctx, distanceMetric: qq.metric });
            let only: number[] | null = null;
            if (qq.restrict !== null) {
              restricted++;
              only = [];
              for (let o = 0; o < snap.rows; o++) if (rand() < 0.4) only.push(o);
              // Shuffled, with a repeat: the code scan is then not used (useCodeScan), the rows are ranked exactly.
              if (qq.restrict === 'shuffled' && only.length > 0) {
                only.push(only[0]!);
                for (let i = only.length - 1; i > 0; i--) {
                  const j = Math.floor(rand() * (i + 1));
                  [only[i], only[j]] = [only[j]!, only[i]!];
                }
              }
            }
            setCodeScanMode(qq.mode);
            const want = referenceScan(snap, q, only, qq.sliced);
            scanSlice.ms = qq.sliced ? 0 : Infinity;
            let checks = 0;
            let pauses = 0;
            const control: QueryControl = {
              check: (where) => void (where === 'scan' && checks++),
              checkpoint: async (where) => void (where === 'scan' && pauses++),
            };
            const [c0, e0] = [codeScanStats.coded, codeScanStats.exact];
            const restriction = only;
            const got = await executeOnSegments(q, [snap], restriction === null ? undefined : () => restriction, { control });
            const stats = { coded: codeScanStats.coded - c0, exact: codeScanStats.exact - e0 };
            // toStrictEqual compares numbers with Object.is: -0 and 0 differ, NaN equals NaN.
            expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows);
            expect(stats).toStrictEqual({ coded: want.coded, exact: want.exact });
            const n = only === null ? snap.rows : only.length;
            const stretches = Math.ceil(n / CHECK_EVERY_ROWS);
            expect(checks).toBe(stretches);
            expect(pauses).toBe(qq.sliced ? Math.max(0, stretches - 1) : 0);
            if (qq.sliced && stretches > 1) sliceRuns++;
            codedRows += stats.coded;
          }
        },
      ),
      { numRuns: 250 },
    );
    // The property went through pauses, the codes, restrictions and carried-over segments.
    expect(sliceRuns).toBeGreaterThan(10);
    expect(codedRows).toBeGreaterThan(10_000);
    expect(restricted).toBeGreaterThan(20);
    expect(carried).toBeGreaterThan(20);
  }, 120_000);
});

describe('a string equality over the tail’s column of values (stringEqTest)', () => {
  it('matches exactly the rows the compiled filter matches over the documents (missing, null, numbers, arrays, other strings)', async () => {
    const strings = ['a', 'b', 'B', 'ab', '', 'a ', 'é', '2024-01-01T00:00:00Z'];
    const value: fc.Arbitrary<AttrValue | undefined> = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...strings) },
      { weight: 1, arbitrary: fc.constantFrom(undefined, null, 0, 1, true) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...strings), { maxLength: 3 }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(value, { minLength: 1, maxLength: 90 }),
        fc.constantFrom(...strings, 'zz'),
        fc.constantFrom('string', '[]string', 'datetime', undefined),
        fc.integer({ min: 2, max: 5 }),
        fc.nat(),
        async (vals, x, type, shift, carry) => {
          // Values the schema's type accepts (the compiled filter is built for it); undefined: no schema entry.
          const fits = (v: AttrValue | undefined) =>
            v === undefined || v === null || type === undefined || (type === '[]string' ? Array.isArray(v) : type === 'string' ? typeof v === 'string' : typeof v === 'string' && v.startsWith('2024'));
          let tail = TailSegment.withChunkShift(shift);
          const docs: Doc[] = vals.map((v, i) => ({ id: i, vector: Float32Array.of(1, i % 5, 2), attrs: v === undefined || !fits(v) ? {} : { s: v } }) as Doc);
          for (const d of docs) tail.upsert(d);
          for (let i = 0; i < docs.length; i += 7) tail.delete(i);
          let live = docs.filter((_, i) => i % 7 !== 0);
          if (carry % 3 === 0) {
            // Carried over: ordinals start at row `drop` of the column.
            const drop = carry % docs.length;
            tail = tail.carryOver(drop, 0, []);
            live = docs.filter((_, i) => i % 7 !== 0 && i >= drop);
          }
          const schema = { vector: { type: '[3]f32' }, ...(type !== undefined ? { s: { type } } : {}) };
          const ctx = { schema, distanceMetric: 'euclidean_squared' as const };
          const body = { rank_by: ['vector', 'kNN', [1, 2, 3]], top_k: 1000, filters: ['s', 'Eq', x] };
          let q;
          try {
            q = parseQuery(body, ctx as never);
          } catch {
            return; // an operand the attribute's type rejects
          }
          const got = await executeOnSegments(q, [tail.snapshot()]);
          const want = executeQuery(q, live, ctx as never);
          expect(got.rows!.map((r) => [r.id, r.$dist])).toStrictEqual(want.rows!.map((r) => [r.id, r.$dist]));
        },
      ),
      { numRuns: 400 },
    );
  });
});
