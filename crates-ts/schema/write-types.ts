/** The validated form of a turbopuffer write request body (see parseWriteRequest). */
import type { AttrValue, DistanceMetric, Doc, Id, Schema, ShardingConfig } from '../core/index.js';

/** A patch: only the fields present in the request. `vector: null` / attr null remove the value. */
export interface PatchDoc {
  id: Id;
  vector?: Float32Array | null;
  attrs: Record<string, AttrValue>;
}

export interface WriteRequest {
  /** upsert_rows + upsert_columns in body key order, each in array order. Every id of upserts, patches and deletes is distinct. */
  upserts: Doc[];
  /** patch_rows + patch_columns, same ordering. */
  patches: PatchDoc[];
  deletes: Id[];
  deleteByFilter?: { filter: unknown; allowPartial: boolean };
  /** `patch.id` is unused (0). */
  patchByFilter?: { filter: unknown; patch: PatchDoc; allowPartial: boolean };
  /** Raw filters, compiled later. */
  upsertCondition?: unknown;
  patchCondition?: unknown;
  deleteCondition?: unknown;
  /** The metric this request sets (distance_metric or schema.vector.ann.distance_metric); undefined = keep. */
  distanceMetric?: DistanceMetric;
  /** `sharding` (RFC-0013): allowed only on the write that creates the namespace (or the same value again). */
  sharding?: ShardingConfig;
  /** Schema the namespace must have after this request: current merged with explicit `schema` and inferred types. */
  schema: Schema;
  /**
   * Only what this request adds or changes (explicit `schema` + inferred types). At commit time prefer
   * mergeSchema(latest, schemaUpdate) over mergeSchema(latest, schema): merging the full `schema` would undo an
   * option (filterable, full_text_search) another writer changed meanwhile.
   */
  schemaUpdate: Schema;
  /** True if `schema` differs from the current schema (the WAL entry must carry it). */
  schemaChanged: boolean;
  returnAffectedIds: boolean;
  disableBackpressure: boolean;
}
