import { buildClusters } from '../crates-ts/ivf/index.js';
import { mixture, seededRandom } from '../crates-ts/ivf/testing.js';
const which = process.argv[2];
let t = performance.now();
if (which === 'a') { const data = mixture(12000, 16, seededRandom(1), 40, 0.5); const c = buildClusters(data, 16, 12000, { random: seededRandom(2), targetSize: 100, minSize: 50, maxSize: 200, maxFlat: 16 }); console.log('a', c.k, performance.now() - t); }
if (which === 'few') { const c = buildClusters(mixture(30, 4, seededRandom(7)), 4, 30, { random: seededRandom(8), targetSize: 100, minSize: 50, maxSize: 200 }); console.log('few', c.k); }
if (which === 'same') { const same = new Float32Array(500 * 4).fill(1); const c = buildClusters(same, 4, 500, { random: seededRandom(9), targetSize: 100, minSize: 50, maxSize: 200 }); console.log('same', c.k); }
