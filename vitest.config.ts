import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['crates-ts/**/*.test.ts', 'server/**/*.test.ts', 'indexer/**/*.test.ts', 'cli/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests that start server processes or talk to radosgw share ports and CPU: keep parallelism modest on 2 cores.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
