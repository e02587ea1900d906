import { indexSpace } from '../crates-ts/ivf/index.js';
const N = 1000000, D = 128;
const data = new Float32Array(N * D); for (let i = 0; i < data.length; i++) data[i] = (i % 97) - 48;
for (let rep = 0; rep < 3; rep++) { const t = performance.now(); const o = indexSpace('cosine_distance', data, D); console.log('ms', (performance.now() - t).toFixed(0), o[5]); }
