/**
 * The Fuzzy filter (issue 14 item 13) through the OFFICIAL @turbopuffer/turbopuffer client, and its fuzzy index in
 * parts (RFC-0009 "Fuzzy indexes"):
 *
 *  - rows in parts built before the attribute had `fuzzy: true` (no fuzzy index: scanned), in parts built after (a
 *    fuzzy index), overwritten and deleted in the WAL tail, all answer exactly what a brute-force Levenshtein distance
 *    computed here says, for case-sensitive and -insensitive queries, the distance thresholds by query length, arrays,
 *    Not and And; explain_query names the fuzzy index; GET schema reports `fuzzy: true`; bad input is a 400;
 *  - the golden fixture test/fixtures/part-ffz (fuzzy_version 1) decodes to the terms and rows its documents define,
 *    is rebuilt byte for byte, and answers through the engine; the older fixture test/fixtures/part-fsrt (no fuzzy
 *    index) answers Fuzzy by scan once its schema enables it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { isBlockHead, loadPart, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { buildFuzzyIndex, readFuzzyIndex } from '../crates-ts/part/fuzzy-index.js';
import { Indexer } from '../indexer/indexer.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';
import { compareCodePoints, fold, fuzzyMatch, P12, PARAMS } from './helpers/fuzzy-model.js';
import { FFZ_CREATED_AT, FFZ_NS, FFZ_PART_ID, ffzDocs } from './fixtures/part-ffz.js';
import { FSRT_NS, fsrtDocs } from './fixtures/part-fsrt.js';
import { seededRandom as rng } from '../crates-ts/ivf/index.js';

const BASES = ['jonathan', 'jonathon', 'margaret', 'margarita', 'elizabeth', 'christopher', 'alexander', 'alexandra', 'Ångström', 'naïve café', '𝒜lgebraist', 'katherine', 'catherine', 'stephanie', 'bartholomew'];

/** A base word with up to `edits` random edits (substitute, delete, insert), sometimes upper-cased. */
function typo(r: () => number, edits = 2): string {
  const chars = Array.from(BASES[Math.floor(r() * BASES.length)]!);
  const n = Math.floor(r() * (edits + 1));
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * chars.length);
    const c = 'abcdeéxyz'[Math.floor(r() * 9)]!;
    const op = Math.floor(r() * 3);
    if (op === 0) chars[at] = c;
    else if (op === 1 && chars.length > 1) chars.splice(at, 1);
    else chars.splice(at, 0, c);
  }
  if (r() < 0.15) return chars.join('').toUpperCase();
  return chars.join('');
}

type Row = { id: number; name?: string; tags?: string[]; cat: string };
function rowsFrom(r: () => number, ids: number[]): Row[] {
  return ids.map((id) => {
    const row: Row = { id, cat: ['a', 'b', 'c'][id % 3]! };
    if (r() > 0.05) row.name = typo(r);
    if (r() > 0.2) row.tags = Array.from({ length: 1 + Math.floor(r() * 3) }, () => typo(r, 1));
    return row;
  });
}

describe('Fuzzy through the official client, across parts and the WAL tail', () => {
  const ns = 'fuzzy-api';
  let server: TestServer;
  let tpuf: Turbopuffer;
  const model = new Map<number, Row>();
  const r = rng(14_13);
  const indexNow = async (nonce: string) => {
    const store = new LocalDirStore(server.storeDir);
    let n = 0;
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `${nonce}${n++}` }).indexNamespace(ns, true);
    await store.close();
  };

  beforeAll(async () => {
    server = await startTestServer({ indexer: false });
    tpuf = server.client();
    // 1. Before fuzzy is enabled: a part without a fuzzy index.
    const first = rowsFrom(r, Array.from({ length: 200 }, (_, i) => i));
    await tpuf.namespace(ns).write({ upsert_rows: first, schema: { tags: { type: '[]string' } } });
    for (const x of first) model.set(x.id, x);
    await indexNow('fa');
    // 2. Enable fuzzy, write more (and overwrite part rows): a part with fuzzy indexes.
    const second = rowsFrom(r, [...Array.from({ length: 200 }, (_, i) => 200 + i), ...Array.from({ length: 10 }, (_, i) => i)]);
    await tpuf.namespace(ns).write({ upsert_rows: second, schema: { name: { type: 'string', fuzzy: true }, tags: { type: '[]string', fuzzy: true, filterable: true } } });
    for (const x of second) model.set(x.id, x);
    await indexNow('fb');
    // 3. The WAL tail: new rows, overwrites of rows in both parts, deletes.
    const third = rowsFrom(r, [...Array.from({ length: 50 }, (_, i) => 400 + i), 5, 150, 205, 390]);
    const deletes = [10, 11, 12, 160, 210, 211];
    await tpuf.namespace(ns).write({ upsert_rows: third, deletes });
    for (const x of third) model.set(x.id, x);
    for (const id of deletes) model.delete(id);
  }, 120_000);
  afterAll(async () => {
    await server.close();
  });

  const run = async (filters: unknown) => {
    const res = await tpuf.namespace(ns).query({ filters: filters as never, rank_by: ['id', 'asc'], top_k: 1000 });
    return (res.rows ?? []).map((x) => x.id as number);
  };
  const want = (f: (x: Row) => boolean) => [...model.values()].filter(f).map((x) => x.id).sort((a, b) => a - b);

  it('should answer every query exactly as a brute-force Levenshtein does', async () => {
    const queries = [...BASES, 'JONATHAN', 'jonathn', 'margret', 'alexandre', 'bartholomew smith', 'kat', 'x', ...Array.from({ length: 12 }, () => typo(r))];
    let matched = 0;
    for (const q of queries) {
      for (const p of PARAMS) {
        const name = await run(['name', 'Fuzzy', q, p]);
        const exp = want((x) => fuzzyMatch(x.name, q, p));
        expect(name, `name ${q} ${JSON.stringify(p)}`).toEqual(exp);
        matched += exp.length;
        const tags = await run(['tags', 'Fuzzy', q, p]);
        expect(tags, `tags ${q} ${JSON.stringify(p)}`).toEqual(want((x) => fuzzyMatch(x.tags, q, p)));
      }
    }
    expect(matched).toBeGreaterThan(200); // the queries do reach rows in parts and the tail
  });

  it('should combine with Not, And and Or like any filter', async () => {
    const q = 'margaret';
    expect(await run(['Not', ['name', 'Fuzzy', q, P12]])).toEqual(want((x) => !fuzzyMatch(x.name, q, P12)));
    expect(await run(['And', [['tags', 'Fuzzy', 'katherine', P12], ['tags', 'Fuzzy', 'alexander', P12]]])).toEqual(
      want((x) => fuzzyMatch(x.tags, 'katherine', P12) && fuzzyMatch(x.tags, 'alexander', P12)),
    );
    expect(await run(['Or', [['name', 'Fuzzy', 'jonathan', P12], ['cat', 'Eq', 'b']]])).toEqual(want((x) => fuzzyMatch(x.name, 'jonathan', P12) || x.cat === 'b'));
    const cnt = await tpuf.namespace(ns).query({ aggregate_by: { n: ['Count'] }, filters: ['name', 'Fuzzy', 'elizabeth', P12] });
    expect(cnt.aggregations).toEqual({ n: want((x) => fuzzyMatch(x.name, 'elizabeth', P12)).length });
  });

  it('should report fuzzy: true in the schema, with filterable defaulting to false', async () => {
    const s = await tpuf.namespace(ns).schema();
    expect(s.name).toEqual({ type: 'string', filterable: false, fuzzy: true });
    expect(s.tags).toEqual({ type: '[]string', filterable: true, fuzzy: true });
  });

  it('should name the fuzzy index in explain_query and scan the tail', async () => {
    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['id', 'asc'], top_k: 10, filters: ['name', 'Fuzzy', 'jonathan', P12] })).plan_text!;
    expect(plan).toMatch(/name Fuzzy "jonathan" .*: fuzzy index ffz-\d+\.blk \(Levenshtein automaton walk of its [\d,]+ sorted terms/);
    expect(plan).toMatch(/tail: \d+ rows \(exhaustive scan/);
  });

  it('should reject Fuzzy without fuzzy: true, and malformed parameters, with 400 ELAX_ERR_INVALID_FILTER', async () => {
    const bad = (filters: unknown) => tpuf.namespace(ns).query({ filters: filters as never, rank_by: ['id', 'asc'], top_k: 10 });
    await expect(bad(['cat', 'Fuzzy', 'abcdef', P12])).rejects.toMatchObject({
      status: 400,
      error: { code: 'ELAX_ERR_INVALID_FILTER', error: expect.stringMatching(/attribute 'cat'.*"fuzzy": true/) },
    });
    await expect(bad(['name', 'Fuzzy', 'abcdef', { max_edit_distance: [{ distance: 2, min_query_chars: 6 }] }])).rejects.toMatchObject({
      status: 400,
      error: { code: 'ELAX_ERR_INVALID_FILTER', error: expect.stringMatching(/min_query_chars must be at least 3 · \(distance \+ 1\) = 9/) },
    });
    await expect(bad(['name', 'Fuzzy', 'abcdef'])).rejects.toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_FILTER' } });
    await expect(tpuf.namespace(ns).write({ upsert_rows: [{ id: 1, cat: 'a' }], schema: { cat: { type: 'string', fuzzy: 'yes' as never } } })).rejects.toMatchObject({ status: 400 });
  });

  it('should delete exactly the matching rows with delete_by_filter (parts and tail)', async () => {
    const gone = want((x) => fuzzyMatch(x.name, 'catherine', P12));
    expect(gone.length).toBeGreaterThan(0);
    const res = await tpuf.namespace(ns).write({ delete_by_filter: ['name', 'Fuzzy', 'catherine', P12] });
    expect(res.rows_deleted ?? res.rows_affected).toBe(gone.length);
    for (const id of gone) model.delete(id);
    expect(await run(null)).toEqual(want(() => true));
  });
});

describe('the fuzzy-index fixture (test/fixtures/part-ffz, fuzzy_version 1)', () => {
  it('should decode to the terms and rows its documents define, rebuild byte for byte, and answer through the engine', async () => {
    await withFixtureCopy('part-ffz', async (store) => {
      const docs = ffzDocs();
      const head = (await readManifest(store, FFZ_NS, FFZ_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.fuzzy_indexes!.map((i) => `${i.attr}:${i.file}:${i.array}`)).toEqual(['name:ffz-0.blk:false', 'tags:ffz-1.blk:true']);
      const part = await loadPart(store, FFZ_NS, FFZ_PART_ID);
      for (const info of head.fuzzy_indexes!) {
        const bytes = (await store.get(partFileKey(FFZ_NS, FFZ_PART_ID, info.file)))!.bytes;
        // Each distinct value's postings: the ordinals of the part's rows holding it.
        const values = part.docs.map((d) => d.attrs[info.attr]);
        const distinct = [...new Set(values.flatMap((v) => (v == null ? [] : Array.isArray(v) ? (v as unknown[]) : [v])) as string[])];
        const terms = [...new Set(distinct.map(fold))].sort(compareCodePoints);
        const idx = readFuzzyIndex(bytes, info, head.rows, info.file);
        const decodedTerms = Array.from({ length: idx.off.length - 1 }, (_, t) => String.fromCodePoint(...idx.cps.subarray(idx.off[t]!, idx.off[t + 1]!)));
        expect(decodedTerms).toEqual(terms);
        expect(new Set(idx.variants)).toEqual(new Set(distinct));
        for (let v = 0; v < idx.variants.length; v++) {
          const rows = Array.from(idx.posts.subarray(idx.postOff[v]!, idx.postOff[v + 1]!));
          expect(rows, idx.variants[v]).toEqual(part.docs.flatMap((d, o) => ([d.attrs[info.attr]].flat().includes(idx.variants[v]!) ? [o] : [])));
        }
        // The format is pinned: today's builder writes the committed bytes.
        expect(Buffer.from(buildFuzzyIndex(info.attr, values)!.bytes).equals(Buffer.from(bytes))).toBe(true);
      }
      let t = Date.parse(FFZ_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      for (const q of ['jonathan', 'MARGARET', 'angstrom', 'ångström', 'naive cafe', '𝒜lgebra', 'christophe', 'elizabeht']) {
        for (const p of PARAMS) {
          for (const attr of ['name', 'tags']) {
            const got = await e.query(FFZ_NS, { filters: [attr, 'Fuzzy', q, p], rank_by: ['id', 'asc'], top_k: 1000 });
            expect(got.rows!.map((x) => x.id), `${attr} ${q} ${JSON.stringify(p)}`).toEqual(docs.filter((d) => fuzzyMatch(d.attrs[attr], q, p)).map((d) => d.id));
          }
        }
      }
      const plan = (await e.explainQuery(FFZ_NS, { filters: ['name', 'Fuzzy', 'jonathan', P12], rank_by: ['id', 'asc'], top_k: 10 })).plan_text;
      expect(plan).toContain('fuzzy index ffz-0.blk');
      await e.close();
    });
  });

  it('should answer Fuzzy by scan over a part built before fuzzy indexes (test/fixtures/part-fsrt)', async () => {
    await withFixtureCopy('part-fsrt', async (store) => {
      const docs = fsrtDocs();
      let t = Date.parse('2026-12-06T00:00:00.000Z');
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      // The part has a sorted index on name but no fuzzy index; enabling fuzzy changes the schema, not the part.
      await e.updateSchema(FSRT_NS, { name: { type: 'string', fuzzy: true, filterable: true } });
      // Its names are 2–4 characters: distance 0 (from 3 characters) is all the thresholds allow; case-insensitive.
      const p = { max_edit_distance: [{ distance: 0, min_query_chars: 3 }], case_sensitive: false };
      let matched = 0;
      for (const q of ['AX5', 'bz62', 'cY10', 'dx7', 'ay', 'by3']) {
        const got = await e.query(FSRT_NS, { filters: ['name', 'Fuzzy', q, p], rank_by: ['id', 'asc'], top_k: 1000 });
        const exp = docs.filter((d) => fuzzyMatch(d.attrs.name, q, p)).map((d) => d.id);
        expect(got.rows!.map((x) => x.id), q).toEqual(exp);
        matched += exp.length;
      }
      expect(matched).toBeGreaterThan(0);
      const plan = (await e.explainQuery(FSRT_NS, { filters: ['name', 'Fuzzy', 'AX5', p], rank_by: ['id', 'asc'], top_k: 10 })).plan_text;
      expect(plan).toMatch(/name Fuzzy "AX5" .*: residual/);
      await e.close();
    });
  });
});
