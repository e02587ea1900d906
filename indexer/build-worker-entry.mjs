// Build pool thread entry when the engine runs from its TypeScript sources (indexer/build-pool.ts): tsx must be
// registered in each thread; the thread itself is indexer/build-worker.ts (bundled, bin/bundle.mjs, it is entered
// directly).
import { register } from 'tsx/esm/api';

register();
const mod = await import('./build-worker.ts');
export default mod.default;
