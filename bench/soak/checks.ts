/**
 * The soak's end checks, run after faults stop and every process is up again:
 *  1. the indexers index every namespace's tail within `catchUpMs` (recovery: nothing stays stuck);
 *  2. a fresh `elax serve` straight on radosgw (no proxy) and each chaos server read every row back (strong,
 *     paged by id): each id the clients wrote is in a state the model allows — exactly the acknowledged state
 *     unless its last write's outcome is unknown — deleted ids are absent, and no other id exists;
 *  3. the WAL, read straight from radosgw: sequence numbers 1..head without a gap, every acknowledged write's
 *     Idempotency-Key in exactly one entry, a refused write's key in none, no key in two entries, and no document
 *     version (id, v, p) upserted by two entries: either is a write applied twice, e.g. a WAL append that landed
 *     but was taken for a lost race and appended again (versions are unique per write, and keyless writers never
 *     retry an attempt that may have been applied, so a duplicate is the server's doing).
 */
import type { ObjectStore } from '../../crates-ts/store/index.js';
import { WalLog, decodeWalEntry } from '../../crates-ts/wal/index.js';
import { statusAll, type NamespaceStatus } from '../../cli/admin.js';
import { Supervisor, type Slot } from './procs.js';
import { ABSENT, stateOfRow, type StateModel } from './model.js';

export interface FinalReport {
  namespaces: {
    ns: string;
    rows: number;
    idsChecked: number;
    exact: number;
    ambiguous: number;
    quarantined: number;
    walHighwater: number;
    indexedWal: number;
    parts: number;
    lastIndexerError: string | null;
  }[];
  catchUpMs: number | null;
  violations: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readAll(url: string, ns: string): Promise<Map<number, Record<string, unknown>>> {
  const rows = new Map<number, Record<string, unknown>>();
  let after = -1;
  for (;;) {
    const r = await fetch(`${url}/v2/namespaces/${ns}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        rank_by: ['id', 'asc'],
        top_k: 1200,
        filters: ['id', 'Gt', after],
        include_attributes: ['v', 'p', 'tag', 'text', 'vector'],
        consistency: { level: 'strong' },
      }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`read-back of ${ns} via ${url}: ${r.status} ${text.slice(0, 300)}`);
    const page = (JSON.parse(text) as { rows: Record<string, unknown>[] }).rows;
    for (const row of page) rows.set(row.id as number, row);
    if (page.length < 1200) return rows;
    after = page[page.length - 1]!.id as number;
  }
}

/** Violations of `rows` (as read through `via`) against the model. */
function compare(ns: string, via: string, rows: Map<number, Record<string, unknown>>, model: StateModel): string[] {
  const out: string[] = [];
  const known = new Set(model.ids());
  for (const id of known) {
    const row = rows.get(id);
    const st = row ? stateOfRow(row) : { state: ABSENT };
    const bad = 'bad' in st ? `id ${id}: ${st.bad}` : model.check(id, st.state);
    if (bad) out.push(`final read of ${ns} via ${via}: ${bad}${model.exact(id) ? ' (acknowledged)' : ''}; the id's history:${model.historyOf(id)}`);
  }
  for (const id of rows.keys()) if (!known.has(id)) out.push(`final read of ${ns} via ${via}: id ${id} exists but no client ever wrote it`);
  return out;
}

type KeyOutcome = { ns: string; outcome: 'acked' | 'refused' | 'unknown' | 'late' };

/**
 * Check 3: WAL continuity and each write's Idempotency-Key against its outcome. With `collected` (GC ran with a
 * short retention) the log may start above 1 and an acknowledged write's entry may be gone: only continuity from
 * the first entry and duplicates among the remaining entries are checked.
 */
async function auditWal(store: ObjectStore, namespaces: string[], keys: Map<string, KeyOutcome>, collected: boolean): Promise<{ violations: string[]; entries: Map<string, number> }> {
  const violations: string[] = [];
  const entries = new Map<string, number>();
  const seenIn = new Map<string, number[]>();
  const versionsIn = new Map<string, number[]>();
  for (const ns of namespaces) {
    const log = new WalLog(store, ns);
    const objs = await log.listAfter(0);
    entries.set(ns, objs.length);
    const first = collected && objs.length > 0 ? objs[0]!.seq : 1;
    objs.forEach((x, i) => {
      if (x.seq !== first + i) violations.push(`WAL of ${ns}: entry ${i + 1} is seq ${x.seq} (a gap or a missing start)`);
    });
    for (let i = 0; i < objs.length; i += 16) {
      const batch = await Promise.all(objs.slice(i, i + 16).map(async (x) => ({ seq: x.seq, bytes: await log.readBytes(x.seq) })));
      for (const { seq, bytes } of batch) {
        if (!bytes) {
          violations.push(`WAL of ${ns}: seq ${seq} was listed but cannot be read`);
          continue;
        }
        const entry = decodeWalEntry(seq, bytes);
        for (const k of entry.meta.idempotency_keys ?? []) seenIn.set(`${ns} ${k}`, [...(seenIn.get(`${ns} ${k}`) ?? []), seq]);
        for (const op of entry.ops) {
          if (op.kind !== 'upsert') continue;
          const a = op.doc.attrs;
          const version = `${ns} id ${String(op.doc.id)} v ${String(a.v)} p ${String(a.p ?? '-')}`;
          versionsIn.set(version, [...(versionsIn.get(version) ?? []), seq]);
        }
      }
    }
  }
  for (const [nsKey, seqs] of seenIn) if (seqs.length > 1) violations.push(`WAL: write ${nsKey} was applied ${seqs.length} times (seqs ${seqs.join(', ')}): a retried or re-resolved write must be committed once`);
  for (const [version, seqs] of versionsIn) if (seqs.length > 1) violations.push(`WAL: document version ${version} was written by ${seqs.length} entries (seqs ${seqs.join(', ')}): one write applied twice`);
  for (const [k, o] of keys) {
    const seqs = seenIn.get(`${o.ns} ${k}`) ?? [];
    if (o.outcome === 'acked' && seqs.length === 0 && !collected) violations.push(`WAL: acknowledged write ${k} (${o.ns}) is in no WAL entry`);
    if (o.outcome === 'refused' && seqs.length > 0) violations.push(`WAL: write ${k} (${o.ns}) was refused to the client (never applied) but is in WAL seq ${seqs.join(', ')}`);
  }
  return { violations, entries };
}

export async function finalChecks(o: {
  store: string;
  directStore: ObjectStore;
  namespaces: string[];
  models: Map<string, StateModel>;
  keyOutcomes: Map<string, KeyOutcome>;
  /** `elax gc` ran with a short WAL retention: entries may be gone (see auditWal). */
  walCollected: boolean;
  /** Environment for the check server: straight to radosgw. */
  env: Record<string, string>;
  chaosServers: Slot[];
  scratchDir: string;
  catchUpMs: number;
  log: (line: string) => void;
}): Promise<FinalReport> {
  const violations: string[] = [];
  const t0 = Date.now();
  let status: NamespaceStatus[] = [];
  let caughtUp: number | null = null;
  while (Date.now() - t0 < o.catchUpMs) {
    try {
      status = await statusAll(o.directStore);
      const pending = status.filter((s) => o.namespaces.includes(s.namespace) && (s.indexed_wal < s.wal_highwater || s.failed_entries.length > 0));
      if (status.length >= o.namespaces.length && pending.length === 0) {
        caughtUp = Date.now() - t0;
        break;
      }
    } catch (e) {
      o.log(`status: ${(e as Error).message}`);
    }
    await sleep(1000);
  }
  if (caughtUp === null) {
    for (const s of status) {
      if (s.indexed_wal < s.wal_highwater || s.failed_entries.length > 0)
        violations.push(
          `indexers did not index ${s.namespace} within ${o.catchUpMs} ms after faults stopped: wal_highwater ${s.wal_highwater}, indexed_wal ${s.indexed_wal}, failed_entries ${JSON.stringify(s.failed_entries)}, last_error ${s.last_error}`,
        );
    }
  } else o.log(`indexers caught up ${caughtUp} ms after faults stopped`);

  try {
    violations.push(...(await auditWal(o.directStore, o.namespaces, o.keyOutcomes, o.walCollected)).violations);
  } catch (e) {
    violations.push(`WAL audit failed: ${(e as Error).message}`);
  }

  const check = new Supervisor({ store: o.store, env: o.env, scratchDir: o.scratchDir }, [{ name: 'check-server', kind: 'server', args: ['--no-indexer'] }]);
  const report: FinalReport['namespaces'] = [];
  try {
    if (!(await check.slots[0]!.start())) throw new Error(`the check server did not start: ${check.slots[0]!.stderrTail().slice(-2000)}`);
    const readers = [{ via: 'a fresh server (no proxy)', url: check.slots[0]!.url }, ...o.chaosServers.filter((s) => s.alive).map((s) => ({ via: s.name, url: s.url }))];
    for (const ns of o.namespaces) {
      const model = o.models.get(ns)!;
      let rows = 0;
      for (const r of readers) {
        const got = await readAll(r.url, ns);
        if (r === readers[0]) rows = got.size;
        const v = compare(ns, r.via, got, model);
        if (v.length > 20) violations.push(...v.slice(0, 20), `... and ${v.length - 20} more for ${ns} via ${r.via}`);
        else violations.push(...v);
      }
      const ids = model.ids();
      const s = status.find((x) => x.namespace === ns);
      report.push({
        ns,
        rows,
        idsChecked: ids.length,
        exact: ids.filter((id) => model.exact(id)).length,
        ambiguous: ids.filter((id) => !model.exact(id)).length,
        quarantined: model.quarantined.size,
        walHighwater: s?.wal_highwater ?? -1,
        indexedWal: s?.indexed_wal ?? -1,
        parts: s?.parts ?? -1,
        lastIndexerError: s?.last_error ?? null,
      });
    }
  } catch (e) {
    violations.push(`final read failed: ${(e as Error).message}`);
  } finally {
    await check.stopAll();
  }
  for (const x of check.unexpectedExits()) violations.push(`check-server (pid ${x.pid}) died unexpectedly: ${x.reason}; stderr tail:\n${x.stderrTail.slice(-3000)}`);
  violations.push(...check.violations);
  return { namespaces: report, catchUpMs: caughtUp, violations };
}
