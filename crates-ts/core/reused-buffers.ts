/**
 * Shared buffers the write path fills once per request or entry and then lets go of (a request body's bytes, a WAL
 * entry's vector column), kept for the next one instead of freed.
 *
 * Memory the process has never touched costs a page fault per 4 KiB page on its first write: on the benchmark machine
 * (a VM) about 4 µs per KiB, so that copying a 1.3 MB body into a fresh buffer took 5 ms of the event loop and into
 * a reused one 0.4 ms (docs/benchmarks.md "Event-loop cost per written row"). A freed buffer goes back to the
 * allocator only when the GC finds it, so a fresh one is nearly always fresh memory.
 *
 * Buffers come in size classes from 64 KiB to `maxBuffer`, eight per power of two (a buffer is at most 12.5 % larger
 * than asked: a lent one is held until the GC collects its answer, seconds under load); released ones are kept, newest first, up
 * to `maxBytes` in all (a cache: beyond it a released buffer is dropped, and `acquire` allocates when none is kept). A
 * caller releases a buffer only once nothing reads it any more (a pool thread's task over it has returned): the next
 * `acquire` hands it out with whatever it held.
 *
 * A buffer a pool task writes its answer into (lent, settleLent) comes back by itself: once the answer's copy of it on
 * this thread, which every view of the answer refers to, has been collected.
 */
export const MIN_REUSED_BYTES = 64 * 1024;

export class ReusedBuffers {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private kept = 0;
  /** Acquires answered from a kept buffer, and by allocating (metrics, tests). */
  hits = 0;
  misses = 0;

  /** Buffers lent to pool tasks whose answers still hold them (settleLent). */
  lentOut = 0;
  private readonly lent = new FinalizationRegistry<SharedArrayBuffer>((b) => {
    this.lentOut--;
    this.release(b);
  });

  constructor(
    readonly maxBytes = 64 * 1024 * 1024,
    readonly maxBuffer = 16 * 1024 * 1024,
  ) {}

  /** Bytes held by kept buffers. */
  get keptBytes(): number {
    return this.kept;
  }

  /** Whether a buffer of `bytes` would come from (and go back to) the cache. */
  reuses(bytes: number): boolean {
    return bytes >= MIN_REUSED_BYTES && bytes <= this.maxBuffer;
  }

  /** A shared buffer of at least `bytes` (its contents are arbitrary when reused). */
  acquire(bytes: number): SharedArrayBuffer {
    if (!this.reuses(bytes)) return new SharedArrayBuffer(bytes);
    const size = sizeClass(bytes);
    // Its own class first, then the next two (at most ≈ 30 % larger): sizes that vary a little still find a buffer.
    for (let c = size, i = 0; i < 3 && c <= this.maxBuffer; i++, c = sizeClass(c + 1)) {
      const b = this.free.get(c)?.pop();
      if (b === undefined) continue;
      this.kept -= c;
      this.hits++;
      return b;
    }
    this.misses++;
    return new SharedArrayBuffer(size);
  }

  /**
   * `lent` (from acquire) was handed to a pool task that may answer with views of it: `answer` is the buffer the
   * answer's views are of, as they arrived on this thread (null: none). A pool thread's answer arrives with its own
   * copy of the shared buffer, which every view of it on this thread refers to, so once the GC has collected that copy
   * nothing here can read `lent`, and it is given back (the thread that wrote it reads it no more: its task is over).
   * - `answer` is `lent` itself: the task ran inline (no thread had loaded, or the pool failed it), and its views are
   *   of `lent` directly, which is then never given back (the GC frees it with the last view).
   * - Another shared buffer: the thread's copy of `lent`, given back once collected.
   * - null, or an ordinary buffer: the task did not use `lent` (too small, nothing to put in it): given back now.
   * No view of an answer may be posted to another thread (its copy there would outlive this one's): none is.
   */
  settleLent(lent: SharedArrayBuffer, answer: ArrayBufferLike | null): void {
    if (answer === lent) return;
    if (answer instanceof SharedArrayBuffer) {
      if (answer.byteLength !== lent.byteLength) throw new Error(`a pool task answered in a shared buffer of ${answer.byteLength} bytes, not the ${lent.byteLength} it was lent`);
      this.lentOut++;
      this.lent.register(answer, lent);
      return;
    }
    this.release(lent);
  }

  /** Gives back a buffer from acquire() that nothing reads or writes any more. */
  release(b: SharedArrayBuffer): void {
    const size = b.byteLength;
    if (size < MIN_REUSED_BYTES || size > this.maxBuffer || size !== sizeClass(size) || this.kept + size > this.maxBytes) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    if (list.includes(b)) throw new Error('a reused buffer was released twice');
    list.push(b);
    this.kept += size;
  }
}

/** The smallest class ≥ bytes: MIN_REUSED_BYTES, then eight steps per power of two (2^k + j·2^k/8, j = 1..8). */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_REUSED_BYTES) return MIN_REUSED_BYTES;
  const step = 2 ** Math.floor(Math.log2(bytes - 1)) / 8;
  return Math.ceil(bytes / step) * step;
}

/** The process's cache (server/json-body.ts bodies, engine/engine.ts WAL vector columns). */
export const reusedBuffers = new ReusedBuffers();
