/**
 * Shared buffers the write path fills once per request or entry and then lets go of (a request body's bytes, a WAL
 * entry's vector column), kept for the next one instead of freed.
 *
 * Memory the process has never touched costs a page fault per 4 KiB page on its first write: on the benchmark machine
 * (a VM) about 4 µs per KiB, so that copying a 1.3 MB body into a fresh buffer took 5 ms of the event loop and into
 * a reused one 0.4 ms (docs/benchmarks.md "Event-loop cost per written row"). A freed buffer goes back to the
 * allocator only when the GC finds it, so a fresh one is nearly always fresh memory.
 *
 * Buffers come in power-of-two sizes from 64 KiB to `maxBuffer`; released ones are kept, newest first, up to
 * `maxBytes` in all (a cache: beyond it a released buffer is dropped, and `acquire` allocates when none is kept). A
 * caller releases a buffer only once nothing reads it any more (a pool thread's task over it has returned): the next
 * `acquire` hands it out with whatever it held.
 */
export const MIN_REUSED_BYTES = 64 * 1024;

export class ReusedBuffers {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private kept = 0;
  /** Acquires answered from a kept buffer, and by allocating (metrics, tests). */
  hits = 0;
  misses = 0;

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
    const b = this.free.get(size)?.pop();
    if (b !== undefined) {
      this.kept -= size;
      this.hits++;
      return b;
    }
    this.misses++;
    return new SharedArrayBuffer(size);
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

function sizeClass(bytes: number): number {
  let size = MIN_REUSED_BYTES;
  while (size < bytes) size *= 2;
  return size;
}

/** The process's cache (server/json-body.ts bodies, engine/engine.ts WAL vector columns). */
export const reusedBuffers = new ReusedBuffers();
