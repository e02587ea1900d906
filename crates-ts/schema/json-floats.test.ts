import { describe, expect, it } from 'vitest';
import { FLOATS_MIN_BYTES, parseJsonBytesPacked } from './json-body.js';
import { FULL, extractRowVectors, parseNumbers } from './json-floats.js';
import { seededRandom } from '../ivf/random.js';

const rng = seededRandom; // mulberry32, the project's seeded PRNG

/** f32 of the one-number array `[lit]` through parseNumbers, or null. */
function viaParseNumbers(lit: string): number | null {
  const b = Buffer.from(`[${lit}]`);
  const out = new Float32Array(4);
  const r = parseNumbers(b, 0, b.length, out, 0);
  if (r === null || r === FULL) return null;
  expect(r.after).toBe(b.length);
  expect(r.count).toBe(1);
  return out[0]!;
}

/** What JSON.parse then a Float32Array store give (packVectors), or null when packVectors would not pack it. */
function viaJsonParse(lit: string): number | null {
  let x: unknown;
  try {
    x = JSON.parse(lit);
  } catch {
    return null;
  }
  if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  return Math.fround(x);
}

function randomLiteral(r: () => number): string {
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
  const kind = Math.floor(r() * 6);
  if (kind === 0) return JSON.stringify(Math.fround((r() * 2 - 1) * 10 ** Math.floor(r() * 12 - 6))); // an f32 in full
  if (kind === 1) return JSON.stringify((r() * 2 - 1) * 10 ** Math.floor(r() * 40 - 20)); // a double in full
  if (kind === 2) {
    // Near a midpoint between two f32s: the double midpoint printed in full, or with a digit changed at the end.
    const f = new Float32Array([r() * 4 - 2]);
    const bits = new Uint32Array(f.buffer);
    const a = f[0]!;
    bits[0] = bits[0]! + 1;
    const mid = (a + f[0]!) / 2;
    const s = mid.toPrecision(17 + Math.floor(r() * 4));
    return r() < 0.5 ? s : s.slice(0, -1) + String(Math.floor(r() * 10));
  }
  const sign = r() < 0.3 ? '-' : '';
  const int = r() < 0.4 ? '0' : String(1 + Math.floor(r() * 9)) + digits(Math.floor(r() * 8));
  const frac = r() < 0.7 ? '.' + digits(1 + Math.floor(r() * 22)) : '';
  const exp = r() < 0.3 ? (r() < 0.5 ? 'e' : 'E') + (['', '+', '-'][Math.floor(r() * 3)] ?? '') + String(Math.floor(r() * (r() < 0.9 ? 30 : 400))) : '';
  return sign + int + frac + exp;
}

describe('parseNumbers', () => {
  it('gives what JSON.parse then an f32 store give, for random literals (property)', () => {
    const r = rng(17);
    for (let i = 0; i < 200_000; i++) {
      const lit = randomLiteral(r);
      const want = viaJsonParse(lit);
      const got = viaParseNumbers(lit);
      if (!Object.is(got, want)) expect.fail(`${lit}: parseNumbers ${got}, JSON.parse ${want}`);
    }
  });

  it('takes exactly the JSON number grammar', () => {
    for (const lit of ['0', '-0', '1', '-1.5', '0.000001', '1e5', '1E+5', '1e-5', '2.5e-3', '123456789012345678901234', '0.1646151840686798']) {
      expect(Object.is(viaParseNumbers(lit), viaJsonParse(lit)), lit).toBe(true);
    }
    for (const lit of ['01', '-', '1.', '.5', '+1', '1e', '1e+', '--1', '0x10', 'NaN', 'Infinity', '1e999', '-1e999', 'null', '"1"', '1 2']) {
      expect(viaParseNumbers(lit), lit).toBe(null);
    }
    expect(Object.is(viaParseNumbers('-0'), -0)).toBe(true);
  });

  it('reads whitespace and commas as JSON does, and answers FULL when out has no room', () => {
    const b = Buffer.from('[ 1 ,\n2\t,3 ]');
    const out = new Float32Array(3);
    expect(parseNumbers(b, 0, b.length, out, 0)).toEqual({ after: b.length, count: 3 });
    expect([...out]).toEqual([1, 2, 3]);
    expect(parseNumbers(b, 0, b.length, new Float32Array(2), 0)).toBe(FULL);
    for (const bad of ['[]', '[1,]', '[,1]', '[1 2]', '[1', '[1,[2]]', '[1,null]']) {
      const t = Buffer.from(bad);
      expect(parseNumbers(t, 0, t.length, new Float32Array(8), 0), bad).toBe(null);
    }
  });
});

/** A value with typed arrays and -0 made comparable by toEqual (key order kept). */
function canonical(v: unknown): unknown {
  if (v instanceof Float32Array) return { f32: [...new Uint32Array(v.buffer, v.byteOffset, v.length)] };
  if (v instanceof Uint8Array) return { u8: [...v] };
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : v;
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) return Object.entries(v).map(([k, x]) => [k, canonical(x)]);
  return v;
}

/** parseJsonBytesPacked's value or error message: with json-floats.ts, or without (floatsMinBytes = ∞). */
function both(text: string): { fast: unknown; slow: unknown } {
  const bytes = Buffer.from(text);
  const run = (min: number) => {
    try {
      return canonical(parseJsonBytesPacked(bytes, bytes.length, undefined, undefined, min));
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  return { fast: run(0), slow: run(Infinity) };
}

function randomVectorText(r: () => number, dims: number): string {
  const ws = () => (r() < 0.2 ? [' ', '\n', '\t', '  '][Math.floor(r() * 4)]! : '');
  const kind = r();
  if (kind < 0.04) return 'null';
  if (kind < 0.08) return JSON.stringify(Buffer.from(new Float32Array(dims).map(() => r())).toString('base64'));
  if (kind < 0.1) return '[]';
  if (kind < 0.12) return `[1,${r() < 0.5 ? '1e999' : 'null'}]`;
  if (kind < 0.14) return '"not base64 !"';
  const nums = Array.from({ length: dims }, () => randomLiteral(r));
  return '[' + ws() + nums.map((n) => n + ws()).join(',' + ws()) + ']';
}

function randomBody(r: () => number): string {
  const dims = 1 + Math.floor(r() * 6);
  const rows: string[] = [];
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const members = [`"id":${i}`];
    if (r() < 0.9) members.push(`"vector":${randomVectorText(r, dims)}`);
    if (r() < 0.3) members.push(`"title":${JSON.stringify(r() < 0.5 ? 'a "vector":[1,2] \\ b' : 'x')}`);
    if (r() < 0.2) members.push(`"meta":{"vector":[${randomLiteral(r)}],"s":"}]"}`);
    if (r() < 0.05) members.push(`"vector":[1,2]`); // a second vector key
    if (r() < 0.05) members.push(`"v\\u0065ctor":[3]`); // a key with an escape
    if (r() < 0.3) members.sort(() => r() - 0.5);
    rows.push(r() < 0.05 ? '7' : `{${members.join(',')}}`);
  }
  const top = [`"${r() < 0.2 ? 'patch_rows' : 'upsert_rows'}":[${rows.join(',')}]`];
  if (r() < 0.3) top.push(`"distance_metric":"cosine_distance"`);
  if (r() < 0.1) top.push(`"upsert_columns":{"id":[9],"vector":[[1,2]]}`);
  if (r() < 0.05) top.push(`"upsert_rows":[{"id":8,"vector":[4]}]`);
  if (r() < 0.2) top.sort(() => r() - 0.5);
  let text = `{${top.join(',')}}`;
  // Sometimes break it: a byte dropped, doubled or changed.
  if (r() < 0.15 && text.length > 2) {
    const at = Math.floor(r() * text.length);
    const m = Math.floor(r() * 3);
    text = m === 0 ? text.slice(0, at) + text.slice(at + 1) : m === 1 ? text.slice(0, at) + text[at] + text.slice(at) : text.slice(0, at) + '{}[],:"0.e-\\ '[Math.floor(r() * 13)] + text.slice(at + 1);
  }
  return text;
}

describe('parseJsonBytesPacked with json-floats.ts', () => {
  it('gives the value, or the error, that JSON.parse and packVectors give, for random bodies (property)', () => {
    const r = rng(2026);
    let extracted = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = randomBody(r);
      const { fast, slow } = both(text);
      if (JSON.stringify(fast) !== JSON.stringify(slow)) expect.fail(`body ${text}\nfast ${JSON.stringify(fast)}\nslow ${JSON.stringify(slow)}`);
      if (extractRowVectors(Buffer.from(text), Buffer.byteLength(text)) !== null) extracted++;
    }
    expect(extracted).toBeGreaterThan(5_000); // the fast path did take most bodies
  });

  it('puts every vector of a large body in one buffer, growing a lent one that is too small', () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, vector: Array.from({ length: 64 }, (_, d) => Math.fround(Math.sin(i * 64 + d))) }));
    const text = JSON.stringify({ upsert_rows: rows });
    expect(text.length).toBeGreaterThan(FLOATS_MIN_BYTES);
    for (const into of [undefined, new SharedArrayBuffer(1024), new SharedArrayBuffer(1 << 20)]) {
      const value = parseJsonBytesPacked(Buffer.from(text), text.length, undefined, into) as { upsert_rows: { vector: Float32Array }[] };
      const buffers = new Set(value.upsert_rows.map((row) => row.vector.buffer));
      expect(buffers.size).toBe(1);
      if (into !== undefined && into.byteLength >= 300 * 64 * 4) expect([...buffers][0]).toBe(into);
      for (let i = 0; i < rows.length; i++) expect([...value.upsert_rows[i]!.vector]).toEqual(rows[i]!.vector);
    }
  });

  it('leaves bodies it does not take to the whole-text parse', () => {
    for (const text of ['[1,2]', '{"upsert_columns":{"id":[1],"vector":[[1]]}}', '{"upsert_rows":[{"id":1,"vector":"AACAPw=="}]}', '{"upsert_rows":[{"id":1}]}', '{"upsert_rows":[{"vector":[1],"vector":[2]}]}']) {
      expect(extractRowVectors(Buffer.from(text), text.length), text).toBe(null);
    }
  });
});
