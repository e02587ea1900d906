/**
 * Group commit and CAS append for writes (RFC-0001, docs/rfcs/0001-wal-append.md).
 *
 * Requests for one namespace queue up; a committer per namespace takes everything queued (after a short window),
 * resolves the requests in arrival order against the freshest state, writes ONE WAL entry at head+1 with
 * put-if-absent and acknowledges every request only after the store has made the entry durable. If another
 * writer took that sequence, the committer refreshes its view and resolves the whole batch again: resolution is
 * deterministic given the state, so nothing is applied twice and nothing is lost.
 *
 * A request whose resolution fails (e.g. a schema conflict that appeared since it was validated) is rejected
 * alone; the others in the batch still commit.
 */
import { ElaxError, isElaxError, type Clock, type Doc, type Id } from '../core/index.js';
import type { NamespaceCatalog, NamespaceView } from '../namespace/index.js';
import { RouterStore } from '../router/index.js';
import { encodeWalEntry, entryVoidIn, walVectorsBinary, WAL_BINARY_VECTORS_FORMAT, WAL_FORMAT_VERSION, WAL_PLAN_FORMAT, WAL_SHARDING_FORMAT, type AppendOutcome, type WalEntry, type WalMeta, type WalOp } from '../wal/index.js';
import type { WriteRequest } from '../schema/index.js';
import { fuzzyAttributes, compileFilter, filterAttributes, type CompiledFilter } from '../filter/index.js';
import { mergeSchema } from '../schema/index.js';
import type { FilterScan } from '../namespace/index.js';
import { NO_FILTER_MATCHES, resolveWrite, type FilterMatches, type Resolution, type StateReader } from './resolve.js';
import { resolveWriteLimits, type WriteLimits } from './limits.js';
import { declaresSchemaOrMetric } from './creates.js';
import { checkSharding } from './sharding.js';

export interface WriteOutcome {
  seq: number | null;
  /** Affected ids in application order. */
  upserted: ReadonlySet<Id>;
  patched: ReadonlySet<Id>;
  deleted: ReadonlySet<Id>;
  rowsRemaining: boolean;
  /** True when the idempotency key was already committed: nothing was written again. */
  duplicate: boolean;
}

export interface CoordinatorOptions {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Group-commit window after the first queued request. Default 2 ms. */
  groupCommitMs?: number;
  /** Cap on rows coalesced into one entry; further requests wait for the next entry. Default 50_000. */
  maxRowsPerEntry?: number;
  /** Max documents one delete_by_filter / patch_by_filter changes (limits.ts; defaults: turbopuffer's 5M / 50k). */
  limits?: Partial<WriteLimits>;
  /** Give up after this many lost CAS races in a row (the store is under heavy contention). Default 50. */
  maxConflicts?: number;
  /** Called with each committed entry (metrics, indexer wake-up). */
  onCommit?: (ns: string, seq: number, rows: number, bytes: number) => void;
  onConflict?: (ns: string) => void;
  /**
   * Encodes a WAL entry (default: encodeWalEntry on this thread). The engine passes its worker pool's (pool/): the
   * entry is still appended, and the batch acknowledged, only after the store has made the encoded bytes durable.
   */
  encode?: (meta: WalMeta, ops: readonly WalOp[]) => Promise<Uint8Array>;
  /** Write WAL format 4 (vectors as binary: wal/format.ts WAL_BINARY_VECTORS_FORMAT). Default: walVectorsBinary() (yes unless ELAX_WAL_VECTORS=list). */
  walBinaryVectors?: boolean;
}

/**
 * What planning reads of the namespace (RFC-0004 §7): its schema, metric and keys, the live documents of the ids the
 * batch names, and the live documents its filter-based writes may match — looked up before the (synchronous) plan,
 * never the whole namespace. ABSENT for a namespace that does not exist (yet).
 */
interface PlanBase {
  schema: NamespaceView['schema'];
  distanceMetric: NamespaceView['distanceMetric'];
  idempotencyKeys: ReadonlySet<string>;
  docs: ReadonlyMap<Id, Doc>;
  /** What the filter-based writes of the batch's first request match (only the first may have them: drain()). */
  filter: FilterMatches;
  /** The WAL head this state is at: the entry is appended at head + 1 (a lost race if the head moved since). */
  head: number;
  /** The namespace's sharding (RFC-0013), null when unsharded. */
  sharding: NamespaceView['sharding'];
  /** No entry committed in this incarnation yet: the entry planned now is the inaugural write (may set sharding). */
  inaugural: boolean;
  /** The incarnation this state is of: its router's wal_start (RFC-0001 step 5; 0 for ABSENT, never appended). */
  walStart: number;
}
/** A batch whose resolution (plan) held the event loop `ms` or more gives it back once before encoding (tests: 0). */
export const planPause = { ms: 3 };

const ABSENT: PlanBase = { schema: {}, distanceMetric: null, docs: new Map(), idempotencyKeys: new Set(), filter: NO_FILTER_MATCHES, head: 0, sharding: null, inaugural: true, walStart: 0 };

const NONE: ReadonlySet<Id> = new Set();
/** The ids whose documents resolving the batch reads: those patched, deleted or upserted on a condition. */
function idsRead(batch: readonly Pending[]): Set<Id> {
  const ids = new Set<Id>();
  for (const { req } of batch) {
    for (const p of req.patches) ids.add(p.id);
    for (const id of req.deletes) ids.add(id);
    if (req.upsertCondition !== undefined) for (const d of req.upserts) ids.add(d.id);
  }
  return ids;
}
const hasFilterWrite = (req: WriteRequest) => req.deleteByFilter !== undefined || req.patchByFilter !== undefined;
/** Whether the request's answer depends on the namespace's state: it names rows, or a filter picks them. */
const readsState = (req: WriteRequest) => req.upserts.length > 0 || req.patches.length > 0 || req.deletes.length > 0 || hasFilterWrite(req);
/**
 * Whether what the request writes or answers depends on the rows of the namespace (RFC-0001 step 5): a patch (of the
 * row there), a condition, a filter write, a delete by id (it deletes, and counts, the rows it finds). An entry of such
 * a batch records the incarnation it was planned on (`plan_wal_start`) and is void in another. Unconditional upserts
 * write the same rows whatever the state: they stay valid in whichever incarnation their entry lands.
 */
const dependsOnState = (req: WriteRequest) =>
  req.patches.length > 0 || req.deletes.length > 0 || hasFilterWrite(req) || (req.upsertCondition !== undefined && req.upserts.length > 0);
type Plan = ReturnType<WriteCoordinator['plan']>;
/** A planned batch and its encoded entry (meta and bytes null: nothing to append; the batch is answered as is). */
interface Prepared {
  plan: Plan;
  seq: number;
  /** The incarnation the plan was made on (PlanBase.walStart). */
  walStart: number;
  meta: WalMeta | null;
  bytes: Uint8Array | null;
}

interface Pending {
  req: WriteRequest;
  idempotencyKey?: string;
  rows: number;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

export class WriteCoordinator {
  private readonly queues = new Map<string, Pending[]>();
  private readonly running = new Map<string, Promise<void>>();
  /** A committer waiting for its batch ahead to commit, to be woken by a request (drain()). */
  private readonly arrivals = new Map<string, () => void>();
  private closed = false;
  /**
   * Whether no other write can be on its way to this node right now (the server: this is the only request it has in
   * flight, server/app.ts). The group-commit window waits for company; a request that has none is committed at once
   * instead of paying the window (a lone writer's acknowledgement, issue 17's 1-client line). Null: always wait.
   */
  alone: (() => boolean) | null = null;
  /**
   * Batches planned behind a batch still appending (drain()): `planned` in all, `discarded` those planned again
   * because that batch did not commit what they were planned behind (a lost race, an error).
   */
  readonly pipeline = { planned: 0, discarded: 0 };
  /** Entries appended void (RFC-0001 step 5: planned on an incarnation a namespace delete ended), their batches planned again. */
  voided = 0;
  private readonly opts: Required<Omit<CoordinatorOptions, 'onCommit' | 'onConflict' | 'limits' | 'walBinaryVectors'>> & Pick<CoordinatorOptions, 'onCommit' | 'onConflict'>;
  /** Entries are written in WAL format 4 (CoordinatorOptions.walBinaryVectors). */
  private readonly binaryVectors: boolean;
  /** The limits on filter-based writes in force (limits.ts). */
  readonly limits: Readonly<WriteLimits>;

  constructor(
    private readonly catalog: NamespaceCatalog,
    options: CoordinatorOptions,
  ) {
    const { limits, walBinaryVectors, ...rest } = options;
    this.limits = Object.freeze(resolveWriteLimits(limits));
    this.binaryVectors = walBinaryVectors ?? walVectorsBinary();
    this.opts = {
      groupCommitMs: 2,
      maxRowsPerEntry: 50_000,
      maxConflicts: 50,
      encode: async (meta, ops) => encodeWalEntry(meta, ops),
      ...rest,
    };
  }

  /** Queue a validated request; resolves once its WAL entry is durable. */
  write(ns: string, req: WriteRequest, idempotencyKey?: string): Promise<WriteOutcome> {
    if (this.closed) return Promise.reject(new ElaxError('ELAX_ERR_CLOSED', 'the server is shutting down; retry on another node', { retryAfter: 1 }));
    return new Promise<WriteOutcome>((resolve, reject) => {
      const rows = req.upserts.length + req.patches.length + req.deletes.length + 1;
      let q = this.queues.get(ns);
      if (!q) this.queues.set(ns, (q = []));
      q.push({ req, idempotencyKey, rows, resolve, reject });
      this.arrivals.get(ns)?.();
      if (!this.running.has(ns)) {
        // drain() rejects only on a bug (commit errors reject their batch): fail what is queued rather than leave
        // a rejection nothing observes (which would exit the process) and requests that never answer.
        const run: Promise<void> = this.drain(ns)
          .catch((e: unknown) => {
            const stuck = this.queues.get(ns) ?? [];
            this.queues.delete(ns);
            for (const p of stuck) p.reject(e);
          })
          .finally(() => {
            if (this.running.get(ns) === run) this.running.delete(ns);
          });
        this.running.set(ns, run);
      }
    });
  }

  /** Stop accepting writes and wait until everything queued has been committed (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async drain(ns: string): Promise<void> {
    if (this.opts.groupCommitMs > 0 && !(this.alone?.() ?? false)) await this.opts.sleep(this.opts.groupCommitMs);
    // The batch being appended (RFC-0001 "Pipelined commits"): the next batch is planned and encoded on the state it
    // leaves while its append and fold run, and is appended only once it has committed, at the seq after it.
    let previous: { prepared: Prepared; committed: Promise<Prepared | null> } | null = null;
    for (;;) {
      const q = this.queues.get(ns);
      if (!q || q.length === 0) {
        if (previous !== null) {
          // Until the batch ahead has committed or a request arrives (it is then planned behind that batch).
          const arrived = new Promise<false>((resolve) => this.arrivals.set(ns, () => resolve(false)));
          const committed = await Promise.race([previous.committed.then(() => true), arrived]);
          this.arrivals.delete(ns);
          if (committed) previous = null;
          continue;
        }
        // Clear both in the same tick: a write arriving after this point must see no committer and start one.
        // (Clearing `running` later, in a .finally microtask, once left such a write queued forever.)
        this.queues.delete(ns);
        this.running.delete(ns);
        return;
      }
      const batch: Pending[] = [];
      let rows = 0;
      // A request with a filter-based write is only ever first in its batch: its matches are then looked up on exactly
      // the state it resolves on (prefetch), not on one that earlier requests of the batch change under it.
      while (q.length > 0 && (batch.length === 0 || (rows + q[0]!.rows <= this.opts.maxRowsPerEntry && !hasFilterWrite(q[0]!.req)))) {
        const p = q.shift()!;
        rows += p.rows;
        batch.push(p);
      }
      let prepared: Prepared | null = null;
      if (previous !== null) {
        const before = previous.prepared;
        // A filter-based write matches on the state it resolves on: it waits for the predecessor. So does a batch
        // behind one that appends nothing (the state it leaves is the one it started from, at the same head).
        if (before.meta !== null && !hasFilterWrite(batch[0]!.req)) {
          try {
            prepared = await this.prepareAfter(ns, batch, before);
          } catch {
            prepared = null; // planned again below, on the state the predecessor leaves
          }
        }
        // The plan holds only if the predecessor committed the very entry it was planned behind (not a re-plan after a
        // lost race, nor nothing after an error).
        if (prepared !== null) this.pipeline.planned++;
        if ((await previous.committed) !== before && prepared !== null) {
          this.pipeline.discarded++;
          prepared = null;
        }
        previous = null;
      }
      try {
        prepared ??= await this.prepare(ns, batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        continue;
      }
      const committed = this.commit(ns, batch, prepared).catch((e: unknown) => {
        for (const p of batch) p.reject(e);
        return null;
      });
      previous = { prepared, committed };
    }
  }

  /**
   * Append a prepared batch and answer its requests; on a lost race, plan it again on the newer state and retry.
   * Resolves with the Prepared whose entry was committed (null: none, e.g. nothing to append).
   */
  private async commit(ns: string, batch: Pending[], first: Prepared): Promise<Prepared | null> {
    let conflicts = 0;
    let prepared = first;
    for (;;) {
      const out = await this.finish(ns, prepared);
      // A batch planned behind this one reads the state its entry leaves, which a namespace delete racing the append
      // changed without a WAL entry (RFC-0001 step 7): then it is planned again on the state after the delete.
      if (out === 'committed' || out === 'deleted') return prepared.meta === null || out === 'deleted' ? null : prepared;
      conflicts++;
      if (out === 'lost') this.opts.onConflict?.(ns);
      if (conflicts >= this.opts.maxConflicts) {
        throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `gave up appending to ${ns} after ${conflicts} lost races; retry`, { retryAfter: 1 });
      }
      // RFC-0001 step 4: someone else took seq; or step 5: the entry is void, a namespace delete came between its plan
      // and its append. Refresh and resolve again (on the incarnation after the delete), append at the new head + 1.
      prepared = await this.prepare(ns, batch);
    }
  }

  /** Plan a batch on the namespace's current state and encode its entry. Nothing is answered here (finish()). */
  private async prepare(ns: string, batch: Pending[]): Promise<Prepared> {
    const current = await this.catalog.refresh(ns);
    if (!current) {
      // A namespace comes into existence with the first write that changes something (creates.ts). A batch that
      // changes nothing against the empty state is acknowledged as is: no router.json, no WAL entry (its
      // idempotency keys are not recorded either: replaying a no-op is a no-op).
      const dry = this.plan(ns, ABSENT, batch);
      if (dry.ops.length === 0 && !dry.accepted.some((a) => declaresSchemaOrMetric(a.p.req))) {
        return { plan: dry, seq: 0, walStart: 0, meta: null, bytes: null };
      }
    }
    const view = current ?? (await this.ensureLive(ns));
    return this.planAndEncode(ns, batch, await this.prefetch(view, batch));
  }

  /**
   * Plan a batch behind `after` (a batch whose entry is being appended, drain()) on the state that entry leaves, and
   * encode its entry; null when the node's view of the namespace cannot tell that state (the batch is then planned
   * once `after` has committed). The plan holds only if `after` commits exactly its entry.
   */
  private async prepareAfter(ns: string, batch: Pending[], after: Prepared): Promise<Prepared | null> {
    // The cached view must hold every entry before `after`'s (it folds them before answering a lookup); whether it
    // holds `after`'s as well does not matter: the ids that entry changes read as the entry has them, and any other
    // reads the same before and after it. (A view evicted, rebuilt or failed meanwhile may lack one: plan later.)
    const view = this.catalog.cachedView(ns);
    // Of the incarnation `after` was planned on: a view rebuilt for another one (a delete, a revival) reads other rows.
    if (view === undefined || view.failed !== null || view.acceptedSeq < after.seq - 1 || view.router.wal_start !== after.walStart) return null;
    const ids = idsRead(batch);
    const docs = ids.size > 0 ? await view.lookup(ids) : new Map<Id, Doc>();
    if (ids.size > 0) {
      for (const op of after.plan.ops) {
        const id = op.kind === 'upsert' ? op.doc.id : op.id;
        if (!ids.has(id)) continue;
        if (op.kind === 'upsert') docs.set(id, op.doc);
        else docs.delete(id);
      }
    }
    const batchKeys = batch.map((p) => p.idempotencyKey).filter((k): k is string => !!k);
    const knownKeys = batchKeys.length > 0 ? await view.hasKeys(batchKeys) : new Set<string>();
    if (batchKeys.length > 0) for (const k of after.plan.keys) if (batchKeys.includes(k)) knownKeys.add(k);
    const { schema, metric, sharding } = after.plan;
    const base: PlanBase = { schema, distanceMetric: metric, idempotencyKeys: knownKeys, docs, filter: NO_FILTER_MATCHES, head: after.seq, sharding, inaugural: false, walStart: after.walStart };
    return this.planAndEncode(ns, batch, base);
  }

  private async planAndEncode(ns: string, batch: Pending[], base: PlanBase): Promise<Prepared> {
    const planned = performance.now();
    const plan = this.plan(ns, base, batch);
    const seq = base.head + 1;
    // A request that read the state (it names rows or a filter) is answered from this head even when it changed
    // nothing: it still takes head + 1 with an entry without rows, so that a write still in flight from a node
    // that died (its conditional PUT delivered late) cannot land after it (RFC-0001 step 4, "Fences").
    const fence = plan.accepted.some((a) => a.res !== null && readsState(a.p.req));
    if (plan.accepted.length === 0 || !(plan.ops.length > 0 || plan.schemaChanged || plan.metricChanged || plan.shardingSet || plan.keys.length > 0 || fence)) {
      return { plan, seq, walStart: base.walStart, meta: null, bytes: null };
    }
    // Planned on this incarnation's rows: void in any other it may land in (RFC-0001 step 5).
    const plannedOn = plan.accepted.some((a) => a.res !== null && dependsOnState(a.p.req)) ? base.walStart : undefined;
    // A large batch's resolution is milliseconds of the event loop, and encoding starts with more (wal/format.ts
    // walColumns, then the hand-off to the pool): give the loop back in between (docs/rfcs/0010-worker-pool.md "Tail
    // scans in slices"). Nothing is decided by the pause: the append is conditional on seq, as after any await here.
    if (performance.now() - planned >= planPause.ms) await new Promise<void>((resolve) => setImmediate(resolve));
    const meta: WalMeta = {
      format_version: this.binaryVectors ? WAL_BINARY_VECTORS_FORMAT : plannedOn !== undefined ? WAL_PLAN_FORMAT : plan.shardingSet ? WAL_SHARDING_FORMAT : WAL_FORMAT_VERSION,
      namespace: ns,
      committed_at: this.opts.clock.now(),
      requests: plan.accepted.length,
      // Every entry says its schema and metric, not only one that changes them: an entry planned just before another
      // node deletes the namespace lands as the first of the next incarnation (step 5 revives it), which starts
      // without either (RFC-0001 step 5, crates-ts/write/pipeline.test.ts).
      ...(plan.schemaChanged || Object.keys(plan.schema).length > 0 ? { schema: plan.schema } : {}),
      ...(plan.metric ? { distance_metric: plan.metric } : {}),
      ...(plan.shardingSet && plan.sharding ? { sharding: plan.sharding } : {}),
      ...(plan.keys.length > 0 ? { idempotency_keys: plan.keys } : {}),
      ...(plannedOn !== undefined ? { plan_wal_start: plannedOn } : {}),
    };
    const bytes = await this.opts.encode(meta, plan.ops); // off the event loop when the engine has a pool
    return { plan, seq, walStart: base.walStart, meta, bytes };
  }

  /**
   * Append a prepared entry at its seq and answer the batch. 'lost': the append lost its race (nothing answered);
   * 'void': appended, but in an incarnation other than the one it was planned on (RFC-0001 step 5; nothing answered,
   * the batch is planned again); 'deleted': committed, and router.json read after the append showed a namespace delete
   * (a tombstone, or a router of a later incarnation).
   */
  private async finish(ns: string, prepared: Prepared): Promise<'committed' | 'deleted' | 'lost' | 'void'> {
    const { plan, seq, meta, bytes } = prepared;
    let committedSeq: number | null = null;
    if (meta !== null && bytes !== null) {
      // A refresh that lists `seq` before the append resolves waits for this outcome instead of reading the entry.
      const appended = this.catalog.beginAppend(ns, seq);
      let out: AppendOutcome;
      try {
        out = await this.catalog.wal(ns).append(seq, bytes); // RFC-0001 step 3
      } catch (e) {
        appended(null);
        throw e;
      }
      if (!out.ok) {
        appended(null);
        return 'lost';
      }
      committedSeq = seq;
      // Fold what we wrote (no need to decode the bytes we just encoded).
      const entry: WalEntry = { seq, meta, ops: plan.ops };
      try {
        this.catalog.applyCommitted(ns, entry, bytes);
      } finally {
        appended({ entry, bytes: bytes.length });
      }
      const live = await this.checkIncarnation(ns, seq, meta, prepared.walStart); // RFC-0001 step 5
      if (live === 'void') {
        // The entry stays in the WAL (its seq is taken), and every reader skips it. This node's view folded it as an
        // entry of the incarnation it was planned on, which is over: dropped, rebuilt on the next refresh.
        this.voided++;
        this.catalog.evict(ns);
        return 'void';
      }
      this.opts.onCommit?.(ns, seq, plan.ops.length, bytes.length);
      this.settle(plan, committedSeq);
      return live;
    }
    this.settle(plan, committedSeq);
    return 'committed';
  }

  /** Answer every request of a planned batch: reject the rejected, acknowledge the rest at `seq`. */
  private settle(plan: Plan, seq: number | null): void {
    for (const r of plan.rejected) r.p.reject(r.error);
    for (const a of plan.accepted) {
      a.p.resolve({
        seq,
        upserted: a.res?.upserted ?? NONE,
        patched: a.res?.patched ?? NONE,
        deleted: a.res?.deleted ?? NONE,
        rowsRemaining: a.res?.rowsRemaining ?? false,
        duplicate: a.res === null,
      });
    }
  }

  /** Resolve every request of the batch in order on top of the view; collect the combined entry. */
  private plan(ns: string, view: PlanBase, batch: Pending[]) {
    // The changes of the requests resolved so far. The first request's own map becomes it (a delete by filter may
    // hold millions of entries: not copied).
    let overlay = new Map<Id, Doc | null>();
    let schema = view.schema;
    let metric = view.distanceMetric;
    let sharding = view.sharding;
    const accepted: { p: Pending; res: Resolution | null }[] = [];
    const rejected: { p: Pending; error: unknown }[] = [];
    const keys: string[] = [];
    const seenKeys = new Set<string>();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      if (p.idempotencyKey && (view.idempotencyKeys.has(p.idempotencyKey) || seenKeys.has(p.idempotencyKey))) {
        accepted.push({ p, res: null });
        continue;
      }
      const reader: StateReader = {
        get: (id) => (overlay.has(id) ? (overlay.get(id) ?? undefined) : view.docs.get(id)),
        filterMatches: () => {
          if (i !== 0) throw new ElaxError('ELAX_ERR_INTERNAL', 'a filter-based write was batched behind another request');
          return view.filter;
        },
      };
      try {
        const nextSharding = checkSharding(ns, p.req.sharding, sharding, view.inaugural);
        const res = resolveWrite(p.req, reader, schema, metric, this.limits);
        sharding = nextSharding;
        if (overlay.size === 0) overlay = res.changes;
        else {
          for (const [id, doc] of res.changes) {
            overlay.delete(id);
            overlay.set(id, doc);
          }
        }
        schema = res.schema;
        metric = res.distanceMetric;
        if (p.idempotencyKey) {
          keys.push(p.idempotencyKey);
          seenKeys.add(p.idempotencyKey);
        }
        accepted.push({ p, res });
      } catch (error) {
        if (!isElaxError(error)) throw error;
        rejected.push({ p, error });
      }
    }
    const ops: WalOp[] = [];
    for (const [id, doc] of overlay) ops.push(doc ? { kind: 'upsert', doc } : { kind: 'delete', id });
    const schemaChanged = JSON.stringify(schema) !== JSON.stringify(view.schema);
    const metricChanged = metric !== view.distanceMetric;
    const shardingSet = sharding !== null && view.sharding === null;
    return { accepted, rejected, ops, schema, schemaChanged, metric, metricChanged, sharding, shardingSet, keys };
  }

  /**
   * The documents the batch's resolution will read (PlanBase), from one state of the view: if the view moved on while
   * we looked (another request's refresh folded new entries into it), look again.
   */
  private async prefetch(view: NamespaceView, batch: Pending[]): Promise<PlanBase> {
    const ids = idsRead(batch);
    const batchKeys = batch.map((p) => p.idempotencyKey).filter((k): k is string => !!k);
    for (let attempt = 0; ; attempt++) {
      const head = view.headSeq;
      const docs = await view.lookup(ids);
      // Keys are looked up (the tail's, then each part's keys file), never all held (RFC-0004 §7).
      const knownKeys = batchKeys.length > 0 ? await view.hasKeys(batchKeys) : new Set<string>();
      const filter = await this.filterMatches(view, batch[0]!.req);
      if (view.headSeq === head || attempt >= 5) {
        // After 5 moves we go with this state at `head`: the append at head + 1 then loses its race and re-plans.
        return { schema: view.schema, distanceMetric: view.distanceMetric, idempotencyKeys: knownKeys, docs, filter, head, sharding: view.sharding, inaugural: view.inaugural, walStart: view.router.wal_start };
      }
    }
  }

  /**
   * What the filter-based writes of `req` (first in its batch, so resolved on exactly this view) match: the ids
   * delete_by_filter matches (ids only: it may take millions, and a delete needs no document), then the documents
   * patch_by_filter matches among the rows the delete leaves; each at most its limit + 1, so that "more than the
   * limit" is known without reading further.
   */
  private async filterMatches(view: NamespaceView, req: WriteRequest): Promise<FilterMatches> {
    if (!hasFilterWrite(req)) return NO_FILTER_MATCHES;
    // Compiled as the resolver will (the view's schema plus the request's changes), leniently: a filter that does not
    // compile matches nothing here, and the resolver reports its error.
    let schema = view.schema;
    try {
      schema = mergeSchema(view.schema, req.schemaUpdate);
    } catch (e) {
      if (!isElaxError(e)) throw e; // the resolver reports the conflict
    }
    const scanOf = (spec: unknown): { filter: CompiledFilter; attrs: string[]; source: FilterScan['source'] } | null => {
      try {
        const filter = compileFilter(spec, schema, { unknownAttributes: 'null' });
        const attrs = filterAttributes(spec);
        // The raw filter for parts with filter indexes (RFC-0009): each leaf compiled exactly as the whole was.
        return { filter, attrs, source: { filter: spec, attrs, fuzzyAttrs: fuzzyAttributes(spec), compileLeaf: (leaf: unknown) => compileFilter(leaf, schema, { unknownAttributes: 'null' }) } };
      } catch (e) {
        if (!isElaxError(e)) throw e;
        return null;
      }
    };
    let deleteIds: readonly Id[] = [];
    let deleted: { filter: CompiledFilter; attrs: string[]; source: FilterScan['source']; skip: NonNullable<FilterScan['skip']> } | null = null;
    const del = req.deleteByFilter && scanOf(req.deleteByFilter.filter);
    if (del) {
      const limit = this.limits.deleteByFilterRows;
      const { ids, marked } = await view.matchingIds(del, limit + 1, limit - 1);
      deleteIds = ids;
      // "patch_by_filter will not apply to any rows which were deleted": all the delete's matches, or when it takes only
      // the first `limit` (allow_partial), those up to the limit-th.
      const upTo = ids.length > limit ? marked : null;
      const f = del.filter;
      deleted = { ...del, skip: (s, o, row) => f(row) && (upTo === null || s < upTo.seg || (s === upTo.seg && o <= upTo.ord)) };
    }
    let patchDocs: readonly Doc[] = [];
    const patch = req.patchByFilter && scanOf(req.patchByFilter.filter);
    if (patch) {
      const scan: FilterScan = deleted ? { filter: patch.filter, source: patch.source, attrs: [...new Set([...patch.attrs, ...deleted.attrs])], skip: deleted.skip } : patch;
      patchDocs = await view.matching(scan, this.limits.patchByFilterRows + 1);
    }
    return { deleteIds, patchDocs };
  }

  /** The view of `ns` at the current head, creating (or reviving) the namespace's router if needed. */
  private async ensureLive(ns: string): Promise<NamespaceView> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const view = await this.catalog.refresh(ns);
      if (view) return view;
      const nowIso = new Date(this.opts.clock.now()).toISOString();
      const read = await this.catalog.routers.read(ns);
      if (!read) {
        // RFC-0002 step 1: the first write creates epoch 0 with put-if-absent; losing means someone else did.
        await this.catalog.routers.create(RouterStore.initial(ns, 1, nowIso));
      } else if (read.router.deleted) {
        await this.catalog.routers.publish(read.router, read.witness, revived(read.router, nowIso));
      }
    }
    throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `could not create namespace ${ns}: router.json keeps changing`, { retryAfter: 1 });
  }

  /**
   * RFC-0001 step 5, after the append of entry `seq`: which incarnation it landed in. A delete may have tombstoned the
   * namespace between our plan and our append (its tombstone's wal_start is then ≤ seq: the entry belongs to the next
   * incarnation), and someone may have revived it since.
   *  - 'void': the entry was planned on the rows of another incarnation (meta.plan_wal_start, entryVoidIn): every reader
   *    skips it, and the batch is planned again on the state after the delete — nothing is revived for it.
   *  - 'deleted': a delete came after the plan. Either it saw the entry (wal_start > seq: the write is ordered before
   *    the delete, and gone with it), or the entry is valid in the next incarnation, which is then made to exist
   *    (revived here unless someone else did), or the acknowledged write would be invisible.
   *    So is an entry valid in an incarnation someone else revived (its router's wal_start is not `planWalStart`): the
   *    batch planned behind it read the incarnation it was planned on, and is planned again.
   *  - 'committed': the router is of the incarnation the entry was planned on.
   */
  private async checkIncarnation(ns: string, seq: number, meta: WalMeta, planWalStart: number): Promise<'committed' | 'deleted' | 'void'> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const read = await this.catalog.routers.read(ns);
      if (!read) return 'deleted';
      const r = read.router;
      if (r.wal_start > seq) return 'deleted';
      if (entryVoidIn(meta, r.wal_start)) return 'void';
      // After a lost publish: someone else revived it.
      if (!r.deleted) return attempt > 0 || r.wal_start !== planWalStart ? 'deleted' : 'committed';
      const out = await this.catalog.routers.publish(r, read.witness, revived(r, new Date(this.opts.clock.now()).toISOString()));
      if (out.ok) return 'deleted';
    }
    return 'deleted';
  }
}

function revived(tomb: import('../router/index.js').Router, nowIso: string) {
  const { deleted: _deleted, ...rest } = tomb;
  return RouterStore.next(rest, { created_at: nowIso }, nowIso);
}
