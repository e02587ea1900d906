/** The schema as the turbopuffer API returns it (GET/POST /namespaces/:ns/schema, metadata). */
import type { DistanceMetric, Schema } from '../core/index.js';
import { canonicalAttr, isVectorType } from './merge.js';

/**
 * turbopuffer's schema response shape (the client's AttributeSchemaConfig): every attribute as a config object with
 * `filterable` and the options that are on (`full_text_search` with every parameter, `regex`, `glob`). `vector.ann`
 * shows the metric when known (from the schema, else from `distanceMetric`). Writing the response back as a schema
 * changes nothing. Returned objects are fresh (safe to mutate/serialise).
 */
export function renderSchemaForResponse(schema: Schema, distanceMetric?: DistanceMetric | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) {
    const a = schema[name]!;
    if (name === 'id') {
      out[name] = { type: a.type, filterable: true };
    } else if (name === 'vector' || isVectorType(a.type)) {
      // Another vector column (RFC-0014) reads back like `vector`, with its own metric when set, else the namespace's.
      let ann: unknown = a.ann ?? true;
      if (ann === true && distanceMetric) ann = { distance_metric: distanceMetric };
      else if (typeof ann === 'object' && ann !== null) ann = { ...ann };
      out[name] = { type: a.type, ann };
    } else {
      // Every option that is on, with the defaults filled (canonicalAttr): what was set reads back as set.
      const c = canonicalAttr(name, a);
      const r: Record<string, unknown> = { type: c.type, filterable: c.filterable };
      if (c.full_text_search) r.full_text_search = { ...c.full_text_search };
      if (c.regex) r.regex = true;
      if (c.glob) r.glob = true;
      if (c.fuzzy) r.fuzzy = true;
      if (c.sparse_knn) r.sparse_knn = { ...c.sparse_knn };
      if (typeof c.ann === 'object' && c.ann !== null) r.ann = { ...c.ann };
      out[name] = r;
    }
  }
  return out;
}
