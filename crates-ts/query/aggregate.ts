/**
 * Aggregations over every document matching the filters (before any limit), per turbopuffer's query docs:
 *  - Count: matching documents. ["Count", attr]: matching documents whose attr is present and non-null.
 *  - Sum: sum of a numeric attribute over matching documents (missing/null contribute nothing; empty sum is 0).
 *  - group_by: one group per distinct group key; groups are ordered by key (null first, then values ascending,
 *    compared component by component) and at most `limit` are returned. A missing value groups under null.
 *    ForEachUnique puts a document in one group per distinct element of its array; a document whose array is
 *    missing or empty falls in the null group, so Count over groups never silently drops documents.
 */
import type { Doc } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { compareValues } from './compare.js';
import type { AggregateSpec, GroupKeySpec, ParsedQuery, QueryResultBody } from './types.js';

function readValue(doc: Doc, attr: string): unknown {
  if (attr === 'id') return doc.id;
  if (attr === 'vector') return doc.vector;
  return doc.attrs[attr];
}

/** Adds one document's contribution to the accumulators (one per spec). */
function accumulate(specs: readonly AggregateSpec[], acc: number[], doc: Doc): void {
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!;
    if (s.fn === 'count') acc[i]!++;
    else {
      const v = readValue(doc, s.attr);
      if (s.fn === 'count_attr') {
        if (v !== null && v !== undefined) acc[i]!++;
      } else if (typeof v === 'number') acc[i]! += v;
    }
  }
}

function keyComponents(doc: Doc, g: GroupKeySpec): unknown[] {
  const v = g.attr === 'id' ? doc.id : (doc.attrs[g.attr] ?? null);
  if (!g.forEachUnique) return [v];
  if (!Array.isArray(v)) return [v];
  if (v.length === 0) return [null];
  return [...new Set(v as unknown[])];
}

/** Every group key (a tuple of values) a document belongs to: the cross product of its key components. */
function groupKeys(doc: Doc, groupBy: readonly GroupKeySpec[]): unknown[][] {
  let keys: unknown[][] = [[]];
  for (const g of groupBy) {
    const comps = keyComponents(doc, g);
    if (comps.length === 1) {
      for (const k of keys) k.push(comps[0]);
      continue;
    }
    const next: unknown[][] = [];
    for (const k of keys) for (const c of comps) next.push([...k, c]);
    keys = next;
  }
  return keys;
}

function compareTuples(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Aggregations accumulated row by row (segments stream through it one after another: RFC-0004 §6); `result()` gives
 * the response. The rows passed must already be the filtered ones.
 */
export class AggregationState {
  private readonly specs: readonly AggregateSpec[];
  private readonly acc: number[];
  private readonly groupBy: readonly GroupKeySpec[] | null;
  private readonly single: string | null;
  private readonly groups = new Map<unknown, { key: unknown[]; acc: number[] }>();

  constructor(private readonly q: ParsedQuery) {
    this.specs = q.aggregates!;
    this.acc = new Array<number>(this.specs.length).fill(0);
    this.groupBy = q.groupBy;
    // Map keys: the raw value for the common single plain key (no per-document allocation), else the tuple's JSON.
    this.single = q.groupBy && q.groupBy.length === 1 && !q.groupBy[0]!.forEachUnique ? q.groupBy[0]!.attr : null;
  }

  private addToGroup(id: unknown, key: () => unknown[], doc: Doc): void {
    let g = this.groups.get(id);
    if (!g) {
      g = { key: key(), acc: new Array<number>(this.specs.length).fill(0) };
      this.groups.set(id, g);
    }
    accumulate(this.specs, g.acc, doc);
  }

  add(doc: Doc): void {
    if (this.groupBy === null) {
      accumulate(this.specs, this.acc, doc);
      return;
    }
    if (this.single !== null) {
      const v = this.single === 'id' ? doc.id : (doc.attrs[this.single] ?? null);
      this.addToGroup(v, () => [v], doc);
    } else {
      for (const key of groupKeys(doc, this.groupBy)) this.addToGroup(JSON.stringify(key), () => key, doc);
    }
  }

  /**
   * Adds `count` filtered rows at once (aggregations over bitmaps, RFC-0009 slice 5), all in the group of `value`
   * (a single plain group key; ignored without group_by). `addTo(spec, acc)` adds a Count attr / Sum spec's values of
   * those rows to `acc` one by one in ordinal order and returns it, so a float sum rounds exactly as add() would.
   */
  addCounted(value: unknown, count: number, addTo: (spec: AggregateSpec & { attr: string }, acc: number) => number): void {
    let acc = this.acc;
    if (this.groupBy !== null) {
      let g = this.groups.get(value);
      if (!g) {
        g = { key: [value], acc: new Array<number>(this.specs.length).fill(0) };
        this.groups.set(value, g);
      }
      acc = g.acc;
    }
    this.specs.forEach((s, i) => (acc[i] = s.fn === 'count' ? acc[i]! + count : addTo(s, acc[i]!)));
  }

  /** The single plain group key addCounted can take (null without group_by), or undefined when it cannot. */
  countedGroupKey(): string | null | undefined {
    if (this.groupBy === null) return null;
    return this.single !== null && this.single !== 'id' ? this.single : undefined;
  }

  result(): QueryResultBody {
    const specs = this.specs;
    if (this.groupBy === null) {
      const aggregations: Record<string, unknown> = {};
      specs.forEach((s, i) => (aggregations[s.label] = this.acc[i]));
      return { aggregations };
    }
    const groupBy = this.groupBy;
    const ordered = [...this.groups.values()].sort((a, b) => compareTuples(a.key, b.key)).slice(0, this.q.limit);
    const aggregation_groups = ordered.map((g) => {
      const out: Record<string, unknown> = {};
      groupBy.forEach((k, i) => (out[k.label] = g.key[i] ?? null));
      specs.forEach((s, i) => (out[s.label] = g.acc[i]));
      return out;
    });
    return { aggregation_groups };
  }
}

export function executeAggregation(q: ParsedQuery, docs: Iterable<Doc>): QueryResultBody {
  const filter: CompiledFilter | null = q.filter;
  const state = new AggregationState(q);
  for (const doc of docs) if (!filter || filter(doc)) state.add(doc);
  return state.result();
}
