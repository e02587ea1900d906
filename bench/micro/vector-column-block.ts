/**
 * A 64-d vector column's blocks (RFC-0014 §4): encode / decode time and size of json blocks (slices 1–3) against
 * kind-7 fixed-stride blocks, 256 rows a block, values as writes store them (each the shortest decimal of its f32).
 *
 *   node bin/run-ts.mjs bench/micro/vector-column-block.ts [--rows 20000] [--dims 64]
 */
import { parseArgs } from 'node:util';
import { ColumnBlock, encodeColumnBlock } from '../../crates-ts/part/column-block.js';
import { f32ToJsonNumber } from '../../crates-ts/query/vector-codec.js';
import { machine, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, dims: { type: 'string', default: '64' } } });
const N = Number(values.rows);
const DIMS = Number(values.dims);
const r = rng(7);
const rows = Array.from({ length: N }, () => Array.from({ length: DIMS }, () => f32ToJsonNumber(Math.fround(r() * 2 - 1))));
console.log(`${machine()}; ${N} rows × ${DIMS} dims, blocks of 256 rows, best of 3`);
console.log('| kind | encode ms | decode ms | bytes |\n|---|---:|---:|---:|');
for (const kind of ['json', 'fvec'] as const) {
  let enc = Infinity;
  let dec = Infinity;
  let bytes = 0;
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < N; i += 256) blocks.push(encodeColumnBlock(rows.slice(i, i + 256), kind));
    enc = Math.min(enc, performance.now() - t);
    t = performance.now();
    let n = 0;
    for (const b of blocks) n += ColumnBlock.decode(b, 'bench').rows;
    dec = Math.min(dec, performance.now() - t);
    if (n !== N) throw new Error('rows lost');
    bytes = blocks.reduce((a, b) => a + b.byteLength, 0);
  }
  console.log(`| ${kind} | ${enc.toFixed(0)} | ${dec.toFixed(1)} | ${bytes} |`);
}
