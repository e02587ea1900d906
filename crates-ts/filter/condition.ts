/**
 * Shared machinery of condition compilation: the compile context, errors with filter paths, attribute readers,
 * and operand parsing (constants normalised to the stored form, `{"$ref_new": attr}` references).
 */
import { ElaxError, type Doc, type Schema, type Scalar } from '../core/index.js';
import { attrInfo, describeValue, kindsCompatible, normalizeScalar, type AttrInfo } from './operand.js';

export const OPS = [
  'Eq', 'NotEq', 'In', 'NotIn', 'Contains', 'NotContains', 'ContainsAny', 'NotContainsAny',
  'Lt', 'Lte', 'Gt', 'Gte', 'AnyLt', 'AnyLte', 'AnyGt', 'AnyGte',
  'Glob', 'NotGlob', 'IGlob', 'NotIGlob', 'Regex', 'Fuzzy',
  'ContainsAllTokens', 'ContainsAnyToken', 'ContainsTokenSequence',
] as const;
export type Op = (typeof OPS)[number];

export type CompiledFilter = (doc: Doc, refNew?: Doc) => boolean;
export const MATCH_ALL: CompiledFilter = () => true;
export const MATCH_NONE: CompiledFilter = () => false;

export interface Ctx {
  schema: Schema;
  unknown: 'error' | 'null';
  /** `{"$ref_new": attr}` operands are allowed (write conditions only). */
  allowRefNew: boolean;
  infos: Map<string, AttrInfo>;
}

/** One condition being compiled: what error messages name. */
export interface CondCtx {
  ctx: Ctx;
  a: AttrInfo;
  op: Op;
  path: string;
}

export function fail(path: string, msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_FILTER', `invalid filter at ${path}: ${msg}`);
}

export function condFail(c: CondCtx, msg: string): ElaxError {
  return fail(c.path, `${c.op} on attribute '${c.a.name}': ${msg}`);
}

export function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function info(ctx: Ctx, name: string): AttrInfo {
  let i = ctx.infos.get(name);
  if (i === undefined) {
    i = attrInfo(ctx.schema, name);
    ctx.infos.set(name, i);
  }
  return i;
}

export function not(f: CompiledFilter): CompiledFilter {
  return (d, r) => !f(d, r);
}

export type Reader = (d: Doc) => unknown;
export type RefReader = (r: Doc | undefined) => unknown;

export function readerFor(a: AttrInfo): Reader {
  if (a.isId) return (d) => d.id;
  const name = a.name;
  return (d) => d.attrs[name];
}

export function refReader(name: string): RefReader {
  if (name === 'id') return (r) => (r === undefined ? null : r.id);
  return (r) => (r === undefined ? null : (r.attrs[name] ?? null));
}

/** The attribute named by a `{"$ref_new": "attr"}` operand, null for any other value; throws on a malformed one. */
export function refName(v: unknown, path: string): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  const name = (v as Record<string, unknown>).$ref_new;
  if (keys.length !== 1 || typeof name !== 'string') {
    throw fail(path, `an object operand must be {"$ref_new": "attribute"}, got ${show(v)}`);
  }
  return name;
}

/** Validates a `$ref_new` target against the filtered attribute. */
export function checkRef(c: CondCtx, name: string, opts: { scalarOnly: boolean }): RefReader {
  if (!c.ctx.allowRefNew) {
    // Anywhere else there is no document being written: the reference would silently read as null.
    throw condFail(
      c,
      `{"$ref_new": ${JSON.stringify(name)}} refers to the document being written and is only valid in upsert_condition, patch_condition and delete_condition`,
    );
  }
  const r = info(c.ctx, name);
  if (!r.known && c.ctx.unknown === 'error') throw condFail(c, `$ref_new attribute '${name}' is not in the namespace schema`);
  if (r.vector) throw condFail(c, `$ref_new attribute '${name}' is a vector and cannot be compared`);
  if (!kindsCompatible(c.a.kind, r.kind)) {
    throw condFail(c, `cannot compare ${c.a.kind} with $ref_new attribute '${name}' of type ${r.kind}`);
  }
  if (opts.scalarOnly && r.array === true) throw condFail(c, `$ref_new attribute '${name}' is an array; ${c.op} needs a scalar`);
  return refReader(name);
}

/** The stored form of a scalar operand (null only when allowed), or an error message. */
export function scalarOrError(c: CondCtx, v: unknown, allowNull: boolean): { value: Scalar | null } | { error: string } {
  if (v === null || v === undefined) {
    if (allowNull && v === null) return { value: null };
    return { error: `needs a value, got ${v === null ? 'null' : 'nothing'}` };
  }
  const n = normalizeScalar(v, c.a.kind);
  return typeof n === 'object' ? n : { value: n };
}

export function scalarOperand(c: CondCtx, v: unknown, allowNull: boolean): Scalar | null {
  const r = scalarOrError(c, v, allowNull);
  if ('error' in r) throw condFail(c, r.error);
  return r.value;
}

/** A list operand (In, ContainsAny): constants, possibly with `$ref_new` elements resolved per evaluation. */
export type ListOperand = { kind: 'const'; values: (Scalar | null)[] } | { kind: 'dynamic'; build: (r: Doc | undefined) => unknown[] };

export function listOperand(c: CondCtx, v: unknown, allowNull: boolean): ListOperand {
  const rn = refName(v, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: false });
    return {
      kind: 'dynamic',
      build: (r) => {
        const x = rr(r);
        return x === null ? [] : Array.isArray(x) ? x : [x];
      },
    };
  }
  if (!Array.isArray(v)) throw condFail(c, `needs an array of values, got ${describeValue(v)}`);
  const items: Array<{ ref: RefReader } | { value: Scalar | null }> = v.map((e, i) => {
    const ern = refName(e, `${c.path}[2][${i}]`);
    if (ern !== null) return { ref: checkRef(c, ern, { scalarOnly: true }) };
    const r = scalarOrError(c, e, allowNull);
    if ('error' in r) throw condFail(c, `element ${i}: ${r.error}`);
    return r;
  });
  if (items.every((it) => 'value' in it)) return { kind: 'const', values: items.map((it) => (it as { value: Scalar | null }).value) };
  return { kind: 'dynamic', build: (r) => items.map((it) => ('ref' in it ? it.ref(r) : it.value)) };
}
