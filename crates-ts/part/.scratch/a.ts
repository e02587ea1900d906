import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import hnswlib from 'hnswlib-node';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const n = 40000;
const strs = Array.from({length: n}, (_, i) => i % 3 === 0 ? null : `s${i}`);
const nums = Array.from({length: n}, (_, i) => i % 4 === 0 ? null : i * 1.5);
const lists = Array.from({length: n}, (_, i) => i % 5 === 0 ? null : i % 5 === 1 ? [] : [`a${i}`, 'b']);
const numLists = Array.from({length: n}, (_, i) => i % 5 === 0 ? null : [i, i+1]);
const bools = Array.from({length: n}, (_, i) => i % 3 === 0 ? null : i % 2 === 0);
let t0 = performance.now();
const cols: Record<string, arrow.Vector> = {
  s: arrow.vectorFromArray(strs, new arrow.Utf8()),
  f: arrow.vectorFromArray(nums, new arrow.Float64()),
  b: arrow.vectorFromArray(bools, new arrow.Bool()),
  l: arrow.vectorFromArray(lists, new arrow.List(new arrow.Field('item', new arrow.Utf8(), true))),
  ln: arrow.vectorFromArray(numLists, new arrow.List(new arrow.Field('item', new arrow.Float64(), true))),
  seq: arrow.makeVector(arrow.makeData({type: new arrow.Uint64(), length: n, data: BigUint64Array.from({length: n}, (_, i) => BigInt(i))})),
};
const table = new arrow.Table(cols);
console.log('build arrow', performance.now() - t0);
t0 = performance.now();
const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setMaxRowGroupSize(16384).build();
const bytes = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
console.log('write', performance.now() - t0, bytes.length);
t0 = performance.now();
const back = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
console.log('read', performance.now() - t0, back.batches.length, back.schema.fields.map(f => `${f.name}:${f.type}`));
const s = back.getChild('s')!; const f = back.getChild('f')!; const l = back.getChild('l')!; const ln = back.getChild('ln')!; const b = back.getChild('b')!;
const itS = [...s], itF = [...f], itL = [...l], itB=[...b];
console.log(itS.slice(0,4), itF.slice(0,5), itB.slice(0,4), itL.slice(0,3).map(x => x === null ? null : [...x]), [...ln].slice(0,2).map(x => x === null ? null : x.toArray()));
console.log(back.getChild('seq')!.data[0].values.constructor.name, back.getChild('seq')!.get(5));
// empty
const empty = new arrow.Table({ id: arrow.vectorFromArray([] as string[], new arrow.Utf8()) });
const eb = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(empty, 'stream')), props);
console.log('empty', eb.length, arrow.tableFromIPC(pq.readParquet(eb).intoIPCStream()).numRows);
const pf = await pq.ParquetFile.fromFile(new Blob([bytes]));
console.log('rowgroups', pf.metadata().numRowGroups());

// hnsw
const dims = 8;
for (const space of ['l2', 'cosine'] as const) {
  const files: string[] = [];
  for (let rep = 0; rep < 2; rep++) {
    const idx = new hnswlib.HierarchicalNSW(space, dims);
    idx.initIndex({ maxElements: 100, m: 16, efConstruction: 100, randomSeed: 42 });
    let seed = 1;
    const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
    for (let i = 0; i < 100; i++) idx.addPoint(Array.from({length: dims}, rnd), i * 2);
    const dir = mkdtempSync(join(tmpdir(), 'elax-hnsw-'));
    idx.writeIndexSync(join(dir, 'x'));
    const by = readFileSync(join(dir, 'x'));
    files.push(createHash('sha256').update(by).digest('hex'));
    rmSync(dir, { recursive: true });
    const q = [1, 0, 0, 0, 0, 0, 0, 0.5];
    const r = idx.searchKnn(q, 3, (l) => l % 4 === 0);
    const p = idx.getPoint(r.neighbors[0]);
    const d2 = p.reduce((s, x, i) => s + (x - q[i])**2, 0);
    const qn = Math.hypot(...q); const pn = Math.hypot(...p);
    console.log(space, r, 'exact l2sq', d2, 'cos', 1 - p.reduce((s, x, i) => s + x*q[i], 0)/qn/pn, by.length);
  }
  console.log('deterministic', files[0] === files[1]);
}
