import { fhtRotation, denseRotation, encodeCluster, QueryCodes, estimateCluster, meanInto } from '../crates-ts/ivf/index.js';
import { seededRandom, mixture } from '../crates-ts/ivf/testing.js';
const D = Number(process.argv[2] ?? 128);
for (const kind of ['fht2', 'fht3', 'fht4', 'dense']) {
  for (const dataKind of ['uniform', 'mixture']) {
    const r = seededRandom(5);
    const N = 2000;
    const data = dataKind === 'uniform' ? Float32Array.from({ length: N * D }, () => r() - 0.5) : mixture(N, D, r, 4, 0.35);
    const rot = kind === 'dense' ? denseRotation(D, r) : fhtRotation(D, r, Number(kind.slice(3)));
    const cent = new Float32Array(D);
    meanInto(data, D, Uint32Array.from({ length: N }, (_, i) => i), cent, 0);
    const rows = Uint32Array.from({ length: N }, (_, i) => i);
    const codes = encodeCluster(data, rows, cent, 0, rot, 0);
    const qc = new QueryCodes(rot);
    const est = new Float64Array(N), lo = new Float64Array(N);
    let inside = 0, total = 0, errSum = 0, errSq = 0, insideLo = 0;
    for (let qi = 0; qi < 50; qi++) {
      const q = dataKind === 'uniform' ? Float32Array.from({ length: D }, () => r() - 0.5) : data.slice(qi * D, qi * D + D).map((x) => x + 0.1 * (r() - 0.5));
      qc.set(q);
      let cd = 0, cs = 0;
      for (let d = 0; d < D; d++) cd += (q[d]! - cent[d]!) ** 2;
      // centroid rotated sum
      const buf = new Float64Array(rot.padded); rot.apply(cent, 0, buf); for (const x of buf) cs += x;
      estimateCluster(qc, codes, cd, cs, 1.9, 1, est, lo);
      for (let i = 0; i < N; i++) {
        let t = 0; for (let d = 0; d < D; d++) t += (q[d]! - data[i * D + d]!) ** 2;
        const b = est[i]! - lo[i]!;
        if (Math.abs(est[i]! - t) <= b) inside++;
        if (lo[i]! <= t) insideLo++;
        errSum += est[i]! - t; errSq += (est[i]! - t) ** 2; total++;
      }
    }
    console.log(D, kind, dataKind, 'coverage', (inside / total).toFixed(4), 'lower-bound holds', (insideLo / total).toFixed(4), 'mean err', (errSum / total).toFixed(4), 'rms err', Math.sqrt(errSq / total).toFixed(3));
  }
}
