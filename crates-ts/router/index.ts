/**
 * router: which parts and WAL range make up namespace N now? Owns `{ns}/router.json`, its format and its
 * invariants; creates it with put-if-absent and moves it forward only with If-Match. It does not build parts or
 * write the WAL.
 */
export { RouterStore, parseRouter, withRetiredParts } from './router-store.js';
export type { RouterRead, PublishOutcome } from './router-store.js';
export { checkRouterInvariants, ROUTER_INVARIANTS } from './invariants.js';
export { ROUTER_FORMAT_VERSION, MIN_ROUTER_FORMAT_VERSION, MAX_ROUTER_FORMAT_VERSION, SHARED_PARTS_ROUTER_FORMAT, SHARDED_ROUTER_FORMAT, withCodebook, isTunedEps0, isRouterPinning, partHome, hasBorrowedParts } from './types.js';
export type { Router, PartRef, RetiredPart, RetiredFile, VindexRef, RouterPinning } from './types.js';
export { borrowedParts, type BorrowedParts } from './borrowers.js';
