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
import { encodeWalEntry, WAL_FORMAT_VERSION, type WalMeta, type WalOp } from '../wal/index.js';
import type { WriteRequest } from '../schema/index.js';
import { compileFilter, filterAttributes } from '../filter/index.js';
import { resolveWrite, type Resolution, type StateReader } from './resolve.js';
import { declaresSchemaOrMetric } from './creates.js';

export interface WriteOutcome {
  seq: number | null;
  upserted: Id[];
  patched: Id[];
  deleted: Id[];
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
  /** Max documents a filter-based write may touch. Default 100_000. */
  maxFilterRows?: number;
  /** Give up after this many lost CAS races in a row (the store is under heavy contention). Default 50. */
  maxConflicts?: number;
  /** Called with each committed entry (metrics, indexer wake-up). */
  onCommit?: (ns: string, seq: number, rows: number, bytes: number) => void;
  onConflict?: (ns: string) => void;
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
  /** Live documents matching any filter of the batch (a superset is fine: the resolver filters again). */
  matches: readonly Doc[];
  /** The WAL head this state is at: the entry is appended at head + 1 (a lost race if the head moved since). */
  head: number;
}
const ABSENT: PlanBase = { schema: {}, distanceMetric: null, docs: new Map(), idempotencyKeys: new Set(), matches: [], head: 0 };
type Plan = ReturnType<WriteCoordinator['plan']>;

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
  private closed = false;
  private readonly opts: Required<Omit<CoordinatorOptions, 'onCommit' | 'onConflict'>> & Pick<CoordinatorOptions, 'onCommit' | 'onConflict'>;

  constructor(
    private readonly catalog: NamespaceCatalog,
    options: CoordinatorOptions,
  ) {
    this.opts = {
      groupCommitMs: 2,
      maxRowsPerEntry: 50_000,
      maxFilterRows: 100_000,
      maxConflicts: 50,
      ...options,
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
    if (this.opts.groupCommitMs > 0) await this.opts.sleep(this.opts.groupCommitMs);
    for (;;) {
      const q = this.queues.get(ns);
      if (!q || q.length === 0) {
        // Clear both in the same tick: a write arriving after this point must see no committer and start one.
        // (Clearing `running` later, in a .finally microtask, once left such a write queued forever.)
        this.queues.delete(ns);
        this.running.delete(ns);
        return;
      }
      const batch: Pending[] = [];
      let rows = 0;
      while (q.length > 0 && (batch.length === 0 || rows + q[0]!.rows <= this.opts.maxRowsPerEntry)) {
        const p = q.shift()!;
        rows += p.rows;
        batch.push(p);
      }
      try {
        await this.commit(ns, batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
  }

  private async commit(ns: string, batch: Pending[]): Promise<void> {
    let conflicts = 0;
    for (;;) {
      const current = await this.catalog.refresh(ns);
      if (!current) {
        // A namespace comes into existence with the first write that changes something (creates.ts). A batch that
        // changes nothing against the empty state is acknowledged as is: no router.json, no WAL entry (its
        // idempotency keys are not recorded either: replaying a no-op is a no-op).
        const dry = this.plan(ABSENT, batch);
        if (dry.ops.length === 0 && !dry.accepted.some((a) => declaresSchemaOrMetric(a.p.req))) {
          this.settle(dry, null);
          return;
        }
      }
      const view = current ?? (await this.ensureLive(ns));
      const base = await this.prefetch(view, batch);
      const plan = this.plan(base, batch);
      if (plan.accepted.length === 0) {
        for (const r of plan.rejected) r.p.reject(r.error);
        return;
      }
      const seq = base.head + 1;
      let committedSeq: number | null = null;
      let bytes: Uint8Array | null = null;
      if (plan.ops.length > 0 || plan.schemaChanged || plan.metricChanged || plan.keys.length > 0) {
        const meta: WalMeta = {
          format_version: WAL_FORMAT_VERSION,
          namespace: ns,
          committed_at: this.opts.clock.now(),
          requests: plan.accepted.length,
          ...(plan.schemaChanged ? { schema: plan.schema } : {}),
          ...(plan.metricChanged && plan.metric ? { distance_metric: plan.metric } : {}),
          ...(plan.keys.length > 0 ? { idempotency_keys: plan.keys } : {}),
        };
        bytes = encodeWalEntry(meta, plan.ops);
        const out = await this.catalog.wal(ns).append(seq, bytes); // RFC-0001 step 3
        if (!out.ok) {
          conflicts++;
          this.opts.onConflict?.(ns);
          if (conflicts >= this.opts.maxConflicts) {
            throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `gave up appending to ${ns} after ${conflicts} lost races; retry`, { retryAfter: 1 });
          }
          continue; // RFC-0001 step 4: someone else took seq; refresh and resolve again
        }
        committedSeq = seq;
        // Fold what we wrote (no need to decode the bytes we just encoded).
        this.catalog.applyCommitted(ns, { seq, meta, ops: plan.ops }, bytes.length);
        await this.reviveIfDeletedUnder(ns, seq); // RFC-0001 step 5
        this.opts.onCommit?.(ns, seq, plan.ops.length, bytes.length);
      }
      this.settle(plan, committedSeq);
      return;
    }
  }

  /** Answer every request of a planned batch: reject the rejected, acknowledge the rest at `seq`. */
  private settle(plan: Plan, seq: number | null): void {
    for (const r of plan.rejected) r.p.reject(r.error);
    for (const a of plan.accepted) {
      a.p.resolve({
        seq,
        upserted: a.res?.upserted ?? [],
        patched: a.res?.patched ?? [],
        deleted: a.res?.deleted ?? [],
        rowsRemaining: a.res?.rowsRemaining ?? false,
        duplicate: a.res === null,
      });
    }
  }

  /** Resolve every request of the batch in order on top of the view; collect the combined entry. */
  private plan(view: PlanBase, batch: Pending[]) {
    const overlay = new Map<Id, Doc | null>();
    let schema = view.schema;
    let metric = view.distanceMetric;
    const accepted: { p: Pending; res: Resolution | null }[] = [];
    const rejected: { p: Pending; error: unknown }[] = [];
    const keys: string[] = [];
    const seenKeys = new Set<string>();
    const reader: StateReader = {
      get: (id) => (overlay.has(id) ? (overlay.get(id) ?? undefined) : view.docs.get(id)),
      scan: function* () {
        for (const d of view.matches) if (!overlay.has(d.id)) yield d;
        for (const d of overlay.values()) if (d) yield d;
      },
    };
    for (const p of batch) {
      if (p.idempotencyKey && (view.idempotencyKeys.has(p.idempotencyKey) || seenKeys.has(p.idempotencyKey))) {
        accepted.push({ p, res: null });
        continue;
      }
      try {
        const res = resolveWrite(p.req, reader, schema, metric, { maxFilterRows: this.opts.maxFilterRows });
        for (const [id, doc] of res.changes) {
          overlay.delete(id);
          overlay.set(id, doc);
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
    return { accepted, rejected, ops, schema, schemaChanged, metric, metricChanged, keys };
  }

  /**
   * The documents the batch's resolution will read (PlanBase), from one state of the view: if the view moved on while
   * we looked (another request's refresh folded new entries into it), look again.
   */
  private async prefetch(view: NamespaceView, batch: Pending[]): Promise<PlanBase> {
    const ids = new Set<Id>();
    const filters: unknown[] = [];
    let rows = 0;
    for (const { req } of batch) {
      for (const p of req.patches) ids.add(p.id);
      for (const id of req.deletes) ids.add(id);
      if (req.upsertCondition !== undefined) for (const d of req.upserts) ids.add(d.id);
      if (req.deleteByFilter) filters.push(req.deleteByFilter.filter);
      if (req.patchByFilter) filters.push(req.patchByFilter.filter);
      rows += req.upserts.length + req.patches.length + req.deletes.length;
    }
    const batchKeys = batch.map((p) => p.idempotencyKey).filter((k): k is string => !!k);
    for (let attempt = 0; ; attempt++) {
      const head = view.headSeq;
      const docs = await view.lookup(ids);
      // Keys are looked up (the tail's, then each part's keys file), never all held (RFC-0004 §7).
      const knownKeys = batchKeys.length > 0 ? await view.hasKeys(batchKeys) : new Set<string>();
      const matches: Doc[] = [];
      const seen = new Set<Id>();
      // Enough matches to tell "more than the limit" even after earlier requests of the batch removed some.
      const max = this.opts.maxFilterRows + 1 + rows;
      for (const spec of filters) {
        let found: Doc[];
        try {
          // Lenient here (missing attributes read as null): the resolver compiles it for real against the merged schema.
          const f = compileFilter(spec, view.schema, { unknownAttributes: 'null' });
          found = await view.matching(f, filterAttributes(spec), max);
        } catch (e) {
          if (!isElaxError(e)) throw e;
          found = []; // the resolver reports the filter's error, or filters these itself
          for await (const d of view.liveDocs()) found.push(d);
        }
        for (const d of found) if (!seen.has(d.id) && (seen.add(d.id), true)) matches.push(d);
      }
      if (view.headSeq === head || attempt >= 5) {
        // After 5 moves we go with this state at `head`: the append at head + 1 then loses its race and re-plans.
        return { schema: view.schema, distanceMetric: view.distanceMetric, idempotencyKeys: knownKeys, docs, matches, head };
      }
    }
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
   * A delete may have tombstoned the namespace between our refresh and our append. Our entry sits above the
   * tombstone's highwater, so it belongs to the next incarnation: make sure that incarnation exists, or the
   * acknowledged write would be invisible.
   */
  private async reviveIfDeletedUnder(ns: string, seq: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const read = await this.catalog.routers.read(ns);
      if (!read || !read.router.deleted || read.router.wal_start > seq) return;
      const out = await this.catalog.routers.publish(read.router, read.witness, revived(read.router, new Date(this.opts.clock.now()).toISOString()));
      if (out.ok) return;
    }
  }
}

function revived(tomb: import('../router/index.js').Router, nowIso: string) {
  const { deleted: _deleted, ...rest } = tomb;
  return RouterStore.next(rest, { created_at: nowIso }, nowIso);
}
