/**
 * Copies one namespace's objects from one store to another (a local directory to radosgw, usually), so that a
 * benchmark built once on the local store can measure cold reads against S3. WAL objects are skipped with
 * --skip-wal (an indexed namespace's queries read only the router, the codebook and the parts; the router's
 * indexed_wal says the WAL below it is not needed). --router-parts copies only what the source's router.json names: the
 * router, its vindex codebook, its parts, and the WAL above its indexed position (a store not yet garbage-collected
 * also holds retired parts and old codebooks, often several times the live bytes).
 *
 *   node bin/run-ts.mjs bench/copy-store.ts --from /tmp/elax-bench-v2-10000000-128-ivf --to s3://elax-test/bench-10m \
 *        --ns bench [--skip-wal] [--router-parts] [--concurrency 8]
 *
 * The s3:// side needs ELAX_S3_ENDPOINT (and the test credentials: eval "$(scripts/s3-test-server.sh env)").
 */
import { parseArgs } from 'node:util';
import { openStore } from '../crates-ts/store/index.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    ns: { type: 'string', default: 'bench' },
    'skip-wal': { type: 'boolean', default: false },
    'router-parts': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '8' },
  },
});
if (!values.from || !values.to) throw new Error('--from and --to are required');
const from = await openStore(values.from);
const to = await openStore(values.to);
const ns = values.ns!;
let wanted = (key: string) => !(values['skip-wal'] && key.startsWith(`${ns}/wal/`));
if (values['router-parts']) {
  const raw = await from.get(`${ns}/router.json`);
  if (!raw) throw new Error(`${values.from} has no ${ns}/router.json`);
  const router = JSON.parse(new TextDecoder().decode(raw.bytes)) as { indexed_wal: number; parts: { id: string }[]; vindex?: { codebook: string } };
  const parts = new Set(router.parts.map((p) => p.id));
  wanted = (key) => {
    const rest = key.slice(ns.length + 1);
    if (rest === 'router.json') return true;
    if (rest.startsWith('parts/')) return parts.has(rest.split('/')[1]!);
    if (rest.startsWith('vindex/')) return rest === `vindex/${router.vindex?.codebook}`;
    // WAL entries are <seq>.parquet; those at or below indexed_wal are in the parts.
    if (rest.startsWith('wal/')) return !values['skip-wal'] && Number.parseInt(rest.slice(4), 10) > router.indexed_wal;
    return true;
  };
}
const keys = (await from.list(`${ns}/`)).objects.filter((o) => wanted(o.key));
// The router last: a reader that finds it finds everything it names.
keys.sort((a, b) => Number(a.key.endsWith('/router.json')) - Number(b.key.endsWith('/router.json')));
const t0 = performance.now();
let bytes = 0;
let next = 0;
const routerAt = keys.findIndex((o) => o.key.endsWith('/router.json'));
const copyOne = async (i: number) => {
  const got = await from.get(keys[i]!.key);
  if (!got) throw new Error(`${keys[i]!.key} vanished`);
  await to.put(keys[i]!.key, got.bytes);
  bytes += got.bytes.byteLength;
};
const body = routerAt < 0 ? keys.length : routerAt;
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    for (let i = next++; i < body; i = next++) await copyOne(i);
  }),
);
for (let i = body; i < keys.length; i++) await copyOne(i);
console.log(`copied ${keys.length} objects, ${(bytes / 2 ** 20).toFixed(0)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await from.close();
await to.close();
