import { TailSegment } from '../../crates-ts/namespace/tail-segment.js';
const N = 60000, D = 128;
const docs = Array.from({ length: N }, (_, i) => ({ id: i, vector: Float32Array.from({ length: D }, () => Math.random()), attrs: { category: `c${i % 10}` } }));
for (let rep = 0; rep < 5; rep++) {
  const t = new TailSegment();
  const s = performance.now();
  for (const d of docs) t.upsert(d as any);
  console.log('upsert', N, ((performance.now() - s) * 1000 / N).toFixed(2), 'µs/row');
}
