/**
 * At most `concurrency` tasks at a time, the others queued in order. The node runs background graph loads through
 * one (RFC-0004 §10): loaded one after another, each graph's transient buffers (file bytes, hnswlib's copy) come
 * and go before the next starts, and the first graph is usable sooner than if all loaded at once.
 */
export class Limiter {
  #running = 0;
  readonly #queue: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!(concurrency >= 1)) throw new RangeError(`Limiter concurrency must be at least 1, got ${concurrency}`);
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }
}
