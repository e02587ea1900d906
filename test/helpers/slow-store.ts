/** A store whose every call (but close) takes `ms` first, like a slow network store. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../../crates-ts/store/index.js';

export function slowStore(inner: ObjectStore, ms: number): ObjectStore {
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        await sleep(ms);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
