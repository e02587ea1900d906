/**
 * The soak's clients. Writers (half of them with an Idempotency-Key on every write) each own a disjoint id range in one namespace and, one op at a time, upsert, patch,
 * delete, or read back (strong) a few of their ids, feeding every outcome into the namespace's StateModel; a strong
 * read of their own ids must show a state the model allows (read-your-writes under faults). Readers run ANN, BM25,
 * filter and aggregation queries (strong and eventual) on random namespaces and only audit the answers' shape.
 */
import { rng } from '../lib.js';
import { call, type ErrorAudit, type Servers } from './client.js';
import { ABSENT, DIMS, docFor, stateOfRow, StateModel, type WriteOp } from './model.js';

export interface WorkloadOptions {
  seed: number;
  namespaces: string[];
  writers: number;
  readers: number;
  /** Ids per writer. */
  poolSize: number;
  /** Per-op retry budget. */
  opDeadlineMs: number;
}

export interface WorkloadStats {
  writes: Record<'upsert' | 'patch' | 'delete', { sent: number; acked: number; refused: number; unknown: number; late: number }>;
  readChecks: number;
  readCheckFailed: number;
  queries: Record<string, { ok: number; failed: number }>;
  ackLatencyMs: number[];
  attempts: number;
}

export const ID_BASE = 1_000_000;

export class Workload {
  readonly models = new Map<string, StateModel>();
  readonly stats: WorkloadStats = {
    writes: {
      upsert: { sent: 0, acked: 0, refused: 0, unknown: 0, late: 0 },
      patch: { sent: 0, acked: 0, refused: 0, unknown: 0, late: 0 },
      delete: { sent: 0, acked: 0, refused: 0, unknown: 0, late: 0 },
    },
    readChecks: 0,
    readCheckFailed: 0,
    queries: {},
    ackLatencyMs: [],
    attempts: 0,
  };
  /** Idempotency-Key of every write → its namespace and final outcome (checked against the WAL at the end). */
  readonly keyOutcomes = new Map<string, { ns: string; outcome: 'acked' | 'refused' | 'unknown' | 'late' }>();
  /** Strong reads of a writer's own ids that showed a state the model does not allow. */
  readonly readViolations: string[] = [];
  private stopping = false;
  private running: Promise<void>[] = [];

  constructor(
    private readonly o: WorkloadOptions,
    private readonly audit: ErrorAudit,
    private readonly servers: Servers,
  ) {
    for (const ns of o.namespaces) this.models.set(ns, new StateModel());
  }

  start(): void {
    for (let w = 0; w < this.o.writers; w++) this.running.push(this.writer(w));
    for (let r = 0; r < this.o.readers; r++) this.running.push(this.reader(r));
  }

  /** Stop starting ops; resolves when every in-flight op has finished (acked, refused or given up). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  private async writer(w: number): Promise<void> {
    const random = rng(this.o.seed * 1000 + w + 1);
    const ns = this.o.namespaces[w % this.o.namespaces.length]!;
    const model = this.models.get(ns)!;
    const base = (w + 1) * ID_BASE;
    let counter = 0;
    while (!this.stopping && !this.servers.aborted()) {
      const k = 1 + Math.floor(random() * 8);
      const ids = new Set<number>();
      for (let i = 0; i < k * 3 && ids.size < k; i++) {
        const id = base + 1 + Math.floor(random() * this.o.poolSize);
        if (!model.quarantined.has(id)) ids.add(id);
      }
      if (ids.size === 0) continue;
      const list = [...ids];
      const r = random();
      if (r < 0.15) {
        await this.readCheck(ns, model, list, random);
        continue;
      }
      counter++;
      const op: WriteOp = r < 0.6 ? { kind: 'upsert', v: counter } : r < 0.8 ? { kind: 'patch', p: counter } : { kind: 'delete' };
      const body =
        op.kind === 'upsert'
          ? { upsert_rows: list.map((id) => docFor(id, op.v)), distance_metric: 'euclidean_squared' }
          : op.kind === 'patch'
            ? { patch_rows: list.map((id) => ({ id, p: op.p })) }
            : { deletes: list };
      const s = this.stats.writes[op.kind];
      s.sent++;
      const t0 = Date.now();
      // Odd writers send no Idempotency-Key, like most clients: they cannot retry an attempt that may have been
      // applied, and the WAL audit can tell a write the server applied twice (its (id, v, p) in two entries).
      const keyless = w % 2 === 1;
      const key = `soak-${this.o.seed}-${w}-${counter}`;
      const res = await call(this.audit, this.servers, random, `write ${op.kind} ${ns}`, `/v2/namespaces/${ns}`, body, {
        headers: keyless ? {} : { 'idempotency-key': key },
        deadlineMs: this.o.opDeadlineMs,
        retryUnknown: !keyless,
      });
      this.stats.attempts += res.attempts;
      s[res.outcome]++;
      if (!keyless) this.keyOutcomes.set(key, { ns, outcome: res.outcome });
      if (res.outcome === 'acked') this.stats.ackLatencyMs.push(Date.now() - t0);
      if (res.outcome === 'late') model.quarantine(list, op);
      else model.apply(list, op, res.outcome);
      const opText = op.kind === 'upsert' ? `upsert v=${op.v}` : op.kind === 'patch' ? `patch p=${op.p}` : 'delete';
      model.note(list, `${opText} of ${list.length} ids${keyless ? '' : ` key ${key}`}: ${res.outcome} [${res.trail.join('; ')}]`);
    }
  }

  private async readCheck(ns: string, model: StateModel, ids: number[], random: () => number): Promise<void> {
    const res = await call(
      this.audit,
      this.servers,
      random,
      `strong read ${ns}`,
      `/v2/namespaces/${ns}/query`,
      { filters: ['id', 'In', ids], top_k: ids.length, include_attributes: ['v', 'p', 'tag', 'text', 'vector'], consistency: { level: 'strong' } },
      { deadlineMs: this.o.opDeadlineMs },
    );
    this.stats.attempts += res.attempts;
    if (res.outcome !== 'acked') {
      this.stats.readCheckFailed++;
      return;
    }
    this.stats.readChecks++;
    const rows = (res.body as { rows?: Record<string, unknown>[] }).rows ?? [];
    const seen = new Map(rows.map((row) => [row.id as number, row]));
    for (const id of ids) {
      const row = seen.get(id);
      const st = row ? stateOfRow(row) : { state: ABSENT };
      const bad = 'bad' in st ? `id ${id}: ${st.bad}` : model.check(id, st.state);
      if (bad) this.readViolations.push(`strong read in ${ns} after the writer's last outcome: ${bad} [${res.trail.join('; ')}]; the id's history:${model.historyOf(id)}`);
      model.note([id], `strong read: ${'bad' in st ? st.bad : st.state} [${res.trail.join('; ')}]`);
    }
    for (const id of seen.keys()) if (!ids.includes(id)) this.readViolations.push(`strong read in ${ns} for ids ${ids.join(',')} returned id ${id}`);
  }

  private async reader(n: number): Promise<void> {
    const random = rng(this.o.seed * 1000 + 500 + n);
    const words = ['amber', 'cedar', 'granite', 'iris', 'onyx', 'pine', 'delta harbor'];
    while (!this.stopping && !this.servers.aborted()) {
      const ns = this.o.namespaces[Math.floor(random() * this.o.namespaces.length)]!;
      const strong = random() < 0.5;
      const vec = Array.from({ length: DIMS }, () => Math.round((random() * 4 - 2) * 32) / 32);
      const kinds = ['ann', 'ann-filtered', 'bm25', 'filter', 'count'] as const;
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const body: Record<string, unknown> = { consistency: { level: strong ? 'strong' : 'eventual' } };
      if (kind === 'ann') Object.assign(body, { rank_by: ['vector', 'ANN', vec], top_k: 10, include_attributes: ['v'] });
      if (kind === 'ann-filtered') Object.assign(body, { rank_by: ['vector', 'ANN', vec], top_k: 10, filters: ['tag', 'Eq', `t${Math.floor(random() * 5)}`] });
      if (kind === 'bm25') Object.assign(body, { rank_by: ['text', 'BM25', words[Math.floor(random() * words.length)]], top_k: 10 });
      if (kind === 'filter')
        Object.assign(body, { rank_by: ['v', 'desc'], top_k: 50, filters: ['And', [['tag', 'In', ['t1', 't3']], ['v', 'Gte', Math.floor(random() * 50)]]] });
      if (kind === 'count') Object.assign(body, { aggregate_by: { n: ['Count'] }, filters: ['p', 'NotEq', null] });
      const label = `${kind}-${strong ? 'strong' : 'eventual'}`;
      const q = (this.stats.queries[label] ??= { ok: 0, failed: 0 });
      const res = await call(this.audit, this.servers, random, `query ${label} ${ns}`, `/v2/namespaces/${ns}/query`, body, { deadlineMs: this.o.opDeadlineMs });
      this.stats.attempts += res.attempts;
      if (res.outcome !== 'acked') {
        q.failed++;
        continue;
      }
      const b = res.body as { rows?: unknown; aggregations?: unknown };
      if (kind === 'count' ? typeof b.aggregations !== 'object' : !Array.isArray(b.rows)) {
        this.readViolations.push(`query ${label} ${ns}: answer without ${kind === 'count' ? 'aggregations' : 'rows'}: ${JSON.stringify(b).slice(0, 200)}`);
      }
      q.ok++;
    }
  }
}
