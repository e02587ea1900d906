/**
 * The schema endpoints report every option that was set, with turbopuffer's documented defaults filled in, and the
 * round trip is exact (write docs, schema section): `regex` / `glob` are reported when set, and setting one makes
 * `filterable` default to false ("If set, filterable defaults to false; you can override this by setting filterable:
 * true"), as `full_text_search` does. Through the official client: GET /v1/namespaces/:ns/schema (ns.schema()), the
 * schema of GET /v1/namespaces/:ns/metadata (ns.metadata()) and POST /v1/namespaces/:ns/schema (ns.updateSchema()).
 * The options are not decoration: Regex and Glob filters are allowed on a non-filterable attribute that enables them,
 * the other filters are not.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

// Every documented parameter is reported; the values of these are not this test's subject (remove_stopwords, whose
// documented default changed over time, is left out).
const FTS_DEFAULTS = {
  language: 'english',
  stemming: false,
  case_sensitive: false,
  ascii_folding: false,
  max_token_length: 39,
  tokenizer: 'word_v3',
  k1: 1.2,
  b: 0.75,
};

describe('schema options round trip', () => {
  it('should report regex, glob and the filterable they imply, in the schema and in the metadata', async () => {
    const ns = tpuf.namespace('opts');
    await ns.write({
      upsert_rows: [{ id: 1, r: 'apple', rf: 'apple', g: 'apple', rg: ['apple', 'pie'], t: 'an apple', s: 'apple', n: 3 }],
      schema: {
        r: { type: 'string', regex: true },
        rf: { type: 'string', regex: true, filterable: true },
        g: { type: 'string', glob: true },
        rg: { type: '[]string', regex: true, glob: true },
        t: { type: 'string', full_text_search: true },
        s: 'string',
        n: { type: 'int', filterable: false },
      },
    });
    const expected = {
      id: { type: 'uint', filterable: true },
      r: { type: 'string', filterable: false, regex: true },
      rf: { type: 'string', filterable: true, regex: true },
      g: { type: 'string', filterable: false, glob: true },
      rg: { type: '[]string', filterable: false, regex: true, glob: true },
      t: { type: 'string', filterable: false, full_text_search: expect.objectContaining(FTS_DEFAULTS) },
      s: { type: 'string', filterable: true },
      n: { type: 'int', filterable: false },
    };
    expect(await ns.schema()).toEqual(expected);
    expect((await ns.metadata()).schema).toEqual(expected);
  });

  it('should take its own answer back unchanged (the round trip is exact)', async () => {
    const ns = tpuf.namespace('opts-rt');
    await ns.write({
      upsert_rows: [{ id: 'a', vector: [1, 0], r: 'x', t: 'hello' }],
      distance_metric: 'euclidean_squared',
      schema: { r: { type: 'string', regex: true, glob: true }, t: { type: 'string', full_text_search: { stemming: true, k1: 1.5 } } },
    });
    const before = await ns.schema();
    expect(before.vector).toEqual({ type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } });
    expect(before.t).toEqual({ type: 'string', filterable: false, full_text_search: expect.objectContaining({ ...FTS_DEFAULTS, stemming: true, k1: 1.5 }) });
    expect(await ns.updateSchema({ schema: before })).toEqual(before);
    expect(await ns.schema()).toEqual(before);
  });

  it('should apply the documented default when an update turns regex or glob on or off without saying filterable', async () => {
    const ns = tpuf.namespace('opts-upd');
    await ns.write({ upsert_rows: [{ id: 1, a: 'x', b: 'y', c: 'z' }] });
    expect((await ns.schema()).a).toEqual({ type: 'string', filterable: true });
    const on = await ns.updateSchema({ schema: { a: { type: 'string', regex: true }, b: { type: 'string', glob: true, filterable: true } } });
    expect(on.a).toEqual({ type: 'string', filterable: false, regex: true });
    expect(on.b).toEqual({ type: 'string', filterable: true, glob: true });
    // Saying only the type changes no option.
    expect((await ns.updateSchema({ schema: { a: 'string' } })).a).toEqual({ type: 'string', filterable: false, regex: true });
    const off = await ns.updateSchema({ schema: { a: { type: 'string', regex: false } } });
    expect(off.a).toEqual({ type: 'string', filterable: true });
    expect(off.c).toEqual({ type: 'string', filterable: true });
  });

  it('should refuse regex and glob where no pattern filter applies', async () => {
    const ns = tpuf.namespace('opts-bad');
    for (const [schema, message] of [
      [{ n: { type: 'int', regex: true } }, "schema for attribute 'n': regex requires a string, uuid or datetime type (or an array of one), not 'int'"],
      [{ n: { type: 'bool', glob: true } }, "schema for attribute 'n': glob requires a string, uuid or datetime type (or an array of one), not 'bool'"],
      [{ id: { type: 'string', regex: true } }, "schema for attribute 'id': regex is an option of attributes, not of the id (the id is always filterable)"],
      [{ r: { type: 'string', regex: 'yes' } }, "schema for attribute 'r': regex must be a boolean"],
    ] as const) {
      await expect(ns.write({ upsert_rows: [{ id: 1 }], schema: schema as never })).rejects.toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_REQUEST', error: message } });
    }
  });
});

describe('what the options allow', () => {
  it('should run Regex on a regex attribute and Glob on a glob attribute even when not filterable, and refuse other filters', async () => {
    const ns = tpuf.namespace('opts-filters');
    await ns.write({
      upsert_rows: [
        { id: 1, r: 'apple', g: 'apple' },
        { id: 2, r: 'banana', g: 'banana' },
      ],
      schema: { r: { type: 'string', regex: true }, g: { type: 'string', glob: true } },
    });
    const ids = async (filters: unknown) => (await ns.query({ rank_by: ['id', 'asc'], filters: filters as never })).rows!.map((r) => r.id);
    expect(await ids(['r', 'Regex', '^ban'])).toEqual([2]);
    expect(await ids(['g', 'Glob', 'app*'])).toEqual([1]);
    expect(await ids(['g', 'NotIGlob', 'APP*'])).toEqual([2]);
    for (const [f, message] of [
      [['r', 'Eq', 'apple'], 'the attribute is not filterable'],
      [['r', 'Glob', 'app*'], 'the attribute is not filterable'],
      [['g', 'Regex', 'app'], 'the attribute is not filterable'],
    ] as const) {
      await expect(ids(f)).rejects.toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_FILTER', error: expect.stringContaining(message) } });
    }
  });
});
