import { describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { PriorityTaskQueue } from './priority-queue.js';

type Task = Parameters<PriorityTaskQueue['push']>[0];
const task = (name: string, urgent: boolean | null) => ({ name, [Piscina.queueOptionsSymbol]: urgent === null ? null : { urgent } }) as unknown as Task;
const name = (t: Task | null) => (t as unknown as { name: string } | null)?.name ?? null;

describe('PriorityTaskQueue', () => {
  it('serves urgent tasks first, FIFO within a class, until a normal task has waited maxWaitMs', () => {
    let now = 0;
    const q = new PriorityTaskQueue(() => now, 20);
    q.push(task('w1', false));
    q.push(task('s1', true));
    q.push(task('w2', null)); // no options: normal
    q.push(task('s2', true));
    expect(q.size).toBe(4);
    expect(name(q.shift())).toBe('s1');
    now = 19;
    expect(name(q.shift())).toBe('s2');
    q.push(task('s3', true));
    now = 20; // w1 has waited 20 ms: it goes before the urgent s3
    expect(name(q.shift())).toBe('w1');
    expect(name(q.shift())).toBe('w2'); // waited 20 ms too
    expect(name(q.shift())).toBe('s3');
    expect(q.shift()).toBeNull();
    expect(q.size).toBe(0);
  });

  it('removes a task of either class (an aborted task)', () => {
    const q = new PriorityTaskQueue(() => 0);
    const a = task('a', true);
    const b = task('b', false);
    const c = task('c', false);
    for (const t of [a, b, c]) q.push(t);
    q.remove(a);
    q.remove(c);
    q.remove(task('unknown', true));
    expect(q.size).toBe(1);
    expect(name(q.shift())).toBe('b');
  });
});
