import { describe, expect, it } from 'vitest';
import { indexSpace, indexSpaceOf } from './metric.js';
import { mixture, seededRandom } from './testing.js';

describe('index space', () => {
  it('should give indexSpace of the concatenated vectors, from views of other buffers', () => {
    const dims = 37;
    const n = 50;
    const data = mixture(n, dims, seededRandom(3), 2);
    data.fill(0, 7 * dims, 8 * dims); // a zero vector stays zero
    // The vectors as views at odd offsets of a larger (shared, as decoded WAL columns are) buffer.
    const backing = new Float32Array(new SharedArrayBuffer((n * dims + 5) * 4));
    backing.set(data, 5);
    const views = Array.from({ length: n }, (_, i) => backing.subarray(5 + i * dims, 5 + (i + 1) * dims));
    for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
      expect(indexSpaceOf(metric, views, dims)).toEqual(indexSpace(metric, data.slice(), dims));
    }
  });
});
