/**
 * The pool's task queue (piscina `taskQueue`): tasks a waiting query needs (`vector-scan`, `bm25-part`) go before the others
 * (WAL encoding, JSON bodies of writes), so a query's scan does not queue behind a write's 10 ms body parse. A task
 * of the normal class that has waited `maxWaitMs` goes first anyway, so a steady stream of queries cannot starve the
 * writes (whose acknowledgement waits on their encoding). FIFO within each class.
 */
import { Piscina, type TaskQueue } from 'piscina';

type Task = Parameters<TaskQueue['push']>[0];

/** What a submitted task carries for this queue (under Piscina.queueOptionsSymbol; structured clone drops it). */
export interface QueueOptions {
  urgent: boolean;
}

export class PriorityTaskQueue implements TaskQueue {
  private readonly urgent: Task[] = [];
  private readonly normal: { task: Task; at: number }[] = [];

  constructor(
    private readonly now: () => number,
    /** How long a normal task may be passed over by urgent ones, ms. */
    private readonly maxWaitMs = 20,
  ) {}

  get size(): number {
    return this.urgent.length + this.normal.length;
  }

  push(task: Task): void {
    const opts = task[Piscina.queueOptionsSymbol as keyof Task] as unknown as QueueOptions | null;
    if (opts?.urgent) this.urgent.push(task);
    else this.normal.push({ task, at: this.now() });
  }

  shift(): Task | null {
    const head = this.normal[0];
    if (this.urgent.length > 0 && (head === undefined || this.now() - head.at < this.maxWaitMs)) return this.urgent.shift()!;
    return this.normal.shift()?.task ?? null;
  }

  remove(task: Task): void {
    const u = this.urgent.indexOf(task);
    if (u >= 0) {
      this.urgent.splice(u, 1);
      return;
    }
    const n = this.normal.findIndex((e) => e.task === task);
    if (n >= 0) this.normal.splice(n, 1);
  }
}
