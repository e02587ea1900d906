/**
 * A store wrapper that reports every request when it ends: op, key, range, start and end time, bytes. Off by default;
 * `elax serve` turns it on with ELAX_STORE_TRACE=<file> (one JSON line per request) so a benchmark can count the
 * sequential round trips of a cold query (bench/store-waves.ts), which request counters cannot show.
 */
import type { ByteRange, GetResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutResult, Witness } from './types.js';

export interface StoreTraceEvent {
  op: string;
  key: string;
  range?: [number, number];
  /** Times from the injected clock (ms), at the call and when its promise settled. */
  start: number;
  end: number;
  bytes?: number;
  error?: boolean;
}

export class TracingStore implements ObjectStore {
  readonly description: string;
  readonly local: boolean | undefined;

  constructor(
    readonly inner: ObjectStore,
    private readonly now: () => number,
    private readonly sink: (e: StoreTraceEvent) => void,
  ) {
    this.description = inner.description;
    this.local = inner.local;
  }

  private async traced<T>(op: string, key: string, run: () => Promise<T>, bytes: (r: T) => number | undefined, range?: ByteRange): Promise<T> {
    const start = this.now();
    const base = { op, key, ...(range ? { range: [range.start, range.end] as [number, number] } : {}), start };
    try {
      const r = await run();
      this.sink({ ...base, end: this.now(), bytes: bytes(r) });
      return r;
    } catch (e) {
      this.sink({ ...base, end: this.now(), error: true });
      throw e;
    }
  }

  get(key: string, range?: ByteRange): Promise<GetResult | null> {
    return this.traced(range ? 'get_range' : 'get', key, () => this.inner.get(key, range), (r) => r?.bytes.byteLength, range);
  }
  head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    return this.traced('head', key, () => this.inner.head(key), () => undefined);
  }
  put(key: string, bytes: Uint8Array): Promise<Witness> {
    return this.traced('put', key, () => this.inner.put(key, bytes), () => bytes.byteLength);
  }
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    return this.traced('put_if_absent', key, () => this.inner.putIfAbsent(key, bytes), () => bytes.byteLength);
  }
  putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    return this.traced('put_if_match', key, () => this.inner.putIfMatch(key, bytes, witness), () => bytes.byteLength);
  }
  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.traced('list', prefix, () => this.inner.list(prefix, options), (r) => r.objects.length);
  }
  delete(key: string): Promise<void> {
    return this.traced('delete', key, () => this.inner.delete(key), () => undefined);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
