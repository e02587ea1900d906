#!/usr/bin/env node
// Entry point of the `elax` command. The code base is TypeScript; there is no build step between a clone and a
// server: the engine runs from an esbuild bundle made on demand and cached by the sources' fingerprint (bundle.mjs;
// docs/ARCHITECTURE.md "Startup: the bundled engine"), or, with ELAX_NO_BUNDLE=1 or when no bundle can be made,
// from its sources through tsx (esbuild transform on import).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBundle } from './bundle.mjs';

const dir = process.env.ELAX_NO_BUNDLE === '1' ? null : await ensureBundle({ log: (m) => process.stderr.write(`${m}\n`) });
if (dir) {
  process.env.ELAX_BUNDLE_DIR = dir; // the server's worker threads and indexer process start from the same bundle
  process.setSourceMapsEnabled(true); // stack traces name the TypeScript sources
  await import(pathToFileURL(path.join(dir, 'main.mjs')).href);
} else {
  delete process.env.ELAX_BUNDLE_DIR;
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
