/**
 * An in-process HTTP app (buildApp) over an Engine on a memory store, listening on a free port: for tests of the
 * HTTP layer that need options startServer does not take from test/helpers/server.ts, or a store they can slow down.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { Engine } from '../../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../../crates-ts/store/index.js';
import { buildApp, type AppOptions } from '../../server/app.js';

export interface MemoryApp {
  app: FastifyInstance;
  engine: Engine;
  store: ObjectStore;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startMemoryApp(opts: Partial<AppOptions> = {}, store: ObjectStore = new MemoryStore()): Promise<MemoryApp> {
  const engine = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0 });
  const app = buildApp({ engine, logger: false, ...opts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    app,
    engine,
    store,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      app.server.closeAllConnections();
      await app.close();
      await engine.close();
    },
  };
}

export { slowStore } from './slow-store.js';
