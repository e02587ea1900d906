/**
 * Golden router.json with the namespace tuning `elax recall --tune` records (router.vindex.probes_min and, since the
 * tenth session, router.vindex.eps0; RFC-0008 "ε0 tuned with the depth"): additive fields of the router format 2,
 * a copy of the store-v2-router2 golden router with the tuned vindex added. It must keep parsing, pass the invariants, and keep its tuning
 * when the codebook moves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RouterStore, checkRouterInvariants, parseRouter, withCodebook } from '../crates-ts/router/index.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/router-vindex-tuned/router.json');

describe('golden router with a tuned vindex', () => {
  it('should parse, pass the invariants and carry probes_min and eps0 to a new codebook version', () => {
    const r = parseRouter('golden', readFileSync(FIXTURE));
    expect(r.format_version).toBe(2);
    expect(r.vindex).toEqual({ codebook: 'codebook-0000000003-golden.cb', version: 3, probes_min: 3, eps0: 1.2 });
    const grown = RouterStore.next(r, { vindex: withCodebook(r.vindex, { codebook: 'codebook-0000000004-next.cb', version: 4 }) }, r.updated_at);
    expect(grown.vindex).toEqual({ codebook: 'codebook-0000000004-next.cb', version: 4, probes_min: 3, eps0: 1.2 });
    expect(() => checkRouterInvariants(grown, r)).not.toThrow();
  });
});
