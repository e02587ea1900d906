/**
 * Value operators: Eq / NotEq, In / NotIn, Contains / NotContains, ContainsAny / NotContainsAny,
 * Lt / Lte / Gt / Gte and AnyLt / AnyLte / AnyGt / AnyGte (semantics: compile.ts header).
 * Constant operands get specialised closures; `$ref_new` operands share the generic *Test functions.
 */
import {
  MATCH_ALL, MATCH_NONE, checkRef, condFail, listOperand, refName, scalarOperand, type CompiledFilter, type CondCtx, type Reader,
} from './condition.js';
import { normalizeScalar } from './operand.js';

function arraysEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Eq on a value v with operand x (null, scalar or array) — shared by constant and $ref_new operands. */
function eqTest(v: unknown, x: unknown): boolean {
  if (x === null || x === undefined) return v === null || v === undefined;
  if (Array.isArray(x)) return Array.isArray(v) && arraysEqual(v, x);
  return v === x || (Array.isArray(v) && v.includes(x));
}

export function compileEq(c: CondCtx, get: Reader, operand: unknown): CompiledFilter {
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: false });
    return (d, r) => eqTest(get(d), rr(r));
  }
  if (operand === null) return (d) => {
    const v = get(d);
    return v === null || v === undefined;
  };
  if (Array.isArray(operand)) {
    if (c.a.array === false) throw condFail(c, `the attribute is a scalar (${c.a.kind}) but the operand is an array; use In to match any of several values`);
    const xs = operand.map((e, i) => {
      const n = normalizeScalar(e, c.a.kind);
      if (e === null || typeof n === 'object') throw condFail(c, `element ${i}: ${e === null ? 'array elements cannot be null' : (n as { error: string }).error}`);
      return n;
    });
    return (d) => {
      const v = get(d);
      return Array.isArray(v) && arraysEqual(v, xs);
    };
  }
  const x = scalarOperand(c, operand, false);
  if (c.a.array === false) return (d) => get(d) === x;
  return (d) => {
    const v = get(d);
    return v === x || (Array.isArray(v) && v.includes(x));
  };
}

function inTest(v: unknown, set: ReadonlySet<unknown>, hasNull: boolean): boolean {
  if (v === null || v === undefined) return hasNull;
  if (Array.isArray(v)) {
    for (const e of v) if (set.has(e)) return true;
    return false;
  }
  return set.has(v);
}

export function compileIn(c: CondCtx, get: Reader, operand: unknown): CompiledFilter {
  const list = listOperand(c, operand, true);
  if (list.kind === 'dynamic') {
    return (d, r) => {
      const xs = list.build(r);
      return inTest(get(d), new Set(xs), xs.includes(null));
    };
  }
  const hasNull = list.values.includes(null);
  const set = new Set<unknown>(list.values.filter((x) => x !== null));
  if (set.size === 0) return hasNull ? (d) => { const v = get(d); return v === null || v === undefined; } : MATCH_NONE;
  if (c.a.array === false) {
    return hasNull ? (d) => { const v = get(d); return v === null || v === undefined || set.has(v); } : (d) => set.has(get(d));
  }
  return (d) => inTest(get(d), set, hasNull);
}

function containsTest(v: unknown, x: unknown): boolean {
  if (x === null || x === undefined || v === null || v === undefined) return false;
  return Array.isArray(v) ? v.includes(x) : v === x;
}

function requireArrayAttr(c: CondCtx, hint: string): void {
  if (c.a.array === false) throw condFail(c, `needs an array attribute, but the attribute has type ${c.a.kind}; ${hint}`);
}

export function compileContains(c: CondCtx, get: Reader, operand: unknown): CompiledFilter {
  requireArrayAttr(c, 'use Eq');
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: true });
    return (d, r) => containsTest(get(d), rr(r));
  }
  const x = scalarOperand(c, operand, false);
  return (d) => containsTest(get(d), x);
}

function containsAnyTest(v: unknown, set: ReadonlySet<unknown>): boolean {
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) {
    for (const e of v) if (set.has(e)) return true;
    return false;
  }
  return set.has(v);
}

export function compileContainsAny(c: CondCtx, get: Reader, operand: unknown): CompiledFilter {
  requireArrayAttr(c, 'use In');
  const list = listOperand(c, operand, false);
  if (list.kind === 'dynamic') return (d, r) => containsAnyTest(get(d), new Set(list.build(r).filter((x) => x !== null)));
  const set = new Set<unknown>(list.values);
  if (set.size === 0) return MATCH_NONE;
  return (d) => containsAnyTest(get(d), set);
}

type Ordering = 'Lt' | 'Lte' | 'Gt' | 'Gte';

const CMP: Record<Ordering, (a: number | string, b: number | string) => boolean> = {
  Lt: (a, b) => a < b,
  Lte: (a, b) => a <= b,
  Gt: (a, b) => a > b,
  Gte: (a, b) => a >= b,
};

/**
 * The comparison when one side is null (missing). null orders before every value, as turbopuffer documents for
 * Lt ("matches `null` attribute values unless the value passed to `Lt` is `null` itself") and Lte ("matches
 * `null` attribute values"); Gt / Gte follow from the same order, so `Not Lt x` is exactly `Gte x`.
 * [value is null, operand is null] -> result.
 */
const WITH_NULL: Record<Ordering, (vNull: boolean, xNull: boolean) => boolean> = {
  Lt: (v, x) => v && !x,
  Lte: (v) => v,
  Gt: (v, x) => !v && x,
  Gte: (_v, x) => x,
};

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

export function compileCompare(c: CondCtx, get: Reader, operand: unknown, any: boolean): CompiledFilter {
  const base = (any ? c.op.slice(3) : c.op) as Ordering;
  if (any) requireArrayAttr(c, `use ${base}`);
  else if (c.a.array === true) throw condFail(c, `the attribute is an array (${c.a.kind}[]); use Any${c.op} to compare its elements`);
  if (c.a.kind === 'bool') throw condFail(c, 'bool attributes cannot be ordered; use Eq');
  const cmp = CMP[base];
  const withNull = WITH_NULL[base];
  // One value (a scalar, or one array element) against the operand; values of another type never compare.
  const one = (v: unknown, x: unknown): boolean => {
    if (isNull(v) || isNull(x)) return withNull(isNull(v), isNull(x));
    return typeof v === typeof x && cmp(v as never, x as never);
  };
  const test = (v: unknown, x: unknown): boolean => {
    if (Array.isArray(v)) {
      // Any*: some element satisfies it (an empty array has none). A scalar comparison never matches an array.
      if (!any) return false;
      for (const e of v) if (one(e, x)) return true;
      return false;
    }
    // A missing array attribute compares as null under Any* too ("the same rules as Lt").
    return one(v, x);
  };
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: true });
    return (d, r) => test(get(d), rr(r));
  }
  const x = scalarOperand(c, operand, true);
  if (typeof x === 'boolean') throw condFail(c, 'booleans cannot be ordered; use Eq');
  if (x === null) {
    // Against a null operand only nullness matters (and, for Any*, whether an array has an element).
    if (base === 'Lt') return MATCH_NONE;
    if (any) return (d) => test(get(d), null);
    if (base === 'Gte') return MATCH_ALL;
    if (base === 'Lte') return (d) => isNull(get(d));
    return (d) => !isNull(get(d));
  }
  if (!any && c.a.array === false) {
    const t = typeof x;
    // The common case (scalar attribute, constant operand), specialised per operator.
    switch (base) {
      case 'Lt':
        return (d) => { const v = get(d); return typeof v === t ? (v as number) < (x as number) : isNull(v); };
      case 'Lte':
        return (d) => { const v = get(d); return typeof v === t ? (v as number) <= (x as number) : isNull(v); };
      case 'Gt':
        return (d) => { const v = get(d); return typeof v === t && (v as number) > (x as number); };
      default:
        return (d) => { const v = get(d); return typeof v === t && (v as number) >= (x as number); };
    }
  }
  return (d) => test(get(d), x);
}
