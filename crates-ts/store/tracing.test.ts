import { describe, expect, it } from 'vitest';
import { MemoryStore, TracingStore, type StoreTraceEvent } from './index.js';

describe('TracingStore', () => {
  it('reports each request with its range, times and bytes, failures included', async () => {
    let t = 0;
    const events: StoreTraceEvent[] = [];
    const inner = new MemoryStore();
    const store = new TracingStore(inner, () => (t += 10), (e) => events.push(e));
    await store.put('a', new Uint8Array([1, 2, 3, 4]));
    expect(await store.get('a', { start: 1, end: 3 })).toMatchObject({ bytes: new Uint8Array([2, 3]) });
    expect(await store.get('missing')).toBeNull();
    await store.list('');
    const failing = new TracingStore({ ...inner, description: 'x', get: () => Promise.reject(new Error('down')) } as never, () => (t += 10), (e) => events.push(e));
    await expect(failing.get('a')).rejects.toThrow('down');
    expect(events).toEqual([
      { op: 'put', key: 'a', start: 10, end: 20, bytes: 4 },
      { op: 'get_range', key: 'a', range: [1, 3], start: 30, end: 40, bytes: 2 },
      { op: 'get', key: 'missing', start: 50, end: 60, bytes: undefined },
      { op: 'list', key: '', start: 70, end: 80, bytes: 1 },
      { op: 'get', key: 'a', start: 90, end: 100, error: true },
    ]);
  });
});
