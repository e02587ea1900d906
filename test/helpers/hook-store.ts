import { MemoryStore, type Witness } from '../../crates-ts/store/index.js';

/**
 * A memory store that runs `beforeRouterCas` (once; any conditional put clears it) just before the next conditional
 * put of a router.json: another publisher's CAS then lands between a publisher's read of the router and its own.
 */
export class HookStore extends MemoryStore {
  beforeRouterCas: (() => Promise<void>) | null = null;
  override async putIfMatch(key: string, bytes: Uint8Array, witness: Witness) {
    const hook = key.endsWith('router.json') ? this.beforeRouterCas : null;
    this.beforeRouterCas = null;
    if (hook) await hook();
    return super.putIfMatch(key, bytes, witness);
  }
}
