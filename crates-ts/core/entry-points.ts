/**
 * Where the threads and processes the server starts load their code from (docs/ARCHITECTURE.md "Startup: the bundled
 * engine"). `bin/elax.mjs` runs the engine from an esbuild bundle (bin/bundle.mjs) and names its directory in
 * ELAX_BUNDLE_DIR, which worker threads and child processes inherit; each entry point of the bundle is then the
 * module a thread starts from. Without it (tests, `node bin/run-ts.mjs`, ELAX_NO_BUNDLE=1) the callers fall back to
 * their `.mjs` entries, which register tsx and import the TypeScript sources.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const BUNDLE_DIR_ENV = 'ELAX_BUNDLE_DIR';

/** The bundle's entry points (bin/bundle.mjs ENTRIES) that a thread or process starts from. */
export type BundledEntry = 'pool-worker' | 'build-worker' | 'indexer-worker' | 'indexer-process-entry';

/**
 * The bundled module for `name`, or null when the engine runs from its sources, or when the bundle is gone (bin/bundle.mjs
 * prunes old bundles; a server that outlived its own then starts threads from the sources, as it would through tsx).
 */
export function bundledEntry(name: BundledEntry, env: NodeJS.ProcessEnv = process.env): URL | null {
  const dir = env[BUNDLE_DIR_ENV];
  if (!dir) return null;
  const file = path.join(dir, `${name}.mjs`);
  return existsSync(file) ? pathToFileURL(file) : null;
}
