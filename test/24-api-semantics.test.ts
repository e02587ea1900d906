/**
 * Documented turbopuffer semantics that used to differ silently, through the OFFICIAL @turbopuffer/turbopuffer
 * client, first with every row in the WAL tail and again after indexing (format-2 parts): the same answers.
 *
 *  1. Lt / Lte match null (missing) values unless the operand is null (query docs: "Note that this matches `null`
 *     attribute values unless the value passed to `Lt` is `null` itself"; Lte: "this matches `null` attribute
 *     values"); AnyLt / AnyLte follow "the same rules". Gt / Gte never match null for a non-null operand.
 *  2. Glob / IGlob follow globset syntax: `{a,b}`, `[abc]`, `[!abc]`, ranges, `?`, `*`, `**`, escapes; malformed
 *     patterns are a 400 naming the pattern.
 *  3. BM25 last_as_prefix: "`BM25` prefix matches are assigned a score of `1.0`".
 *  4. Repeated query terms saturate with k3 = 8: weight × ((k3 + 1)·qtf) / (k3 + qtf).
 *
 * Expected ids are written out by hand and scores computed here from the formulas, independently of the engine.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

const idsOf = (res: { rows?: { id: unknown }[] }) => (res.rows ?? []).map((r) => r.id);

/** Runs `check` with every row in the tail, then again once everything is in parts. */
async function tailThenParts(ns: string, check: () => Promise<void>): Promise<void> {
  await check();
  await indexAll(server.storeDir, ns);
  const meta = await tpuf.namespace(ns).metadata();
  expect(meta.index).toMatchObject({ status: 'up-to-date' });
  await check();
}

// ------------------------------------------------------------------------------------------------------------
// 1. Lt / Lte and null

describe('official client: Lt / Lte match null values unless the operand is null', () => {
  const NS = 'sem-nulls';
  // n: int, s: string, at: datetime, nums: []int. Rows 3 and 4 lack them (absent, or written as null).
  const rows = [
    { id: 1, n: 1, s: 'b', at: '2024-01-01T00:00:00Z', nums: [1, 5] },
    { id: 2, n: 5, s: 'd', at: '2024-03-01T00:00:00Z', nums: [7] },
    { id: 3 },
    { id: 4, n: null, s: null, at: null, nums: null },
    { id: 5, n: 3, s: 'c', at: '2024-02-01T00:00:00Z', nums: [] as number[] },
  ];
  const q = async (filters: unknown) =>
    idsOf(await tpuf.namespace(NS).query({ filters: filters as never, rank_by: ['id', 'asc'], top_k: 100 }));

  beforeAll(async () => {
    await tpuf.namespace(NS).write({ upsert_rows: rows, schema: { at: 'datetime', nums: '[]int' } });
  });

  it('should match nulls with Lt / Lte unless the operand is null, never with Gt / Gte x, in the tail and in parts', async () => {
    await tailThenParts(NS, async () => {
      expect(await q(['n', 'Lt', 3])).toEqual([1, 3, 4]);
      expect(await q(['n', 'Lte', 3])).toEqual([1, 3, 4, 5]);
      expect(await q(['n', 'Gt', 3])).toEqual([2]);
      expect(await q(['n', 'Gte', 3])).toEqual([2, 5]);
      expect(await q(['s', 'Lt', 'c'])).toEqual([1, 3, 4]);
      expect(await q(['s', 'Lte', 'c'])).toEqual([1, 3, 4, 5]);
      expect(await q(['at', 'Lt', '2024-02-01T00:00:00Z'])).toEqual([1, 3, 4]);
      expect(await q(['at', 'Gte', '2024-02-01T00:00:00Z'])).toEqual([2, 5]);
      // "using the same rules as Lt": a missing array matches; an empty array has no element that could.
      expect(await q(['nums', 'AnyLt', 5])).toEqual([1, 3, 4]);
      expect(await q(['nums', 'AnyLte', 5])).toEqual([1, 3, 4]);
      expect(await q(['nums', 'AnyGt', 5])).toEqual([2]);
      expect(await q(['nums', 'AnyGte', 5])).toEqual([1, 2]);
      // Not (Lt x) is exactly Gte x, nulls included.
      expect(await q(['Not', ['n', 'Lt', 3]])).toEqual(await q(['n', 'Gte', 3]));
      // A null operand is the least value: Lt null matches nothing, Lte null only the nulls.
      expect(await q(['n', 'Lt', null])).toEqual([]);
      expect(await q(['n', 'Lte', null])).toEqual([3, 4]);
      expect(await q(['n', 'Gt', null])).toEqual([1, 2, 5]);
      expect(await q(['n', 'Gte', null])).toEqual([1, 2, 3, 4, 5]);
      expect(await q(['s', 'Lt', null])).toEqual([]);
      expect(await q(['nums', 'AnyLt', null])).toEqual([]);
      expect(await q(['nums', 'AnyLte', null])).toEqual([3, 4]);
    });
  });

  it('should apply the rule in delete_by_filter too (rows without the attribute are "less")', async () => {
    const ns = tpuf.namespace('sem-nulls-delete');
    await ns.write({ upsert_rows: [{ id: 1, v: 1 }, { id: 2, v: 9 }, { id: 3, w: 'x' }] });
    const res = await ns.write({ delete_by_filter: ['v', 'Lt', 5], return_affected_ids: true });
    expect(res.deleted_ids).toEqual([1, 3]);
  });
});

// ------------------------------------------------------------------------------------------------------------
// 2. Glob syntax

describe('official client: Glob / IGlob follow globset syntax', () => {
  const NS = 'sem-glob';
  const labels: Record<number, string> = {
    1: 'apple', 2: 'date', 3: 'banana', 4: 'apricot', 5: 'a*b', 6: 'src/lib/main.rs', 7: 'src/x.js',
    8: 'Cherry', 9: 'cat', 10: 'cot', 11: 'cut', 12: '{x}', 13: 'a,b', 14: 'main.rs', 15: 'a?c', 16: 'c-t',
  };
  // Few distinct values: a dictionary-encoded column in parts.
  const KINDS = ['red', 'green', 'blue', 'gold'];
  const q = async (filters: unknown) =>
    idsOf(await tpuf.namespace(NS).query({ filters: filters as never, rank_by: ['id', 'asc'], top_k: 100 }));

  beforeAll(async () => {
    await tpuf.namespace(NS).write({ upsert_rows: Object.entries(labels).map(([id, label]) => ({ id: Number(id), label, tags: [label, 'zz'], kind: KINDS[Number(id) % 4] })) });
  });

  it('should match alternation, classes, ranges, wildcards, recursive ** and escapes, in the tail and in parts', async () => {
    await tailThenParts(NS, async () => {
      expect(await q(['label', 'Glob', '{apple,date}'])).toEqual([1, 2]);
      expect(await q(['label', 'Glob', 'a{pp,pr}*'])).toEqual([1, 4]);
      expect(await q(['label', 'Glob', '{a{pple,pricot},d*}'])).toEqual([1, 2, 4]); // nested alternation
      expect(await q(['label', 'Glob', 'c[ao]t'])).toEqual([9, 10]);
      expect(await q(['label', 'Glob', 'c[!ao]t'])).toEqual([11, 16]);
      expect(await q(['label', 'Glob', 'c[^ao]t'])).toEqual([11, 16]);
      expect(await q(['label', 'Glob', 'c[a-o]t'])).toEqual([9, 10]);
      expect(await q(['label', 'Glob', 'c[-x]t'])).toEqual([16]); // a leading '-' is literal
      expect(await q(['label', 'Glob', 'c?t'])).toEqual([9, 10, 11, 16]);
      expect(await q(['label', 'Glob', '?'])).toEqual([]);
      expect(await q(['label', 'Glob', 'a[*]b'])).toEqual([5]); // metacharacters are literal in a class
      expect(await q(['label', 'Glob', 'a\\*b'])).toEqual([5]);
      expect(await q(['label', 'Glob', 'a\\?c'])).toEqual([15]);
      expect(await q(['label', 'Glob', '\\{x\\}'])).toEqual([12]);
      expect(await q(['label', 'Glob', 'a,b'])).toEqual([13]); // a comma outside braces is literal
      expect(await q(['label', 'Glob', '*.rs'])).toEqual([6, 14]); // '*' crosses '/'
      expect(await q(['label', 'Glob', '**/main.rs'])).toEqual([6, 14]);
      expect(await q(['label', 'Glob', 'src/**'])).toEqual([6, 7]);
      expect(await q(['label', 'Glob', 'src/**/main.rs'])).toEqual([6]);
      expect(await q(['label', 'Glob', '**'])).toEqual(Object.keys(labels).map(Number));
      expect(await q(['label', 'IGlob', 'cHERRY'])).toEqual([8]);
      expect(await q(['label', 'IGlob', '{CHERRY,DATE}'])).toEqual([2, 8]);
      expect(await q(['label', 'NotGlob', '{a*,c*,*.rs,*.js}'])).toEqual([2, 3, 8, 12]);
      expect(await q(['label', 'NotIGlob', '{A*,C*,*.RS,*.JS,?*}'])).toEqual([]);
      expect(await q(['tags', 'Glob', '{date,banana}'])).toEqual([2, 3]); // any element of a []string
      expect(await q(['kind', 'Glob', '{red,g[a-o]*}'])).toEqual([3, 4, 7, 8, 11, 12, 15, 16]);
    });
  });

  it('should reject malformed patterns with a 400 that names the pattern', async () => {
    const ns = tpuf.namespace(NS);
    for (const [pattern, why] of [
      ['{apple,date', /'\{' without a matching '\}'/],
      ['apple}', /'\}' without a matching '\{'/],
      ['[abc', /unclosed '\['/],
      ['[]', /unclosed '\['/],
      ['[z-a]', /reversed range 'z-a'/],
      ['abc\\', /ends with an escaping backslash/],
    ] as const) {
      const err = await ns.query({ filters: ['label', 'Glob', pattern], rank_by: ['id', 'asc'], top_k: 10 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_FILTER' } });
      const message = (err as { error: { error: string } }).error.error;
      expect(message).toContain(`invalid glob pattern ${JSON.stringify(pattern)}`);
      expect(message).toMatch(why);
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// 3 and 4. BM25: last_as_prefix scores 1.0; repeated query terms saturate (k3 = 8)

/** Lucene BM25 (k1 1.2, b 0.75) of one term over whitespace tokens (the corpus has no stop words, nothing to stem). */
function bm25(corpus: Map<number, string>, term: string, id: number): number {
  const toks = new Map([...corpus].map(([k, v]) => [k, v.split(' ')]));
  const n = toks.size;
  const avg = [...toks.values()].reduce((s, t) => s + t.length, 0) / n;
  const doc = toks.get(id)!;
  const tf = doc.filter((t) => t === term).length;
  if (tf === 0) return 0;
  const df = [...toks.values()].filter((t) => t.includes(term)).length;
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * doc.length) / avg));
}
/** Query-term-frequency weight with k3 = 8 (Robertson's BM25). */
const qtfWeight = (qtf: number) => (9 * qtf) / (8 + qtf);

describe('official client: BM25 prefix matches score 1.0 and repeated terms saturate', () => {
  const corpus = new Map([
    [1, 'walrus walrus lazy'],
    [2, 'walnut'],
    [3, 'lazy dog'],
    [4, 'wal'],
    [5, 'lazy walrus sleeps under sun today'],
    [6, 'dog dog dog'],
  ]);
  const hasPrefix = (id: number, p: string) => corpus.get(id)!.split(' ').some((t) => t.startsWith(p));
  let NS = '';
  const rank = async (rank_by: unknown) => {
    const res = await tpuf.namespace(NS).query({ rank_by: rank_by as never, top_k: 100 });
    return (res.rows ?? []).map((r) => ({ id: r.id as number, score: r.$dist as number }));
  };
  /** The expected ranking: scores > 0, descending, ties by id. */
  const expected = (score: (id: number) => number) =>
    [...corpus.keys()]
      .map((id) => ({ id, score: score(id) }))
      .filter((r) => r.score > 0)
      .sort((a, b) => b.score - a.score || a.id - b.id);
  const same = (got: { id: number; score: number }[], want: { id: number; score: number }[]) => {
    expect(got.map((r) => r.id)).toEqual(want.map((r) => r.id));
    got.forEach((r, i) => expect(r.score).toBeCloseTo(want[i]!.score, 9));
  };

  /** A fresh namespace holding the corpus, all in the WAL tail. */
  async function load(ns: string): Promise<void> {
    NS = ns;
    await tpuf.namespace(ns).write({
      upsert_rows: [...corpus].map(([id, text]) => ({ id, text })),
      schema: { text: { type: 'string', full_text_search: true } },
    });
  }

  it('should score a last_as_prefix match 1.0 on top of the other terms, in the tail and in parts', async () => {
    await load('sem-bm25-prefix');
    await tailThenParts(NS, async () => {
      const only = await rank(['text', 'BM25', 'wal', { last_as_prefix: true }]);
      expect(only).toEqual([1, 2, 4, 5].map((id) => ({ id, score: 1 })));
      same(await rank(['text', 'BM25', 'lazy wal', { last_as_prefix: true }]), expected((id) => bm25(corpus, 'lazy', id) + (hasPrefix(id, 'wal') ? 1 : 0)));
      same(
        await rank(['Product', 2, ['text', 'BM25', 'dog walr', { last_as_prefix: true }]]),
        expected((id) => 2 * (bm25(corpus, 'dog', id) + (hasPrefix(id, 'walr') ? 1 : 0))),
      );
      same(
        await rank(['Sum', [['text', 'BM25', 'wal', { last_as_prefix: true }], ['text', 'BM25', 'lazy']]]),
        expected((id) => (hasPrefix(id, 'wal') ? 1 : 0) + bm25(corpus, 'lazy', id)),
      );
    });
  });

  it('should weigh a term repeated qtf times by 9·qtf/(8 + qtf), in the tail and in parts', async () => {
    await load('sem-bm25-repeat');
    await tailThenParts(NS, async () => {
      same(await rank(['text', 'BM25', 'lazy lazy dog']), expected((id) => qtfWeight(2) * bm25(corpus, 'lazy', id) + bm25(corpus, 'dog', id)));
      same(await rank(['text', 'BM25', 'dog dog dog walrus']), expected((id) => qtfWeight(3) * bm25(corpus, 'dog', id) + bm25(corpus, 'walrus', id)));
      // With a prefix: the repeated full terms saturate, the prefix still adds 1.0.
      same(
        await rank(['text', 'BM25', 'lazy lazy wal', { last_as_prefix: true }]),
        expected((id) => qtfWeight(2) * bm25(corpus, 'lazy', id) + (hasPrefix(id, 'wal') ? 1 : 0)),
      );
      // One occurrence weighs exactly 1: 9·1/(8+1).
      same(await rank(['text', 'BM25', 'dog']), expected((id) => bm25(corpus, 'dog', id)));
    });
  });
});
