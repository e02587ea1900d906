/**
 * Reads and publishes `{ns}/router.json`, only ever by compare-and-swap (RFC-0002, docs/rfcs/0002-router-publish.md).
 */
import { ElaxError } from '../core/index.js';
import type { ObjectStore, Witness } from '../store/index.js';
import { routerKey } from '../store/index.js';
import { checkRouterInvariants } from './invariants.js';
import { MAX_ROUTER_FORMAT_VERSION, MIN_ROUTER_FORMAT_VERSION, ROUTER_FORMAT_VERSION, SHARDED_ROUTER_FORMAT, SHARED_PARTS_ROUTER_FORMAT, hasBorrowedParts, type Router } from './types.js';

export interface RouterRead {
  router: Router;
  witness: Witness;
}

export type PublishOutcome = { ok: true; witness: Witness } | { ok: false };

export function parseRouter(ns: string, bytes: Uint8Array): Router {
  let r: Router;
  try {
    r = JSON.parse(new TextDecoder().decode(bytes)) as Router;
  } catch (cause) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `router.json of ${ns} is not valid JSON`, { cause });
  }
  if (typeof r.format_version !== 'number' || r.format_version < MIN_ROUTER_FORMAT_VERSION || r.format_version > MAX_ROUTER_FORMAT_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `router.json of ${ns} has format_version ${String(r.format_version)}; this build reads ${MIN_ROUTER_FORMAT_VERSION}..${MAX_ROUTER_FORMAT_VERSION}`);
  }
  return r;
}

function encode(r: Router): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(r, null, 2) + '\n');
}

/**
 * `next` with every part that `current` referenced and `next` does not appended to `retired_parts` (retired at
 * next.updated_at). Done here, on the one publish path, so no publisher (compaction, reindex, deletion) can forget.
 */
export function withRetiredParts(current: Router, next: Router): Router {
  const kept = new Map(next.parts.map((p) => [p.id, p]));
  const already = new Set((next.retired_parts ?? []).map((p) => p.id));
  const leaving = current.parts.filter((p) => !kept.has(p.id) && !already.has(p.id));
  // A part that stays but gets a new deletion vector retires its old one (whole retired parts take theirs along).
  const replaced = current.parts.filter((p) => p.deletes && kept.has(p.id) && kept.get(p.id)!.deletes?.file !== p.deletes.file);
  if (leaving.length === 0 && replaced.length === 0) return next;
  const out: Router = { ...next };
  if (leaving.length > 0) {
    out.retired_parts = [...(next.retired_parts ?? []), ...leaving.map((p) => ({ id: p.id, retired_at: next.updated_at, ...(p.home !== undefined ? { home: p.home } : {}) }))];
  }
  if (replaced.length > 0) {
    out.retired_files = [...(next.retired_files ?? []), ...replaced.map((p) => ({ part: p.id, file: p.deletes!.file, retired_at: next.updated_at }))];
  }
  return out;
}

/**
 * A router that borrows parts, or was format 3 already, is published as format 3 (RFC-0011): publishers that set
 * format 2 explicitly (the indexer's upgrade from the v1 fold) need not know about branches.
 */
function withSharedFormat(current: Router, next: Router): Router {
  // A sharded router (or one that was format 4 already) is format 4 (RFC-0013), which includes format 3.
  if (next.format_version < SHARDED_ROUTER_FORMAT && (next.sharding !== undefined || current.format_version >= SHARDED_ROUTER_FORMAT)) return { ...next, format_version: SHARDED_ROUTER_FORMAT };
  if (next.format_version >= SHARED_PARTS_ROUTER_FORMAT) return next;
  if (current.format_version >= SHARED_PARTS_ROUTER_FORMAT || hasBorrowedParts(next)) return { ...next, format_version: SHARED_PARTS_ROUTER_FORMAT };
  return next;
}

export class RouterStore {
  constructor(private readonly store: ObjectStore) {}

  async read(ns: string): Promise<RouterRead | null> {
    const got = await this.store.get(routerKey(ns));
    if (!got) return null;
    return { router: parseRouter(ns, got.bytes), witness: got.witness };
  }

  /** RFC-0002 step 1: create epoch 0 if absent. `ok: false` means someone else created it first: re-read. */
  async create(router: Router): Promise<PublishOutcome> {
    checkRouterInvariants(router, null);
    return this.store.putIfAbsent(routerKey(router.namespace), encode(router));
  }

  /**
   * RFC-0002 step 3: replace `current` (read with `witness`) by `next` if nobody published in between.
   * Invariants are checked first; `ok: false` means lost the race: re-read, rebuild `next`, retry or abandon.
   */
  async publish(current: Router, witness: Witness, next: Router): Promise<PublishOutcome> {
    const recorded = withSharedFormat(current, withRetiredParts(current, next));
    checkRouterInvariants(recorded, current);
    return this.store.putIfMatch(routerKey(next.namespace), encode(recorded), witness);
  }

  /** Build the next state from `current` with epoch + 1 and a fresh updated_at. */
  static next(current: Router, changes: Partial<Router>, nowIso: string): Router {
    return { ...current, ...changes, epoch: current.epoch + 1, updated_at: nowIso };
  }

  static initial(ns: string, walStart: number, nowIso: string): Router {
    return {
      format_version: ROUTER_FORMAT_VERSION,
      namespace: ns,
      epoch: 0,
      indexed_wal: walStart - 1,
      wal_start: walStart,
      parts: [],
      schema: {},
      distance_metric: null,
      created_at: nowIso,
      updated_at: nowIso,
    };
  }
}
