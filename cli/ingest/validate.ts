/**
 * --dry-run: a stand-in for the server's write endpoint that validates instead of writing. It runs the server's
 * own parser (parseWriteRequest) on exactly the body that would be sent, against the namespace's schema fetched
 * once and then evolved the way the server would evolve it (types inferred by accepted requests), so dry-run and
 * a real run accept and reject the same rows with the same messages. Chunks are validated in order.
 */
import { isElaxError, type AttributeSchema, type DistanceMetric, type Schema } from '../../crates-ts/core/index.js';
import { parseWriteRequest } from '../../crates-ts/schema/index.js';
import { IngestAbort, isRequestLevel, type SendOutcome } from './http.js';

/** The schema endpoint's rendering → the Schema the parser works with, and the metric recorded on `vector`. */
export function schemaFromApi(rendered: Record<string, unknown> | null): { schema: Schema; metric: DistanceMetric | null } {
  const schema: Schema = {};
  for (const [name, v] of Object.entries(rendered ?? {})) {
    if (typeof v === 'string') {
      schema[name] = { type: v };
      continue;
    }
    const a = v as AttributeSchema;
    const out: AttributeSchema = { type: a.type };
    if (a.filterable !== undefined) out.filterable = a.filterable;
    if (a.full_text_search !== undefined) out.full_text_search = a.full_text_search;
    if (a.ann !== undefined) out.ann = a.ann;
    schema[name] = out;
  }
  const ann = schema.vector?.ann;
  const metric = typeof ann === 'object' && ann !== null && ann.distance_metric ? ann.distance_metric : null;
  return { schema, metric };
}

export class DryRunValidator {
  private schema: Schema;
  private metric: DistanceMetric | null;

  constructor(rendered: Record<string, unknown> | null) {
    ({ schema: this.schema, metric: this.metric } = schemaFromApi(rendered));
  }

  async send(body: Buffer): Promise<SendOutcome> {
    try {
      const req = parseWriteRequest(JSON.parse(body.toString('utf8')), { schema: this.schema, distanceMetric: this.metric });
      this.schema = req.schema;
      if (req.distanceMetric) this.metric = req.distanceMetric;
      return { kind: 'ok', deduplicated: false };
    } catch (e) {
      if (!isElaxError(e) || e.kind !== 'invalid') throw e;
      if (isRequestLevel(e.status, e.message, e.code)) throw new IngestAbort(`the server would refuse every write (${e.code}): ${e.message}`, e.status, e.code);
      return { kind: 'rejected', status: e.status, message: e.message, code: e.code };
    }
  }
}
