/**
 * Checks run before every router publish. Each is pure: (next, current) → void, throwing ElaxError on violation.
 * A violation is a bug in the publisher, never a user error, so the kind is `corrupt`/internal.
 */
import { ElaxError, isNumShards } from '../core/index.js';
import { parseCodebookName } from '../store/index.js';
import { MAX_ROUTER_FORMAT_VERSION, MIN_ROUTER_FORMAT_VERSION, ROUTER_FORMAT_VERSION, SHARDED_ROUTER_FORMAT, SHARED_PARTS_ROUTER_FORMAT, hasBorrowedParts, isRouterPinning, isTunedEps0, type Router } from './types.js';

type Invariant = { name: string; why: string; check: (next: Router, current: Router | null) => string | null };

export const ROUTER_INVARIANTS: readonly Invariant[] = [
  {
    name: 'format-version',
    why: 'readers must be able to parse what we publish',
    check: (next, cur) => {
      if (next.format_version < MIN_ROUTER_FORMAT_VERSION || next.format_version > MAX_ROUTER_FORMAT_VERSION) return `format_version ${next.format_version} is not ${MIN_ROUTER_FORMAT_VERSION}..${MAX_ROUTER_FORMAT_VERSION}`;
      // Liveness moves from the fold (1) to deletion vectors (2) once, never back: a v1 reader of v2 data is wrong.
      if (cur && next.format_version < cur.format_version) return `format_version moved back from ${cur.format_version} to ${next.format_version}`;
      // A branch or copy (RFC-0011) is created at its source's format, or 3 when it borrows parts.
      if (!cur && next.format_version < ROUTER_FORMAT_VERSION) return `a new router must be format ${ROUTER_FORMAT_VERSION} or later`;
      if (hasBorrowedParts(next) && next.format_version < SHARED_PARTS_ROUTER_FORMAT) return `borrowed parts (home) need router format ${SHARED_PARTS_ROUTER_FORMAT}`;
      const own = [...next.parts, ...(next.retired_parts ?? [])].find((p) => p.home === next.namespace);
      if (own) return `part ${own.id} names its own namespace as home`;
      return null;
    },
  },
  {
    name: 'pinning-well-formed',
    why: 'every node reads router.pinning to decide what its cache holds',
    check: (next) => (next.pinning === undefined || isRouterPinning(next.pinning) ? null : `pinning ${JSON.stringify(next.pinning)} is not {replicas: positive integer, pinned_at: ISO time}`),
  },
  {
    name: 'same-namespace',
    why: 'a router never moves between namespaces',
    check: (next, cur) => (cur && cur.namespace !== next.namespace ? `namespace changed from ${cur.namespace} to ${next.namespace}` : null),
  },
  {
    name: 'epoch-advances-by-one',
    why: 'epochs order every published state; equal epochs would make two states indistinguishable',
    check: (next, cur) => {
      if (!cur) return next.epoch === 0 ? null : `a new router must start at epoch 0, got ${next.epoch}`;
      return next.epoch === cur.epoch + 1 ? null : `epoch must advance from ${cur.epoch} to ${cur.epoch + 1}, got ${next.epoch}`;
    },
  },
  {
    name: 'indexed-wal-monotonic',
    why: 'WAL entries at or below indexed_wal may be garbage collected; moving it back would resurrect nothing',
    check: (next, cur) => (cur && !cur.deleted && !next.deleted && next.wal_start === cur.wal_start && next.indexed_wal < cur.indexed_wal ? `indexed_wal moved back from ${cur.indexed_wal} to ${next.indexed_wal}` : null),
  },
  {
    name: 'wal-start-monotonic',
    why: 'sequence numbers are never reused across incarnations',
    check: (next, cur) => (cur && next.wal_start < cur.wal_start ? `wal_start moved back from ${cur.wal_start} to ${next.wal_start}` : null),
  },
  {
    name: 'parts-within-indexed-range',
    why: 'a part may only cover WAL entries that indexed_wal says are covered',
    check: (next) => {
      for (const p of next.parts) {
        if (p.wal_end > next.indexed_wal) return `part ${p.id} ends at ${p.wal_end} > indexed_wal ${next.indexed_wal}`;
        if (p.wal_start > p.wal_end) return `part ${p.id} has an empty range ${p.wal_start}..${p.wal_end}`;
      }
      return null;
    },
  },
  {
    name: 'parts-ordered-contiguous',
    why: 'the fold applies parts oldest first and compaction merges adjacent runs: unsharded, each part starts right after the previous one ends (no gap, no overlap); sharded (RFC-0013), parts are sorted by (wal_start, shard) and each shard\'s parts are ordered and never overlap (a shard with nothing in a range has no part for it)',
    check: (next) => {
      if (next.sharding !== undefined) {
        const lastEnd = new Map<number, { id: string; end: number }>();
        for (let i = 0; i < next.parts.length; i++) {
          const b = next.parts[i]!;
          const a = next.parts[i - 1];
          if (a && (b.wal_start < a.wal_start || (b.wal_start === a.wal_start && (b.shard ?? -1) <= (a.shard ?? -1)))) {
            return `part ${b.id} (wal_start ${b.wal_start}, shard ${b.shard}) comes after ${a.id} (wal_start ${a.wal_start}, shard ${a.shard}): parts must be sorted by (wal_start, shard)`;
          }
          const prev = lastEnd.get(b.shard ?? -1);
          if (prev && b.wal_start <= prev.end) return `part ${b.id} of shard ${b.shard} starts at ${b.wal_start}, inside ${prev.id} of the same shard (ends at ${prev.end})`;
          lastEnd.set(b.shard ?? -1, { id: b.id, end: b.wal_end });
        }
      } else {
        for (let i = 1; i < next.parts.length; i++) {
          const a = next.parts[i - 1]!;
          const b = next.parts[i]!;
          if (b.wal_start !== a.wal_end + 1) return `part ${b.id} starts at ${b.wal_start}, but the part before it (${a.id}) ends at ${a.wal_end}`;
        }
      }
      const first = next.parts[0];
      if (first && !next.deleted && first.wal_start < next.wal_start) return `part ${first.id} starts at ${first.wal_start}, before wal_start ${next.wal_start}`;
      return null;
    },
  },
  {
    name: 'sharding-fixed',
    why: 'a document\'s shard is a function of its id and num_shards (RFC-0013): sharding is set once per incarnation and never changes, every part of a sharded namespace belongs to one of its shards and no part of an unsharded one does, and readers that do not know shards must not read them',
    check: (next, cur) => {
      const s = next.sharding;
      if (s !== undefined) {
        if (!isNumShards(s?.num_shards)) return `sharding.num_shards ${JSON.stringify(s?.num_shards)} is not an integer 1..256`;
        if (next.format_version < SHARDED_ROUTER_FORMAT) return `a sharded router must be format ${SHARDED_ROUTER_FORMAT}, got ${next.format_version}`;
        if (next.deleted) return 'a deleted namespace keeps no sharding';
      }
      for (const p of next.parts) {
        if (s === undefined && p.shard !== undefined) return `part ${p.id} has shard ${p.shard} but the namespace is not sharded`;
        if (s !== undefined && !(Number.isInteger(p.shard) && p.shard! >= 0 && p.shard! < s.num_shards)) return `part ${p.id} has shard ${JSON.stringify(p.shard)}, not 0..${s.num_shards - 1}`;
      }
      if (cur && !cur.deleted && !next.deleted && cur.wal_start === next.wal_start && cur.sharding !== undefined && next.sharding?.num_shards !== cur.sharding.num_shards) {
        return `sharding changed from ${JSON.stringify(cur.sharding)} to ${JSON.stringify(next.sharding ?? null)} within an incarnation`;
      }
      return null;
    },
  },
  {
    name: 'parts-unique',
    why: 'a part referenced twice would have its rows counted twice',
    check: (next) => {
      const seen = new Set<string>();
      for (const p of next.parts) {
        if (seen.has(p.id)) return `part ${p.id} is listed twice`;
        seen.add(p.id);
      }
      return null;
    },
  },
  {
    name: 'deletes-within-part',
    why: 'a deletion vector counts dead rows of its own part; more dead rows than rows means it belongs to another part',
    check: (next) => {
      for (const p of next.parts) {
        if (p.deletes && (p.deletes.count > p.rows || next.format_version < 2)) return `part ${p.id} has deletes (${p.deletes.count} of ${p.rows} rows) under router format ${next.format_version}`;
      }
      return null;
    },
  },
  {
    name: 'retired-parts-not-referenced',
    why: 'GC deletes retired parts after a grace period: a part that is still referenced must never be on that list',
    check: (next) => {
      const live = new Set(next.parts.map((p) => p.id));
      const back = (next.retired_parts ?? []).find((p) => live.has(p.id));
      return back ? `part ${back.id} is both referenced and retired` : null;
    },
  },
  {
    name: 'vindex-well-formed',
    why: 'readers find the codebook by the name and check it holds the version the router says (RFC-0008 §1)',
    check: (next) => {
      const v = next.vindex;
      if (v === undefined) return null;
      const named = typeof v?.codebook === 'string' ? parseCodebookName(v.codebook) : null;
      if (named === null) return `vindex.codebook ${JSON.stringify(v?.codebook)} is not a codebook object name`;
      if (named.version !== v.version) return `vindex.version ${v.version} differs from the version in its name (${named.version})`;
      const p = v.probes_min;
      if (!(p === undefined || (Number.isSafeInteger(p) && p >= 1))) return `vindex.probes_min ${JSON.stringify(p)} is not a positive integer`;
      return v.eps0 === undefined || isTunedEps0(v.eps0) ? null : `vindex.eps0 ${JSON.stringify(v.eps0)} is not a number in (0, 10]`;
    },
  },
  {
    name: 'vindex-append-only',
    why: 'a centroid id must keep its meaning for every part built against an older codebook version, so within an incarnation the codebook only moves to a higher version (RFC-0008 §1); a deleted namespace keeps none (its next incarnation may have other dimensions or metric)',
    check: (next, cur) => {
      if (next.deleted && next.vindex) return `deleted namespace still names codebook ${next.vindex.codebook}`;
      const was = cur?.vindex;
      if (!was || cur.deleted || next.wal_start !== cur.wal_start) return null;
      if (!next.vindex) return `vindex (codebook version ${was.version}) was dropped`;
      if (next.vindex.version < was.version) return `codebook version moved back from ${was.version} to ${next.vindex.version}`;
      if (next.vindex.version === was.version && next.vindex.codebook !== was.codebook) return `codebook version ${was.version} changed object from ${was.codebook} to ${next.vindex.codebook}`;
      return null;
    },
  },
  {
    name: 'vindex-tuning-kept',
    why: 'the probe depth and ε0 `elax recall --tune` recorded (vindex.probes_min and vindex.eps0, RFC-0008 §5) stay meaningful when the codebook grows (centroid ids are stable): a publish that moves the codebook must carry them over (withCodebook), only one that keeps the codebook may change or clear them',
    check: (next, cur) => {
      const was = cur?.vindex;
      if (!was || (was.probes_min === undefined && was.eps0 === undefined) || cur.deleted || next.deleted || next.wal_start !== cur.wal_start || !next.vindex) return null;
      if (next.vindex.codebook === was.codebook) return null;
      if (was.probes_min !== undefined && next.vindex.probes_min === undefined) return `probes_min ${was.probes_min} was dropped when the codebook moved from ${was.codebook} to ${next.vindex.codebook}`;
      if (was.eps0 !== undefined && next.vindex.eps0 === undefined) return `eps0 ${was.eps0} was dropped when the codebook moved from ${was.codebook} to ${next.vindex.codebook}`;
      return null;
    },
  },
  {
    name: 'ivf-parts-have-codebook',
    why: 'a clustered (format 3) part is read through the namespace codebook: without one its clusters mean nothing',
    check: (next) => {
      const p = next.vindex ? undefined : next.parts.find((x) => x.index_kind === 'ivf');
      return p ? `part ${p.id} has a clustered index but the router names no codebook` : null;
    },
  },
];

export function checkRouterInvariants(next: Router, current: Router | null): void {
  for (const inv of ROUTER_INVARIANTS) {
    const problem = inv.check(next, current);
    if (problem) throw new ElaxError('ELAX_ERR_CORRUPT', `router invariant '${inv.name}' violated for ${next.namespace}: ${problem} (${inv.why})`);
  }
}
