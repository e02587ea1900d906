/**
 * A store wrapper that injects failures, for tests of availability under store errors: an operation fails before
 * it reaches the inner store (an S3 503 / reset), or after it succeeded (the response was lost: the write is
 * durable but the caller sees an error, the nastiest case for conditional writes). Seeded, so failures replay.
 */
import { ElaxError } from '../core/index.js';
import type { ByteRange, GetResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutResult, Witness } from './types.js';

export type StoreOp = 'get' | 'head' | 'put' | 'putIfAbsent' | 'putIfMatch' | 'list' | 'delete';

export interface FaultPlan {
  /** Probability that an operation fails before reaching the inner store. */
  before: number;
  /** Probability that a write succeeds in the inner store and then reports a failure. */
  after: number;
  /** Uniform [0, 1) source (seeded in tests). */
  random: () => number;
  /** Only these operations fail (default: all). */
  ops?: ReadonlySet<StoreOp>;
  /** Only keys matching this fail (default: all). */
  keys?: (key: string) => boolean;
}

export class FaultyStore implements ObjectStore {
  readonly description: string;
  /** Faults are injected only while enabled. */
  enabled = true;
  readonly injected = { before: 0, after: 0 };

  constructor(
    readonly inner: ObjectStore,
    private readonly plan: FaultPlan,
  ) {
    this.description = `faulty(${inner.description})`;
  }

  private applies(op: StoreOp, key: string): boolean {
    return this.enabled && (this.plan.ops === undefined || this.plan.ops.has(op)) && (this.plan.keys === undefined || this.plan.keys(key));
  }

  private fault(op: StoreOp, key: string, when: 'before' | 'after'): ElaxError {
    this.injected[when]++;
    return new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `${this.description}: injected ${when === 'before' ? '503 SlowDown' : 'lost response'} on ${op} ${key}`, {
      retryAfter: 1,
    });
  }

  private async run<T>(op: StoreOp, key: string, write: boolean, f: () => Promise<T>): Promise<T> {
    const on = this.applies(op, key);
    if (on && this.plan.random() < this.plan.before) throw this.fault(op, key, 'before');
    const out = await f();
    if (on && write && this.plan.random() < this.plan.after) throw this.fault(op, key, 'after');
    return out;
  }

  get(key: string, range?: ByteRange): Promise<GetResult | null> {
    return this.run('get', key, false, () => this.inner.get(key, range));
  }
  head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    return this.run('head', key, false, () => this.inner.head(key));
  }
  put(key: string, bytes: Uint8Array): Promise<Witness> {
    return this.run('put', key, true, () => this.inner.put(key, bytes));
  }
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    return this.run('putIfAbsent', key, true, () => this.inner.putIfAbsent(key, bytes));
  }
  putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    return this.run('putIfMatch', key, true, () => this.inner.putIfMatch(key, bytes, witness));
  }
  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.run('list', prefix, false, () => this.inner.list(prefix, options));
  }
  delete(key: string): Promise<void> {
    return this.run('delete', key, true, () => this.inner.delete(key));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
