/**
 * Resolves one validated write request against a namespace's state into full rows and deletes
 * (design.md §4.5). Order inside a request: delete_by_filter, patch_by_filter, then upserts, patches, deletes.
 *
 * Resolution reads through an overlay (changes made earlier in the same group commit) on top of the view, so
 * requests coalesced into one WAL entry see each other in arrival order.
 */
import { ElaxError, type Doc, type Id, type Schema, type DistanceMetric } from '../core/index.js';
import { compileFilter } from '../filter/index.js';
import { applyPatch, mergeSchema, validateDocAgainstSchema, type WriteRequest } from '../schema/index.js';

export interface StateReader {
  get(id: Id): Doc | undefined;
  /** Every live document (view + overlay), for filter-based writes. */
  scan(): Iterable<Doc>;
}

export interface ResolveLimits {
  /** Max documents one delete_by_filter / patch_by_filter may touch. */
  maxFilterRows: number;
}

export interface Resolution {
  /** id → new full doc, or null for a delete. Insertion order = application order. */
  changes: Map<Id, Doc | null>;
  schema: Schema;
  distanceMetric: DistanceMetric | null;
  upserted: Id[];
  patched: Id[];
  deleted: Id[];
  rowsRemaining: boolean;
}

export function resolveWrite(
  req: WriteRequest,
  base: StateReader,
  baseSchema: Schema,
  baseMetric: DistanceMetric | null,
  limits: ResolveLimits,
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
  function* scan(): Iterable<Doc> {
    for (const d of base.scan()) if (!changes.has(d.id)) yield d;
    for (const d of changes.values()) if (d) yield d;
  }
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

  const matchFilter = (filter: unknown, what: string, allowPartial: boolean): Doc[] => {
    const f = compileFilter(filter, schema, { path: what === 'patch_by_filter' ? 'patch_by_filter.filters' : what });
    const out: Doc[] = [];
    for (const d of scan()) {
      if (!f(d)) continue;
      if (out.length === limits.maxFilterRows) {
        if (!allowPartial) {
          throw new ElaxError(
            'ELAX_ERR_INVALID_REQUEST',
            `${what} matches more than ${limits.maxFilterRows} documents; set ${what}_allow_partial to process them in batches`,
          );
        }
        rowsRemaining = true;
        break;
      }
      out.push(d);
    }
    return out;
  };

  if (req.deleteByFilter) {
    for (const d of matchFilter(req.deleteByFilter.filter, 'delete_by_filter', req.deleteByFilter.allowPartial)) {
      remove(d.id);
      deleted.add(d.id);
    }
  }
  if (req.patchByFilter) {
    const patch = req.patchByFilter.patch;
    for (const d of matchFilter(req.patchByFilter.filter, 'patch_by_filter', req.patchByFilter.allowPartial)) {
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

  return {
    changes,
    schema,
    distanceMetric,
    upserted: [...upserted],
    patched: [...patched],
    deleted: [...deleted],
    rowsRemaining,
  };
}
