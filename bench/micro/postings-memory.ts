/**
 * What an open postings file costs in memory, measured, against what the BlockCache is told (PostingsFile.memoryBytes,
 * crates-ts/fts/postings.ts) and against the estimate it replaced (min(file bytes, 4 MiB) × 3).
 *
 *   node --expose-gc bin/run-ts.mjs bench/micro/postings-memory.ts [--rows 240000] [--copies 8] [--queries 40]
 *
 * A part of `rows` rows like bench/engine-v2.ts's (8 words drawn from Zipf(1.07) over 20,000 words) is built by the
 * part builder (format 2), and its fts-0.postings opened `copies` times, whole (as files under 4 MiB are) and by
 * ranges (as larger ones are), in three steps: opened (dictionary bytes), after the first lookup (term strings
 * decoded), after `queries` queries of 1–2 words (their lists fetched and decoded). After each step, with the heap
 * collected, the growth of V8's heap and of array buffers per copy is printed beside memoryBytes().
 */
import { parseArgs } from 'node:util';
import { buildPartFiles } from '../../crates-ts/part/index.js';
import { neededLists, normalizeFullTextConfig, PostingsFile } from '../../crates-ts/fts/index.js';
import type { Doc } from '../../crates-ts/core/index.js';
import { machine, rng } from '../lib.js';
import { zipfSampler, zipfWord } from '../data/zipf.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '240000' }, copies: { type: 'string', default: '8' }, queries: { type: 'string', default: '40' } },
});
const ROWS = Number(values.rows);
const COPIES = Number(values.copies);
const QUERIES = Number(values.queries);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const rand = rng(1);
const word = zipfSampler(20_000, 1.07, rand);
const changes = new Map<number, Doc>();
for (let i = 0; i < ROWS; i++) changes.set(i, { id: i, vector: null, attrs: { text: Array.from({ length: 8 }, () => zipfWord(word())).join(' ') } });
const built = await buildPartFiles({
  namespace: 'bench',
  partId: 'p',
  walStart: 1,
  walEnd: 1,
  level: 0,
  changes,
  schema: { text: { type: 'string', full_text_search: normalizeFullTextConfig(true, 'text') } },
  distanceMetric: null,
  createdAt: new Date(0).toISOString(),
  partFormat: 2,
});
const bytes = built.files.find((f) => f.name.endsWith('.postings'))!.bytes;
const qrand = rng(99);
const qword = zipfSampler(20_000, 1.07, qrand);
const queries = Array.from({ length: QUERIES }, () => Array.from({ length: 1 + Math.floor(qrand() * 2) }, () => zipfWord(qword())));

const MiB = (n: number) => (n / 1024 / 1024).toFixed(2);
/** Heap and array buffers after collection (array buffers' memory is released by a background sweeper: wait for it). */
async function measure(): Promise<{ heap: number; buffers: number }> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

async function run(mode: 'whole' | 'ranged'): Promise<string[]> {
  const out: string[] = [];
  const base = await measure();
  const files: PostingsFile[] = [];
  for (let c = 0; c < COPIES; c++) {
    if (mode === 'whole') files.push(new PostingsFile(bytes.slice(), 'p'));
    else files.push(await PostingsFile.openRanged(async (s, e) => bytes.slice(s, e), bytes.byteLength, 'p'));
  }
  const step = async (what: string) => {
    const m = await measure();
    const heap = (m.heap - base.heap) / COPIES;
    const buffers = (m.buffers - base.buffers) / COPIES;
    const est = files[0]!.memoryBytes();
    out.push(`| ${mode} | ${what} | ${MiB(heap)} | ${MiB(buffers)} | ${MiB(heap + buffers)} | ${MiB(est)} | ${((heap + buffers) / est).toFixed(2)} |`);
  };
  await step('opened');
  for (const f of files) f.lookup('');
  await step('terms decoded');
  for (const f of files) {
    for (const q of queries) {
      const lists = neededLists(f, { attr: 'text', terms: q, prefixes: [] });
      await f.fetch(lists);
      f.decode(lists);
    }
  }
  await step(`${QUERIES} queries' lists`);
  files.length = 0;
  return out;
}

const lines = [
  `# ${machine()}`,
  `part of ${ROWS} rows built by the part builder: fts-0.postings ${MiB(bytes.byteLength)} MiB; previous estimate min(bytes, 4 MiB) × 3 = ${MiB(Math.min(bytes.byteLength, 4 * 1024 * 1024) * 3)} MiB`,
  '',
  '| read | step | V8 heap MiB | array buffers MiB | total MiB | memoryBytes() MiB | measured / estimate |',
  '|---|---|---|---|---|---|---|',
  ...(await run('whole')),
  ...(await run('ranged')),
];
console.log(lines.join('\n'));
