import * as pq from 'parquet-wasm';
import * as arrow from 'apache-arrow';
const n = 1000, dims = 128;
const vec = new Float32Array(n*dims); for (let i = 0; i < vec.length; i++) vec[i] = Math.round((Math.random()*2-1)*1e6)/1e6;
const type = new arrow.FixedSizeList(dims, new arrow.Field('item', new arrow.Float32(), false));
const child = arrow.makeData({ type: new arrow.Float32(), length: n * dims, data: vec });
const t = new arrow.Table({ op: arrow.vectorFromArray(Array(n).fill('upsert'), new arrow.Utf8()), id: arrow.vectorFromArray(Array.from({length:n},(_, i)=>String(i)), new arrow.Utf8()), vector: arrow.makeVector(arrow.makeData({ type, length: n, nullCount: 0, child })), attrs: arrow.vectorFromArray(Array.from({length:n},(_, i)=>JSON.stringify({category:`c${i%10}`, n:i})), new arrow.Utf8()) });
const ipc = arrow.tableToIPC(t, 'stream');
function time(label: string, f: () => any, reps = 30) { f(); const s = performance.now(); let r; for (let i = 0; i < reps; i++) r = f(); console.log(label.padEnd(40), ((performance.now()-s)/reps).toFixed(2), 'ms', r?.length ?? ''); return r; }
const variants: Record<string, () => any> = {
  'zstd (current)': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build(),
  'zstd, no dict': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).build(),
  'zstd, no dict on vector': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setColumnDictionaryEnabled('vector.list.item', false).build(),
  'zstd, no dict/stats on vector': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setColumnDictionaryEnabled('vector.list.item', false).setColumnStatisticsEnabled('vector.list.item', pq.EnabledStatistics.None).build(),
  'zstd; vector raw no dict/stats': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setColumnDictionaryEnabled('vector.list.item', false).setColumnStatisticsEnabled('vector.list.item', pq.EnabledStatistics.None).setColumnCompression('vector.list.item', pq.Compression.UNCOMPRESSED).build(),
  'zstd; vector lz4 no dict/stats': () => new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setColumnDictionaryEnabled('vector.list.item', false).setColumnStatisticsEnabled('vector.list.item', pq.EnabledStatistics.None).setColumnCompression('vector.list.item', pq.Compression.LZ4_RAW).build(),
};
for (const [k, mk] of Object.entries(variants)) {
  const bytes = time(k, () => pq.writeParquet(pq.Table.fromIPCStream(ipc), mk()));
  const back = arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
  time('  read', () => arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream()));
  const md = pq.readParquet; 
  if ((back.getChild('vector')!.get(5) as any).get(3) !== vec[5*dims+3]) throw new Error('mismatch');
}
for (const name of ['vector', 'vector.item', 'vector.list.item', 'vector.list.element', 'vector.element']) {
  const b = pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setColumnDictionaryEnabled(name, false).build());
  console.log(name, b.length);
}
time('nodict, op dict', () => pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).setColumnDictionaryEnabled('op', true).build()));
time('nodict, op dict, no stats', () => pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).setColumnDictionaryEnabled('op', true).setStatisticsEnabled(pq.EnabledStatistics.None).build()));
time('nodict, lz4', () => pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.LZ4_RAW).setDictionaryEnabled(false).setColumnDictionaryEnabled('op', true).build()));
time('nodict, zstd level 1', () => pq.writeParquet(pq.Table.fromIPCStream(ipc), new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).setColumnDictionaryEnabled('op', true).build()));
