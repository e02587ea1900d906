/** The schema as the turbopuffer API returns it (GET/POST /namespaces/:ns/schema, metadata). */
import type { DistanceMetric, Schema } from '../core/index.js';

/**
 * turbopuffer's schema response shape: every attribute as a config object. `vector.ann` shows the metric when
 * known (from the schema, else from `distanceMetric`). Returned objects are fresh (safe to mutate/serialise).
 */
export function renderSchemaForResponse(schema: Schema, distanceMetric?: DistanceMetric | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) {
    const a = schema[name]!;
    if (name === 'id') {
      out[name] = { type: a.type, filterable: true };
    } else if (name === 'vector') {
      let ann: unknown = a.ann ?? true;
      if (ann === true && distanceMetric) ann = { distance_metric: distanceMetric };
      else if (typeof ann === 'object' && ann !== null) ann = { ...ann };
      out[name] = { type: a.type, ann };
    } else {
      const fts = typeof a.full_text_search === 'object' && a.full_text_search !== null;
      const r: Record<string, unknown> = { type: a.type, filterable: a.filterable ?? !fts };
      if (fts) r.full_text_search = { ...(a.full_text_search as object) };
      out[name] = r;
    }
  }
  return out;
}
