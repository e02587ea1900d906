/**
 * What the randomized model tests (test/10-model.test.ts, test/10c-model-sharded.test.ts) share: the documents and
 * write operations they generate, the Map model those writes apply to, the rows a query must return from it, and the
 * check of invariant L (RFC-0004 §3) on the stored parts.
 */
import { expect } from 'vitest';
import fc from 'fast-check';
import type { ObjectStore } from '../../crates-ts/store/index.js';
import type { Router } from '../../crates-ts/router/index.js';
import { decodeDeletionVector, loadPart, partFileKey } from '../../crates-ts/part/index.js';

export type Attrs = { v: number; n: number; cat: string; flag?: boolean | null };
export type ModelDoc = { id: number; vector: number[]; attrs: Attrs };
export const CATS = ['a', 'b', 'c'];

/** The writes both model tests generate (each adds its own) and apply to the model the same way. */
export type WriteOp =
  | { t: 'upsert'; rows: ModelDoc[] }
  | { t: 'patch'; id: number; n: number }
  | { t: 'delete'; ids: number[] }
  | { t: 'delete_by_filter'; nGte: number }
  | { t: 'patch_by_filter'; cat: string; flag: boolean };

export type Publisher = 'index' | 'compact' | 'compact_tiered';
export const publisherArb = fc.constantFrom<Publisher>('index', 'compact', 'compact_tiered');

export const idArb = fc.integer({ min: 0, max: 30 });
export const docArb = fc.record({
  id: idArb,
  vector: fc.tuple(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -9, max: 9 })).map(([a, b]) => [a / 10, b / 10]),
  attrs: fc.record({ v: fc.integer({ min: 0, max: 5 }), n: fc.integer({ min: 0, max: 100 }), cat: fc.constantFrom(...CATS) }),
});

/** Patches, deletes and filter writes, weighted for fc.oneof (upserts are each test's: their sizes differ). */
export const PATCH_DELETE_ARBS = [
  { weight: 2, arbitrary: fc.record({ t: fc.constant('patch' as const), id: idArb, n: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), ids: fc.uniqueArray(idArb, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('delete_by_filter' as const), nGte: fc.integer({ min: 60, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('patch_by_filter' as const), cat: fc.constantFrom(...CATS), flag: fc.boolean() }) },
] as const;

/** Applies a WriteOp to the model (what a strong query must then show). */
export function applyWrite(model: Map<number, ModelDoc>, op: WriteOp): void {
  switch (op.t) {
    case 'upsert':
      for (const r of op.rows) model.set(r.id, structuredClone(r));
      break;
    case 'patch': {
      const d = model.get(op.id);
      if (d) d.attrs.n = op.n;
      break;
    }
    case 'delete':
      for (const id of op.ids) model.delete(id);
      break;
    case 'delete_by_filter':
      for (const [id, d] of model) if (d.attrs.n >= op.nGte) model.delete(id);
      break;
    case 'patch_by_filter':
      for (const d of model.values()) if (d.attrs.cat === op.cat) d.attrs.flag = op.flag;
      break;
  }
}

/** The rows `rank_by: ['id', 'asc']` with every attribute must return for the model. */
export function expectedRows(model: Map<number, ModelDoc>) {
  return [...model.values()]
    .sort((a, b) => a.id - b.id)
    .map((d) => {
      const out: Record<string, unknown> = { id: d.id, vector: d.vector, v: d.attrs.v, n: d.attrs.n, cat: d.attrs.cat };
      if (d.attrs.flag !== undefined && d.attrs.flag !== null) out.flag = d.attrs.flag;
      return out;
    });
}

/** The router's parts (lazily loaded) and each one's deletion mask (null: no deletion vector), in router order. */
export async function loadPartsAndMasks(store: ObjectStore, ns: string, router: Router) {
  const parts = await Promise.all(router.parts.map((p) => loadPart(store, ns, p.id, undefined, { lazy: true })));
  const masks = await Promise.all(router.parts.map(async (p) => (p.deletes ? decodeDeletionVector((await store.get(partFileKey(ns, p.id, p.deletes.file)))!.bytes, p.rows, p.id).mask : null)));
  return { parts, masks };
}

/**
 * Invariant L (RFC-0004 §3) over `parts` (router order, oldest first) and their deletion masks: each id has at most
 * one live row, and no part newer than that row holds the id (as a row or a deletion). `newer` names the newer part
 * in the failure message.
 */
export function expectOneLiveRowPerId(parts: Awaited<ReturnType<typeof loadPartsAndMasks>>['parts'], masks: (Uint8Array | null)[], newer = 'is newer and holds it'): void {
  const liveIn = new Map<unknown, number>();
  parts.forEach((part, i) =>
    part.docs.forEach((d, o) => {
      if (masks[i]?.[o] === 1) return;
      expect(liveIn.has(d.id), `id ${String(d.id)} is live in parts ${liveIn.get(d.id)} and ${i}`).toBe(false);
      liveIn.set(d.id, i);
    }),
  );
  parts.forEach((part, i) => {
    for (const id of [...part.docs.map((d) => d.id), ...part.tombstones]) {
      const at = liveIn.get(id);
      if (at !== undefined) expect(at >= i, `id ${String(id)} is live in part ${at} although part ${i} ${newer}`).toBe(true);
    }
  });
}
