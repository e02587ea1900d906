/**
 * One 128-d vector per WordNet gloss: fasttext skip-gram trained on the glosses themselves, then
 * `print-sentence-vectors` (the mean of the gloss's normalized word vectors). Real, clustered, non-uniform vectors
 * for the ANN benchmark, paired with the same documents the full-text benchmark uses.
 *
 *   apt-get install -y fasttext                          # Debian fasttext 0.9.2
 *   node bin/run-ts.mjs bench/data/wordnet-vectors.ts    # about 2 min on 2 cores the first time, then cached
 *
 * Cache (outside git, bench/.cache/): wordnet-ft.bin (the model, ~1 GB: 2M hashed subword buckets × 128),
 * wordnet-vectors.f32 (N × 128 little-endian float32, in loadWordnet() order) and wordnet-vectors.ids.json.
 * Training uses 2 threads, so the vectors are not bit-reproducible run to run (fasttext only is with -thread 1);
 * the cache keeps one run's vectors fixed for all later benchmarks.
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { CACHE_DIR, glossFile, loadWordnet } from './wordnet.js';
import { isMain } from '../lib.js';

export const DIMS = 128;
const MODEL = path.join(CACHE_DIR, 'wordnet-ft');
const VEC_FILE = path.join(CACHE_DIR, 'wordnet-vectors.f32');
const IDS_FILE = path.join(CACHE_DIR, 'wordnet-vectors.ids.json');

export interface VectorSet {
  ids: string[];
  dims: number;
  /** ids.length × dims, row-major. */
  data: Float32Array;
}

function fasttext(args: string[]): void {
  const r = spawnSync('fasttext', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`cannot run fasttext (install it: apt-get install -y fasttext): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`fasttext ${args[0]} exited with ${r.status}`);
}

/** Trains the model (if absent) and writes the per-gloss vectors to the cache. */
async function build(): Promise<void> {
  const synsets = loadWordnet();
  const input = glossFile(synsets);
  if (!existsSync(`${MODEL}.bin`)) {
    const t = performance.now();
    fasttext(['skipgram', '-input', input, '-output', MODEL, '-dim', String(DIMS), '-epoch', '5', '-minCount', '3', '-thread', '2', '-verbose', '1']);
    console.log(`fasttext skipgram: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const t = performance.now();
  const child = spawn('fasttext', ['print-sentence-vectors', `${MODEL}.bin`], { stdio: ['pipe', 'pipe', 'inherit'] });
  createReadStream(input).pipe(child.stdin!);
  const data = new Float32Array(synsets.length * DIMS);
  let row = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    const parts = line.trim().split(' ');
    // One vector per input line; guard against fasttext echoing words or changing the line count.
    if (parts.length !== DIMS) throw new Error(`print-sentence-vectors line ${row + 1}: ${parts.length} fields, expected ${DIMS}`);
    if (row >= synsets.length) throw new Error(`print-sentence-vectors printed more lines than the ${synsets.length} glosses`);
    for (let d = 0; d < DIMS; d++) data[row * DIMS + d] = Number(parts[d]);
    row++;
  }
  if (row !== synsets.length) throw new Error(`print-sentence-vectors printed ${row} vectors for ${synsets.length} glosses`);
  for (let i = 0; i < row; i++) {
    let n = 0;
    for (let d = 0; d < DIMS; d++) n += data[i * DIMS + d]! ** 2;
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`gloss ${synsets[i]!.id} got a zero or non-finite vector`);
  }
  writeFileSync(VEC_FILE, new Uint8Array(data.buffer));
  writeFileSync(IDS_FILE, JSON.stringify(synsets.map((s) => s.id)));
  console.log(`print-sentence-vectors: ${row} vectors in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** The cached vectors, building them first if needed. */
export async function loadWordnetVectors(): Promise<VectorSet> {
  if (!existsSync(VEC_FILE) || !existsSync(IDS_FILE)) await build();
  const ids = JSON.parse(readFileSync(IDS_FILE, 'utf8')) as string[];
  const buf = readFileSync(VEC_FILE);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (data.length !== ids.length * DIMS) throw new Error(`${VEC_FILE}: ${data.length} floats for ${ids.length} ids × ${DIMS}; delete it to rebuild`);
  return { ids, dims: DIMS, data };
}

if (isMain(import.meta.url)) {
  const v = await loadWordnetVectors();
  console.log(JSON.stringify({ vectors: v.ids.length, dims: v.dims, file: VEC_FILE }));
}
