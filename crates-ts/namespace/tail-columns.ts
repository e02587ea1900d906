/**
 * The WAL tail's attributes as columns (RFC-0004 §5: "typed attribute columns"): one column per attribute name seen
 * in the tail, row r at index r. A column holds numbers in a Float64Array (with a presence bitmap) for as long as every
 * value it has been given is a number, then falls back to an array of values. Rows without the attribute read as
 * missing (undefined), and an explicit null stays null, so a row's attributes are rebuilt exactly.
 */
import type { AttrValue } from '../core/index.js';

class TailColumn {
  /** Numbers while `values` is null. */
  private f64: Float64Array | null = new Float64Array(64);
  private has: Uint8Array | null = new Uint8Array(8);
  /** Any values (undefined = missing) once a non-number arrived. */
  private values: (AttrValue | undefined)[] | null = null;
  /**
   * The rows' vectors of `dims` numbers packed as f32 (RFC-0014 §4), made by the first vector scan of the column and
   * extended by the next ones to the rows appended since (rows are only appended, never rewritten): scans then read
   * views instead of copying each value. Row r's vector is data[r·dims, (r + 1)·dims) when ok[r] is 1.
   */
  private packed: { dims: number; data: Float32Array; ok: Uint8Array; upTo: number } | null = null;

  set(r: number, v: AttrValue): void {
    if (this.values === null && typeof v === 'number') {
      let f = this.f64!;
      if (r >= f.length) {
        const grown = new Float64Array(Math.max(f.length * 2, r + 1));
        grown.set(f);
        this.f64 = f = grown;
        const bits = new Uint8Array((grown.length + 7) >> 3); // a bit for every row (a column first set at row 300 has 301)
        bits.set(this.has!);
        this.has = bits;
      }
      f[r] = v;
      this.has![r >> 3]! |= 1 << (r & 7);
      return;
    }
    if (this.values === null) this.toValues(r);
    this.values![r] = v;
    if (this.packed !== null && r < this.packed.upTo) this.packed = null; // a row rewritten: pack again
  }

  /** A reader of the rows' vectors of `dims` numbers as f32 views (null: no such value), packing new rows first. */
  vectorReader(dims: number): (r: number) => Float32Array | null {
    const values = this.values;
    if (values === null) return () => null; // numbers only: no vectors
    let p = this.packed;
    if (p === null || p.dims !== dims) p = this.packed = { dims, data: new Float32Array(0), ok: new Uint8Array(0), upTo: 0 };
    const n = values.length;
    if (n > p.upTo) {
      if (n > p.ok.length) {
        const cap = Math.max(n, p.ok.length * 2, 64);
        const data = new Float32Array(cap * dims);
        data.set(p.data);
        const ok = new Uint8Array(cap);
        ok.set(p.ok);
        p.data = data;
        p.ok = ok;
      }
      for (let r = p.upTo; r < n; r++) {
        const v = values[r];
        if (Array.isArray(v) && v.length === dims) {
          p.data.set(v as number[], r * dims);
          p.ok[r] = 1;
        }
      }
      p.upTo = n;
    }
    const { data, ok } = p;
    return (r) => (ok[r] === 1 ? data.subarray(r * dims, (r + 1) * dims) : null);
  }

  get(r: number): AttrValue | undefined {
    if (this.values !== null) return this.values[r];
    const has = this.has!;
    return r >> 3 < has.length && (has[r >> 3]! & (1 << (r & 7))) !== 0 ? this.f64![r] : undefined;
  }

  /** The column's numbers and presence bits (row r present when bit r is set) while it holds only numbers, else null. */
  numeric(): { values: Float64Array; has: Uint8Array } | null {
    return this.values === null ? { values: this.f64!, has: this.has! } : null;
  }

  /** The column's values (row r at r, undefined: missing) once it holds other values than numbers, else null. */
  valueArray(): readonly (AttrValue | undefined)[] | null {
    return this.values;
  }

  /** A reader for scans: the column's current arrays, resolved once. */
  reader(): (r: number) => AttrValue | undefined {
    const values = this.values;
    if (values !== null) return (r) => values[r];
    const f = this.f64!;
    const has = this.has!;
    return (r) => (r >> 3 < has.length && (has[r >> 3]! & (1 << (r & 7))) !== 0 ? f[r] : undefined);
  }

  private toValues(rows: number): void {
    const values = new Array<AttrValue | undefined>(rows);
    for (let r = 0; r < rows; r++) values[r] = this.get(r);
    this.values = values;
    this.f64 = null;
    this.has = null;
  }
}

export class TailColumns {
  private readonly columns = new Map<string, TailColumn>();

  /** Row r's attributes (rows arrive in order; a row sets only the attributes it has). */
  set(r: number, attrs: Record<string, AttrValue>): void {
    for (const name in attrs) {
      let c = this.columns.get(name);
      if (c === undefined) this.columns.set(name, (c = new TailColumn()));
      c.set(r, attrs[name]!);
    }
  }

  value(attr: string, r: number): AttrValue | undefined {
    return this.columns.get(attr)?.get(r);
  }

  reader(attr: string): (r: number) => AttrValue | undefined {
    const c = this.columns.get(attr);
    return c === undefined ? () => undefined : c.reader();
  }

  /** `attr`'s numbers and presence bits while every value it was given is a number (TailColumn.numeric), else null. */
  numeric(attr: string): { values: Float64Array; has: Uint8Array } | null {
    return this.columns.get(attr)?.numeric() ?? null;
  }

  /** `attr`'s values by row once it holds other values than numbers (TailColumn.valueArray), else null. */
  valueArray(attr: string): readonly (AttrValue | undefined)[] | null {
    return this.columns.get(attr)?.valueArray() ?? null;
  }

  /** A reader of `attr`'s vectors of `dims` numbers as f32 views (RFC-0014 §4; TailColumn.vectorReader). */
  vectorReader(attr: string, dims: number): (r: number) => Float32Array | null {
    const c = this.columns.get(attr);
    return c === undefined ? () => null : c.vectorReader(dims);
  }

  /** Row r's attributes as a document's attrs. */
  attrs(r: number): Record<string, AttrValue> {
    const out: Record<string, AttrValue> = {};
    for (const [name, c] of this.columns) {
      const v = c.get(r);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
}
