/**
 * Value operators: Eq / NotEq, In / NotIn, Contains / NotContains, ContainsAny / NotContainsAny,
 * Lt / Lte / Gt / Gte and AnyLt / AnyLte / AnyGt / AnyGte (semantics: compile.ts header).
 * Constant operands get specialised closures; `$ref_new` operands share the generic *Test functions.
 */
import {
  MATCH_NONE, checkRef, condFail, listOperand, refName, scalarOperand, type CompiledFilter, type CondCtx, type Reader,
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

const CMP: Record<string, (a: number | string | boolean, b: number | string | boolean) => boolean> = {
  Lt: (a, b) => a < b,
  Lte: (a, b) => a <= b,
  Gt: (a, b) => a > b,
  Gte: (a, b) => a >= b,
};

export function compileCompare(c: CondCtx, get: Reader, operand: unknown, any: boolean): CompiledFilter {
  const base = any ? c.op.slice(3) : c.op;
  if (any) requireArrayAttr(c, `use ${base}`);
  else if (c.a.array === true) throw condFail(c, `the attribute is an array (${c.a.kind}[]); use Any${c.op} to compare its elements`);
  if (c.a.kind === 'bool') throw condFail(c, 'bool attributes cannot be ordered; use Eq');
  const cmp = CMP[base]!;
  const test = (v: unknown, x: unknown): boolean => {
    if (x === null || x === undefined) return false;
    const t = typeof x;
    if (Array.isArray(v)) {
      if (!any) return false;
      for (const e of v) if (typeof e === t && cmp(e, x as never)) return true;
      return false;
    }
    return typeof v === t && cmp(v as never, x as never);
  };
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: true });
    return (d, r) => test(get(d), rr(r));
  }
  const x = scalarOperand(c, operand, false);
  if (typeof x === 'boolean') throw condFail(c, 'booleans cannot be ordered; use Eq');
  if (!any && c.a.array === false) {
    const t = typeof x;
    // The common case (scalar attribute, constant operand), specialised per operator.
    switch (base) {
      case 'Lt':
        return (d) => { const v = get(d); return typeof v === t && (v as number) < (x as number); };
      case 'Lte':
        return (d) => { const v = get(d); return typeof v === t && (v as number) <= (x as number); };
      case 'Gt':
        return (d) => { const v = get(d); return typeof v === t && (v as number) > (x as number); };
      default:
        return (d) => { const v = get(d); return typeof v === t && (v as number) >= (x as number); };
    }
  }
  return (d) => test(get(d), x);
}
