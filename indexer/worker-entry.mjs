// Worker-thread entry: the engine is TypeScript run through tsx, which must be registered in each thread.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
