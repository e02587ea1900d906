import { MemoryStore } from './index.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', async () => new MemoryStore());
