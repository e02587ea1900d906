/**
 * When does a write bring a namespace into existence? When it changes something: it writes rows, or it declares
 * a schema, a distance metric or its sharding. A request whose operations all turn out to be no-ops against a namespace that does
 * not exist (`{}`, empty row lists, deletes and patches of missing ids, filter writes matching nothing) creates
 * nothing (docs/api.md, "Empty writes").
 *
 * The parsed request does not say which schema entries were declared and which were inferred from its values, so
 * the inferred ones are recognised here: a bare `{type}` for `id` when the request names ids in deletes or patches,
 * and for an attribute a patch sets. Those types describe operations that did nothing; anything else in the
 * schema update (an attribute no operation names, or any option besides the type) was declared.
 */
import type { WriteRequest } from '../schema/index.js';

export function declaresSchemaOrMetric(req: WriteRequest): boolean {
  if (req.distanceMetric !== undefined || req.sharding !== undefined) return true;
  const inferable = new Set<string>();
  if (req.deletes.length > 0 || req.patches.length > 0) inferable.add('id');
  for (const p of req.patches) for (const k of Object.keys(p.attrs)) inferable.add(k);
  for (const k of Object.keys(req.patchByFilter?.patch.attrs ?? {})) inferable.add(k);
  for (const [name, attr] of Object.entries(req.schemaUpdate)) {
    if (!inferable.has(name) || Object.keys(attr).some((k) => k !== 'type')) return true;
  }
  return false;
}
