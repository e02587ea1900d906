/**
 * What the soak's documents must look like, and which states each id may be in.
 *
 * A document is a pure function of (id, version v) plus an optional patched attribute p, so a state is a short
 * string: 'absent', 'v' or 'v/p'. Each id is written by one client at a time (ids are partitioned between
 * clients), so its writes are ordered. An acknowledged write moves every possible state through the write; a write
 * with an unknown outcome (5xx, reset, the server killed mid-request) may or may not have applied, so the possible
 * states become the union of before and after. A write refused before it could apply (connection refused, 429)
 * leaves them unchanged. Conditional-write ordering in the WAL guarantees that a write whose server died can only
 * land before any later write (it targeted an earlier or equal sequence number, and every later acknowledged write
 * took a sequence number, even one that changed nothing: RFC-0001 "Fences"), so unknown writes never reorder.
 * (A client whose connection to a server being stopped gracefully was reset waits for that process to exit, since
 * it may still flush the write.) A write whose server may still be working on it (the client gave up waiting, or
 * the connection dropped while the server lives) could land after a later write: its ids are quarantined (no
 * further writes) and accept either state.
 */

export type WriteOp = { kind: 'upsert'; v: number } | { kind: 'patch'; p: number } | { kind: 'delete' };

export const ABSENT = 'absent';
export const DIMS = 8;
/** Above this many possible states an id is no longer checked exactly (counted in the summary). */
const MAX_STATES = 64;

const WORDS = ['amber', 'basalt', 'cedar', 'delta', 'ember', 'fjord', 'granite', 'harbor', 'iris', 'juniper', 'kelp', 'lichen', 'marble', 'nectar', 'onyx', 'pine'];

function mix(a: number, b: number, c: number): number {
  let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b) ^ Math.imul(c + 0x165667b1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return (h ^ (h >>> 12)) >>> 0;
}

/** Vector components are multiples of 1/32 in [-2, 2): exact in f32, so a read-back compares equal. */
export function vectorFor(id: number, v: number): number[] {
  return Array.from({ length: DIMS }, (_, d) => ((mix(id, v, d) % 128) - 64) / 32);
}

export function textFor(id: number, v: number): string {
  return Array.from({ length: 4 }, (_, i) => WORDS[mix(id, v, 100 + i) % WORDS.length]).join(' ');
}

export function tagFor(id: number, v: number): string {
  return `t${(id + v) % 5}`;
}

export function docFor(id: number, v: number): { id: number; vector: number[]; v: number; tag: string; text: string } {
  return { id, vector: vectorFor(id, v), v, tag: tagFor(id, v), text: textFor(id, v) };
}

export function applyOp(state: string, op: WriteOp): string {
  if (op.kind === 'upsert') return String(op.v);
  if (op.kind === 'delete') return ABSENT;
  if (state === ABSENT) return ABSENT; // patches of missing ids are ignored
  return `${state.split('/')[0]}/${op.p}`;
}

/** The state a row read back represents, or a reason it is not any valid document. */
export function stateOfRow(row: Record<string, unknown>): { state: string } | { bad: string } {
  const id = row.id as number;
  const v = row.v;
  if (typeof v !== 'number') return { bad: `attribute v is ${JSON.stringify(v)}` };
  const want = docFor(id, v);
  if (row.tag !== want.tag) return { bad: `tag ${JSON.stringify(row.tag)} != ${want.tag} for v=${v}` };
  if (row.text !== want.text) return { bad: `text ${JSON.stringify(row.text)} != ${JSON.stringify(want.text)} for v=${v}` };
  if (row.vector !== undefined) {
    const vec = row.vector as number[];
    if (!Array.isArray(vec) || vec.length !== DIMS || vec.some((x, i) => x !== want.vector[i])) return { bad: `vector ${JSON.stringify(vec)} != ${JSON.stringify(want.vector)} for v=${v}` };
  }
  const p = row.p;
  if (p === undefined || p === null) return { state: String(v) };
  if (typeof p !== 'number') return { bad: `attribute p is ${JSON.stringify(p)}` };
  return { state: `${v}/${p}` };
}

export type Outcome = 'acked' | 'unknown' | 'refused';

export class StateModel {
  private readonly possible = new Map<number, Set<string>>();
  readonly quarantined = new Set<number>();
  /** Ids whose state set grew past MAX_STATES: no longer checked. */
  readonly unchecked = new Set<number>();
  /** Per id, what happened to it (writes with their outcomes and attempts, reads): printed with a violation. */
  private readonly history = new Map<number, string[]>();

  /** Adds a line to each id's history. */
  note(ids: number[], line: string): void {
    for (const id of ids) {
      const h = this.history.get(id) ?? [];
      h.push(line);
      if (h.length > 40) h.splice(0, h.length - 40);
      this.history.set(id, h);
    }
  }

  /** The id's history, one indented line per event (empty when nothing was noted). */
  historyOf(id: number): string {
    return (this.history.get(id) ?? []).map((l) => `\n      ${l}`).join('');
  }

  /** Every id ever written (or tried). */
  ids(): number[] {
    return [...this.possible.keys()];
  }

  states(id: number): Set<string> {
    return this.possible.get(id) ?? new Set([ABSENT]);
  }

  apply(ids: number[], op: WriteOp, outcome: Outcome): void {
    for (const id of ids) {
      const before = this.states(id);
      if (outcome === 'refused') {
        this.possible.set(id, before);
        continue;
      }
      const after = new Set([...before].map((s) => applyOp(s, op)));
      const next = outcome === 'acked' ? after : new Set([...before, ...after]);
      if (next.size > MAX_STATES) this.unchecked.add(id);
      this.possible.set(id, next);
    }
  }

  /** The write's server may still apply it later: freeze these ids, accepting before or after. */
  quarantine(ids: number[], op: WriteOp): void {
    this.apply(ids, op, 'unknown');
    for (const id of ids) this.quarantined.add(id);
  }

  /** null if `observed` (a state, or ABSENT) is allowed for `id`, else a description of the violation. */
  check(id: number, observed: string): string | null {
    if (this.unchecked.has(id)) return null;
    const ok = this.states(id);
    if (ok.has(observed)) return null;
    return `id ${id}: read ${observed}, allowed ${[...ok].join(' | ')}`;
  }

  /** True when the id's state is known exactly (its last write was acknowledged or refused). */
  exact(id: number): boolean {
    return this.states(id).size === 1;
  }
}
