/**
 * What parsing a large write body costs, in process (issue 17, schema/json-pieces.ts): A = the whole text decoded
 * into one string then JSON.parse (a string over ≈ 128 KiB is fresh large-object memory, page-faulted in each time),
 * B = parseJsonBytes (in pieces of at most 32 KiB). Bodies as bench/write-throughput.ts makes them: `--rows` rows of
 * 128-d vectors as base64 (≈ 725 KB for 1,000 rows) and as JSON numbers (≈ 1.3 MB). Each round runs `--iters`
 * parses of A then of B (alternating rounds, `--rounds` of them): ms per parse and minor page faults per parse
 * (/proc/self/stat field 10), median and best round. Also with packVectors (what the pool task 'json-parse' returns),
 * and C = parseJsonBytesPacked, which reads JSON float vectors without JSON.parse (schema/json-floats.ts). `json-f32`
 * bodies print each number as an f32 in full (17 digits, as a client sending float32 values does).
 *
 *   node bin/run-ts.mjs bench/micro/json-body.ts [--rows 1000] [--iters 100] [--rounds 6]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeJsonText, packVectors, parseJsonBytes, parseJsonBytesPacked, parseJsonText } from '../../crates-ts/schema/json-body.js';
import { machine, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000' }, iters: { type: 'string', default: '100' }, rounds: { type: 'string', default: '6' } } });
const ROWS = Number(values.rows);
const ITERS = Number(values.iters);
const ROUNDS = Number(values.rounds);
const D = 128;
const rand = rng(17);

function body(encoding: 'base64' | 'json' | 'json-f32'): Buffer {
  const rows = [];
  for (let i = 0; i < ROWS; i++) {
    const v = new Array<number>(D);
    for (let d = 0; d < D; d++) v[d] = encoding === 'json-f32' ? Math.fround(rand() * 2 - 1) : Math.round((rand() * 2 - 1) * 1e6) / 1e6;
    const vector = encoding === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    rows.push({ id: i, vector, category: `c${i % 10}`, n: i });
  }
  return Buffer.from(JSON.stringify({ upsert_rows: rows, distance_metric: 'cosine_distance' }));
}

const minorFaults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);

const whole = (b: Buffer) => parseJsonText(decodeJsonText(b, b.length));
const pieces = (b: Buffer) => parseJsonBytes(b, b.length);
const packed = (b: Buffer) => parseJsonBytesPacked(b, b.length);

function round(f: (b: Buffer) => unknown, b: Buffer, pack: boolean): { ms: number; faults: number } {
  const f0 = minorFaults();
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) {
    const v = f(b);
    if (pack) packVectors(v);
  }
  const ms = (performance.now() - t0) / ITERS;
  return { ms, faults: (minorFaults() - f0) / ITERS };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const best = (xs: number[]) => Math.min(...xs);

console.log(`json-body micro bench: ${machine()}, ${ROWS} rows × ${D}-d, ${ITERS} parses per round, ${ROUNDS} rounds A B alternating`);
for (const encoding of ['base64', 'json', 'json-f32'] as const) {
  const b = body(encoding);
  for (const pack of [false, true]) {
    for (let w = 0; w < 3; w++) round(whole, b, pack), round(pieces, b, pack); // warm-up
    const a = { ms: [] as number[], faults: [] as number[] };
    const bb = { ms: [] as number[], faults: [] as number[] };
    const c = { ms: [] as number[], faults: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const x = round(whole, b, pack);
      a.ms.push(x.ms), a.faults.push(x.faults);
      const y = round(pieces, b, pack);
      bb.ms.push(y.ms), bb.faults.push(y.faults);
      if (!pack) continue;
      const z = round(packed, b, false);
      c.ms.push(z.ms), c.faults.push(z.faults);
    }
    const line = (name: string, s: typeof a) => `${name} ${median(s.ms).toFixed(3)} ms (best ${best(s.ms).toFixed(3)}), ${median(s.faults).toFixed(1)} faults/parse (best ${best(s.faults).toFixed(1)})`;
    console.log(`${encoding} body ${(b.length / 1000).toFixed(0)} KB${pack ? ' + packVectors' : ''}: ${line('A whole', a)} | ${line('B pieces', bb)}${pack ? ` | ${line('C parseJsonBytesPacked', c)}` : ''}`);
  }
}
