/**
 * Resolves one validated write request against a namespace's state into full rows and deletes
 * (docs/ARCHITECTURE.md, write/). Order inside a request: delete_by_filter, patch_by_filter, then upserts, patches, deletes.
 *
 * Resolution reads through an overlay (changes made earlier in the same group commit) on top of the view, so
 * requests coalesced into one WAL entry see each other in arrival order. The documents filter-based writes match are
 * looked up beforehand (StateReader.filterMatches) and taken up to the limits of limits.ts.
 */
import { ElaxError, type Doc, type Id, type Schema, type DistanceMetric } from '../core/index.js';
import { compileFilter } from '../filter/index.js';
import { applyPatch, mergeSchema, validateDocAgainstSchema, type WriteRequest } from '../schema/index.js';
import type { WriteLimits } from './limits.js';

export interface StateReader {
  get(id: Id): Doc | undefined;
  /**
   * What this request's filter-based writes match, looked up (RFC-0004 §7) before planning against exactly the state
   * the request resolves on (the coordinator plans a request with a filter write first in its batch).
   */
  filterMatches(): FilterMatches;
}

export interface FilterMatches {
  /** Live ids delete_by_filter matches, in view order, at most its limit + 1 (one more: "more than the limit"). */
  deleteIds: readonly Id[];
  /** Live documents patch_by_filter matches that the request's delete_by_filter does not delete; at most limit + 1. */
  patchDocs: readonly Doc[];
}

export const NO_FILTER_MATCHES: FilterMatches = Object.freeze({ deleteIds: [], patchDocs: [] });

export interface Resolution {
  /** id → new full doc, or null for a delete. Insertion order = application order. */
  changes: Map<Id, Doc | null>;
  schema: Schema;
  distanceMetric: DistanceMetric | null;
  /** Affected ids, in application order (Sets: a delete by filter may name millions; arrays only if asked for). */
  upserted: ReadonlySet<Id>;
  patched: ReadonlySet<Id>;
  deleted: ReadonlySet<Id>;
  rowsRemaining: boolean;
}

export function resolveWrite(
  req: WriteRequest,
  base: StateReader,
  baseSchema: Schema,
  baseMetric: DistanceMetric | null,
  limits: WriteLimits,
): Resolution {
  // Another writer may have changed the schema since the request was validated: merge only what this request
  // adds or changes onto the newest schema (400 on conflict), so concurrent schema edits are not undone.
  const schema = mergeSchema(baseSchema, req.schemaUpdate);
  if (req.distanceMetric && baseMetric && req.distanceMetric !== baseMetric) {
    throw new ElaxError(
      'ELAX_ERR_INVALID_REQUEST',
      `distance_metric '${req.distanceMetric}' conflicts with the namespace's existing metric '${baseMetric}'`,
    );
  }
  const distanceMetric = req.distanceMetric ?? baseMetric;
  const changes = new Map<Id, Doc | null>();
  const get = (id: Id): Doc | undefined => {
    if (changes.has(id)) return changes.get(id) ?? undefined;
    return base.get(id);
  };
  const upserted = new Set<Id>();
  const patched = new Set<Id>();
  const deleted = new Set<Id>();
  let rowsRemaining = false;
  const put = (doc: Doc) => {
    changes.delete(doc.id); // keep insertion order = last change
    changes.set(doc.id, doc);
  };
  const remove = (id: Id) => {
    changes.delete(id);
    changes.set(id, null);
  };

  /**
   * How many of `found` matches the filter write takes: all up to the limit; above it a 400 that writes nothing, or
   * with allow_partial exactly the limit and rows_remaining (turbopuffer write docs, *_allow_partial).
   */
  const take = (found: number, limit: number, what: 'delete_by_filter' | 'patch_by_filter', allowPartial: boolean): number => {
    if (found <= limit) return found;
    if (!allowPartial) {
      const verb = what === 'delete_by_filter' ? 'delete' : 'patch';
      throw new ElaxError(
        'ELAX_ERR_FILTER_WRITE_LIMIT',
        `${what} matches more than ${limit} documents, the most one request may ${verb}; nothing was written. Set ${what}_allow_partial to ${verb} ${limit} per request and repeat while the response says rows_remaining: true`,
      );
    }
    rowsRemaining = true;
    return limit;
  };

  if (req.deleteByFilter) {
    // The matches were looked up leniently; compiling against the request's schema reports a bad filter (400).
    compileFilter(req.deleteByFilter.filter, schema, { path: 'delete_by_filter' });
    const ids = base.filterMatches().deleteIds;
    const n = take(ids.length, limits.deleteByFilterRows, 'delete_by_filter', req.deleteByFilter.allowPartial);
    for (let i = 0; i < n; i++) {
      remove(ids[i]!);
      deleted.add(ids[i]!);
    }
  }
  if (req.patchByFilter) {
    compileFilter(req.patchByFilter.filter, schema, { path: 'patch_by_filter.filters' });
    const patch = req.patchByFilter.patch;
    const docs = base.filterMatches().patchDocs;
    const n = take(docs.length, limits.patchByFilterRows, 'patch_by_filter', req.patchByFilter.allowPartial);
    for (let i = 0; i < n; i++) {
      const d = docs[i]!;
      const next = applyPatch(d, { ...patch, id: d.id });
      validateDocAgainstSchema(next, schema);
      put(next);
      patched.add(d.id);
    }
  }

  const upsertCond = req.upsertCondition !== undefined ? compileFilter(req.upsertCondition, schema, { path: 'upsert_condition', allowRefNew: true }) : null;
  for (const doc of req.upserts) {
    const existing = get(doc.id);
    // A condition guards replacing an existing document; inserting a new id always applies.
    if (upsertCond && existing && !upsertCond(existing, doc)) continue;
    validateDocAgainstSchema(doc, schema);
    put(doc);
    upserted.add(doc.id);
    deleted.delete(doc.id);
    patched.delete(doc.id); // patched by filter, then replaced: one upserted row
  }

  const patchCond = req.patchCondition !== undefined ? compileFilter(req.patchCondition, schema, { path: 'patch_condition', allowRefNew: true }) : null;
  for (const p of req.patches) {
    const existing = get(p.id);
    if (!existing) continue; // patches to missing ids are ignored
    const next = applyPatch(existing, p);
    if (patchCond && !patchCond(existing, next)) continue;
    validateDocAgainstSchema(next, schema);
    put(next);
    if (!upserted.has(p.id)) patched.add(p.id);
  }

  const deleteCond = req.deleteCondition !== undefined ? compileFilter(req.deleteCondition, schema, { path: 'delete_condition', allowRefNew: true }) : null;
  for (const id of req.deletes) {
    const existing = get(id);
    if (!existing) continue;
    if (deleteCond && !deleteCond(existing, { id, vector: null, attrs: {} })) continue;
    remove(id);
    deleted.add(id);
    upserted.delete(id);
    patched.delete(id);
  }

  return { changes, schema, distanceMetric, upserted, patched, deleted, rowsRemaining };
}
