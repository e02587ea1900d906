// Pool thread entry: the engine is TypeScript run through tsx, which must be registered in each thread
// (as indexer/worker-entry.mjs does for the embedded indexer). Piscina calls the default export per task.
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
export default mod.default;
