/**
 * The thread that faults in the fresh pages of the WAL tail's shared vector arenas ahead of their writes
 * (VectorArena.prefault; docs/rfcs/0010-worker-pool.md "Fresh memory on the write path"). A page of fresh memory
 * costs ≈ 15 µs to fault in on the benchmark machine; the event loop writes a new chunk's rows one commit at a time,
 * so whoever touches a page first pays. Pool tasks did this in 256 KiB pieces, but they queued behind the bodies'
 * parses and the entries' encodes on a busy pool: under an 8-client base64 load `perf record -e page-faults` found
 * the event loop faulting in 21 % of the process's pages itself (the tail's append), the pool's prefault pieces 1.4 %.
 * This thread does nothing else, so it stays ahead of the writes (it touches ≈ 270 KB per ms, the loop appends ≈ 30).
 *
 * Best effort: a range it has not reached yet is written anyway (its faults are then the writer's), and each page is
 * touched by adding 0 to one of its words, atomically, so a row written into the same page meanwhile keeps its value.
 * Started on the first range (tests make engines that never append), unref'd, stopped by close().
 */
import { Worker } from 'node:worker_threads';
import type { WasmMemory } from '../core/index.js';
import type { ArenaPrefaulter } from './vector-arena.js';

/** The thread's code (CommonJS, evaluated: no loader needed). Messages: a range, or a sync request. */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const PAGE = 4096;
let pages = 0;
parentPort.on('message', (m) => {
  if (m.sync !== undefined) return parentPort.postMessage({ sync: m.sync, pages });
  const words = new Int32Array(m.memory.buffer);
  const end = Math.min(m.to, words.length * 4);
  for (let b = m.from - (m.from % PAGE); b < end; b += PAGE) {
    Atomics.add(words, b >> 2, 0);
    pages++;
  }
});
`;

export interface PrefaultThread {
  /** Queues the pages of bytes [from, to) of `memory` (a shared memory) to be touched, in order. */
  readonly prefault: ArenaPrefaulter;
  /** Resolves, once every range queued before the call is done, with the pages touched so far (tests, benches). */
  drained(): Promise<number>;
  /** Stops the thread (if it was started). */
  close(): Promise<void>;
}

export function prefaultThread(): PrefaultThread {
  let worker: Worker | null = null;
  let syncs = 0;
  const waiting = new Map<number, (pages: number) => void>();
  const start = (): Worker => {
    const w = new Worker(SOURCE, { eval: true, name: 'elax-prefault' });
    w.unref();
    w.on('message', (m: { sync: number; pages: number }) => {
      waiting.get(m.sync)?.(m.pages);
      waiting.delete(m.sync);
    });
    // A thread that died leaves the faults to the writers, as a range it has not reached yet does.
    w.on('error', () => undefined);
    w.on('exit', () => {
      if (worker === w) worker = null;
      for (const resolve of waiting.values()) resolve(-1);
      waiting.clear();
    });
    return w;
  };
  return {
    prefault: (memory: WasmMemory, from: number, to: number) => {
      if (to <= from) return;
      (worker ??= start()).postMessage({ memory, from, to });
    },
    drained: () =>
      new Promise<number>((resolve) => {
        const w = (worker ??= start());
        const id = ++syncs;
        waiting.set(id, resolve);
        w.postMessage({ sync: id });
      }),
    close: async () => {
      const w = worker;
      worker = null;
      if (w !== null) await w.terminate();
    },
  };
}
