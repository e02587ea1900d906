/**
 * A namespace made of one built part, published directly (no WAL, no indexer): for tests and fixtures of part
 * formats the indexer does not write yet (format 3, RFC-0008). Uploads the part, then the codebook it was built
 * against (the namespace has no other), then creates the router (epoch 0) and publishes the part (epoch 1) through RouterStore,
 * so every router invariant is checked as on any publish.
 */
import type { BuiltPart } from '../../crates-ts/part/index.js';
import { buildPartFiles, newPartId, uploadPart } from '../../crates-ts/part/index.js';
import type { DistanceMetric, Doc, Id, Schema } from '../../crates-ts/core/index.js';
import { RouterStore, type Router } from '../../crates-ts/router/index.js';
import type { ObjectStore } from '../../crates-ts/store/index.js';
import { writeCodebook } from '../../crates-ts/vindex/index.js';

export async function publishBuiltPart(store: ObjectStore, built: BuiltPart, nonce = 'fixture'): Promise<Router> {
  const m = built.manifest;
  const ns = m.namespace;
  await uploadPart(store, built);
  const vindex = built.codebook ? await writeCodebook(store, ns, built.codebook.codebook, nonce) : undefined; // changed or not: the namespace has no other
  const routers = new RouterStore(store);
  const r0 = RouterStore.initial(ns, m.wal_start, m.created_at);
  if (!(await routers.create(r0)).ok) throw new Error(`router of ${ns} exists already`);
  const ref = {
    id: m.part_id,
    wal_start: m.wal_start,
    wal_end: m.wal_end,
    rows: m.rows,
    bytes: built.files.reduce((s, f) => s + f.bytes.byteLength, 0),
    level: m.level,
    created_at: m.created_at,
    index_kind: m.index.kind,
  };
  const r1 = RouterStore.next(r0, { indexed_wal: m.wal_end, parts: [ref], schema: m.schema, distance_metric: m.distance_metric, ...(vindex ? { vindex } : {}) }, m.created_at);
  const read = (await routers.read(ns))!;
  if (!(await routers.publish(read.router, read.witness, r1)).ok) throw new Error(`router of ${ns} changed meanwhile`);
  return r1;
}

/**
 * A namespace of one format-3 part over `rows` (WAL 1..4), trained on them with clusters of about `targetSize` rows
 * (min half of it, max twice): the IVF tests' common setup.
 */
export async function publishIvfPart(store: ObjectStore, ns: string, rows: readonly Doc[], o: { schema: Schema; metric: DistanceMetric; targetSize: number }): Promise<Router> {
  const changes = new Map<Id, Doc | null>(rows.map((d) => [d.id, d]));
  const built = await buildPartFiles({
    namespace: ns,
    partId: newPartId(1, 4, ns),
    walStart: 1,
    walEnd: 4,
    level: 0,
    changes,
    schema: o.schema,
    distanceMetric: o.metric,
    createdAt: '2026-12-05T00:00:00.000Z',
    vectorIndex: { kind: 'ivf', codebook: null, targetSize: o.targetSize, minSize: o.targetSize / 2, maxSize: o.targetSize * 2 },
  });
  return publishBuiltPart(store, built);
}
