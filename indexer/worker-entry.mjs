// Worker-thread entry of the embedded indexer (ELAX_INDEXER_PROCESS=thread; indexer/embedded.ts): the engine is
// TypeScript run through tsx, which must be registered in each thread (process-entry.mjs does the same in a child).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
