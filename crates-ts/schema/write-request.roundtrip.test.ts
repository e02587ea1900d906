/**
 * Randomised round trips: generate valid rows for random schemas, parse them as upsert_rows and as
 * upsert_columns, and check every value comes back normalised exactly as an independent model predicts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrValue, DistanceMetric, Doc, Id, Scalar } from '../core/index.js';
import { f16FromBits } from './f16.js';
import { f32ToF16Bits } from './testing.js';
import { encodeVectorBase64 } from './vector.js';
import { parseWriteRequest } from './write-request.js';

type Base = 'string' | 'int' | 'uint' | 'float' | 'uuid' | 'datetime' | 'bool';
const BASES: Base[] = ['string', 'int', 'uint', 'float', 'uuid', 'datetime', 'bool'];
const MUST_DECLARE = new Set<Base>(['uint', 'uuid', 'datetime']); // not inferable (turbopuffer: explicit schema only)

/** A generated value: what goes into the request and what elax must store. */
interface Gen {
  raw: unknown;
  want: Scalar;
}

const MIN_MS = Date.parse('1000-01-01T00:00:00Z');
const MAX_MS = Date.parse('9000-01-01T00:00:00Z');
const p2 = (n: number) => String(n).padStart(2, '0');

function scalarGen(b: Base): fc.Arbitrary<Gen> {
  switch (b) {
    case 'string':
      return fc.string({ maxLength: 12 }).map((s) => ({ raw: s, want: s }));
    case 'int':
      return fc.integer({ min: -1e12, max: 1e12 }).map((n) => ({ raw: n, want: n }));
    case 'uint':
      return fc.maxSafeNat().map((n) => ({ raw: n, want: n }));
    case 'float':
      // Mixed integers and fractions: exercises int → float widening during inference.
      return fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.double({ noNaN: true, noDefaultInfinity: true })).map((x) => ({ raw: x, want: x }));
    case 'bool':
      return fc.boolean().map((x) => ({ raw: x, want: x }));
    case 'uuid':
      return fc.tuple(fc.uuid(), fc.boolean()).map(([u, up]) => ({ raw: up ? u.toUpperCase() : u, want: u.toLowerCase() }));
    case 'datetime':
      return fc
        .tuple(fc.integer({ min: MIN_MS, max: MAX_MS }), fc.integer({ min: -56, max: 56 }), fc.constantFrom('iso', 'ms', 'zulu'))
        .map(([ms, q, form]) => {
          const want = new Date(ms).toISOString();
          if (form === 'ms') return { raw: ms, want };
          if (form === 'zulu') return { raw: want, want };
          const off = q * 15;
          const local = new Date(ms + off * 60_000).toISOString().slice(0, -1);
          const zone = `${off < 0 ? '-' : '+'}${p2(Math.trunc(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
          return { raw: local + zone, want };
        });
  }
}

interface AttrSpec {
  name: string;
  base: Base;
  array: boolean;
  declared: boolean;
}

const attrSpecs = fc
  .uniqueArray(
    fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), base: fc.constantFrom(...BASES), array: fc.boolean(), declared: fc.boolean() }),
    { selector: (a) => a.name, maxLength: 6 },
  )
  .map((as) => as.filter((a) => a.name !== 'id' && a.name !== 'vector').map((a) => ({ ...a, declared: a.declared || MUST_DECLARE.has(a.base) })));

type Cell = { kind: 'absent' } | { kind: 'null' } | { kind: 'value'; raw: unknown; want: AttrValue };

function cellGen(a: AttrSpec): fc.Arbitrary<Cell> {
  const g = scalarGen(a.base);
  const value: fc.Arbitrary<Cell> = a.array
    ? fc.array(g, { maxLength: 4 }).map((xs) => ({ kind: 'value' as const, raw: xs.map((x) => x.raw), want: xs.map((x) => x.want) }))
    : g.map((x) => ({ kind: 'value' as const, raw: x.raw, want: x.want }));
  return fc.oneof({ arbitrary: value, weight: 4 }, { arbitrary: fc.constant<Cell>({ kind: 'null' }), weight: 1 }, { arbitrary: fc.constant<Cell>({ kind: 'absent' }), weight: 1 });
}

interface Scenario {
  idKind: 'uint' | 'string' | 'uuid';
  declareId: boolean;
  attrs: AttrSpec[];
  vec: { dims: number; elem: 'f32' | 'f16'; metric: DistanceMetric } | null;
  rows: { id: Gen; cells: Cell[]; vector: number[] | null; b64: boolean }[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    idKind: fc.constantFrom('uint' as const, 'string' as const, 'uuid' as const),
    declareId: fc.boolean(),
    attrs: attrSpecs,
    vec: fc.option(
      fc.record({ dims: fc.integer({ min: 1, max: 6 }), elem: fc.constantFrom('f32' as const, 'f16' as const), metric: fc.constantFrom<DistanceMetric>('cosine_distance', 'euclidean_squared') }),
      { nil: null },
    ),
    n: fc.integer({ min: 0, max: 7 }),
  })
  .chain(({ idKind, declareId, attrs, vec, n }) => {
    const idGen: fc.Arbitrary<Gen> =
      idKind === 'uint'
        ? fc.integer({ min: 0, max: 20 }).map((x) => ({ raw: x, want: x }))
        : idKind === 'uuid'
          ? scalarGen('uuid')
          : fc.string({ minLength: 1, maxLength: 10 }).map((s) => ({ raw: s, want: s }));
    const vecGen = vec
      ? fc.option(fc.array(fc.float({ min: -60000, max: 60000, noNaN: true }), { minLength: vec.dims, maxLength: vec.dims }), { nil: null, freq: 5 })
      : fc.constant(null);
    const row = fc.record({ id: idGen, cells: fc.tuple(...attrs.map(cellGen)), vector: vecGen, b64: fc.boolean() });
    // An id appears once per request (unique-ids.ts): unique by the stored form (UUIDs lowercase).
    return fc.uniqueArray(row, { minLength: n, maxLength: n, selector: (r) => r.id.want }).map((rows) => ({
      idKind,
      declareId: declareId || idKind === 'uuid',
      attrs,
      vec,
      rows: rows.map((r) => ({ ...r, cells: r.cells as Cell[] })),
    }));
  });

function wantVector(xs: number[], elem: 'f32' | 'f16'): Float32Array {
  return new Float32Array(elem === 'f16' ? xs.map((x) => f16FromBits(f32ToF16Bits(Math.fround(x)))) : xs);
}

/** Independent model of inference: declared type, else the type of the values seen (any non-integer → float). */
function expectedType(a: AttrSpec, s: Scenario): string | undefined {
  const prefix = a.array ? '[]' : '';
  if (a.declared) return prefix + a.base;
  const vals: unknown[] = [];
  for (const r of s.rows) {
    const c = r.cells[s.attrs.indexOf(a)]!;
    if (c.kind !== 'value') continue;
    if (a.array) vals.push(...(c.raw as unknown[]));
    else vals.push(c.raw);
  }
  if (vals.length === 0) return undefined;
  if (a.base === 'int' || a.base === 'float') return prefix + (vals.every((v) => Number.isSafeInteger(v)) ? 'int' : 'float');
  return prefix + a.base;
}

function bodies(s: Scenario): { rows: Record<string, unknown>; columns: Record<string, unknown> } {
  const schema: Record<string, unknown> = {};
  if (s.declareId) schema.id = s.idKind;
  for (const a of s.attrs) if (a.declared) schema[a.name] = (a.array ? '[]' : '') + a.base;
  if (s.vec?.elem === 'f16') schema.vector = `[${s.vec.dims}]f16`;
  const common: Record<string, unknown> = {};
  if (Object.keys(schema).length > 0) common.schema = schema;
  if (s.vec) common.distance_metric = s.vec.metric;
  const encode = (r: Scenario['rows'][number]) => (r.vector === null ? null : r.b64 ? encodeVectorBase64(new Float32Array(r.vector)) : r.vector);
  const rows = s.rows.map((r) => {
    const o: Record<string, unknown> = { id: r.id.raw };
    if (r.vector !== null || r.b64) o.vector = encode(r);
    s.attrs.forEach((a, i) => {
      const c = r.cells[i]!;
      if (c.kind === 'null') o[a.name] = null;
      else if (c.kind === 'value') o[a.name] = c.raw;
    });
    return o;
  });
  const cols: Record<string, unknown> = { id: s.rows.map((r) => r.id.raw) };
  s.attrs.forEach((a, i) => {
    cols[a.name] = s.rows.map((r) => {
      const c = r.cells[i]!;
      return c.kind === 'value' ? c.raw : null;
    });
  });
  if (s.vec) {
    const all = s.rows.every((r) => r.vector !== null);
    if (all && s.rows.length > 0 && s.rows[0]!.b64) {
      // One base64 string of all vectors concatenated.
      cols.vector = encodeVectorBase64(new Float32Array(s.rows.flatMap((r) => r.vector!)));
    } else if (all && s.rows.length > 0 && s.rows[s.rows.length - 1]!.b64) {
      cols.vector = s.rows.flatMap((r) => r.vector!); // flat array of numbers
    } else cols.vector = s.rows.map(encode);
  }
  return { rows: { ...common, upsert_rows: rows }, columns: { ...common, upsert_columns: cols } };
}

describe('parseWriteRequest round trips', () => {
  it('should preserve and normalise every generated value, identically for rows and columns', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const current = { schema: {}, distanceMetric: null };
        const { rows, columns } = bodies(s);
        const r = parseWriteRequest(rows, current);
        const c = parseWriteRequest(columns, current);
        expect(c).toEqual(r);

        // Documents: ids normalised, nulls dropped, values normalised, vectors rounded.
        const want: Doc[] = s.rows.map((row) => {
          const attrs: Record<string, AttrValue> = {};
          s.attrs.forEach((a, i) => {
            const cell = row.cells[i]!;
            if (cell.kind === 'value') attrs[a.name] = cell.want;
          });
          return { id: row.id.want as Id, vector: row.vector === null ? null : wantVector(row.vector, s.vec!.elem), attrs };
        });
        expect(r.upserts).toEqual(want);
        expect(r.patches).toEqual([]);
        expect(r.deletes).toEqual([]);

        // Schema: declared types win; otherwise inferred from values; id from the first id.
        const types: Record<string, string> = {};
        if (s.declareId) types.id = s.idKind;
        else if (s.rows.length > 0) types.id = s.idKind === 'uint' ? 'uint' : 'string';
        for (const a of s.attrs) {
          const t = expectedType(a, s);
          if (t) types[a.name] = t;
        }
        const anyVec = s.rows.some((row) => row.vector !== null);
        if (s.vec && (s.vec.elem === 'f16' || anyVec)) types.vector = `[${s.vec.dims}]${s.vec.elem}`;
        expect(Object.fromEntries(Object.entries(r.schema).map(([k, v]) => [k, v.type]))).toEqual(types);
        if (types.vector) expect(r.schema.vector!.ann).toEqual({ distance_metric: s.vec!.metric });
        expect(r.schemaChanged).toBe(Object.keys(types).length > 0);
        if (s.vec) expect(r.distanceMetric).toBe(s.vec.metric);

        // Writing the same rows again against the resulting schema changes nothing and parses the same docs.
        const again = parseWriteRequest(rows, { schema: r.schema, distanceMetric: r.distanceMetric ?? null });
        expect(again.schemaChanged).toBe(false);
        expect(again.upserts).toEqual(r.upserts);
      }),
      { numRuns: 400 },
    );
  });
});
