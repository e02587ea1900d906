import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowMessage, settleRows } from './settle.js';
import type { SendOutcome } from './http.js';

interface R {
  id: number;
  bad: boolean;
}

/** A server that rejects a request holding any bad row; it names the first one if `names`. */
function server(names: boolean, log: number[][] = []) {
  return async (rows: readonly R[]): Promise<SendOutcome> => {
    log.push(rows.map((r) => r.id));
    const at = rows.findIndex((r) => r.bad);
    if (at < 0) return { kind: 'ok', deduplicated: false };
    const message = names ? `upsert_rows[${at}].vector: vector has 2 dimensions but the namespace's vectors have 16` : 'the request is invalid somewhere';
    return { kind: 'rejected', status: 400, message, code: 'ELAX_ERR_INVALID_VECTOR' };
  };
}

describe('settleRows', () => {
  it('should land the first row of an id the chunk repeats and reject the repetition (the server names it)', async () => {
    // What elax answers when a request names an id twice (schema/unique-ids.ts): the later place first.
    const send = async (rows: readonly { key: number }[]): Promise<SendOutcome> => {
      const first = new Map<number, number>();
      for (let i = 0; i < rows.length; i++) {
        const f = first.get(rows[i]!.key);
        if (f !== undefined) {
          const message = `upsert_rows[${i}]: id ${rows[i]!.key} appears more than once in this request (first at upsert_rows[${f}]); a write request may name each id once`;
          return { kind: 'rejected', status: 400, message, code: 'ELAX_ERR_DUPLICATE_ID' };
        }
        first.set(rows[i]!.key, i);
      }
      return { kind: 'ok', deduplicated: false };
    };
    const rows = [{ key: 1 }, { key: 2 }, { key: 1 }, { key: 3 }];
    const res = await settleRows(rows, send);
    expect(res.landed).toEqual([rows[0], rows[1], rows[3]]);
    expect(res.rejected).toEqual([{ row: rows[2], error: expect.stringMatching(/^id 1 appears more than once/), code: 'ELAX_ERR_DUPLICATE_ID' }]);
    expect(res.requests).toBe(2);
  });

  it('should land exactly the good rows and reject exactly the bad ones, whether or not the server names them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 99 }), { maxLength: 80 }), fc.boolean(), fc.integer({ min: 0, max: 100 }), async (dice, names, density) => {
        const rows = dice.map((d, id) => ({ id, bad: d < density }));
        const log: number[][] = [];
        const res = await settleRows(rows, server(names, log));
        expect(res.landed.map((r) => r.id).sort((a, b) => a - b)).toEqual(rows.filter((r) => !r.bad).map((r) => r.id));
        expect(res.rejected.map((r) => r.row.id).sort((a, b) => a - b)).toEqual(rows.filter((r) => r.bad).map((r) => r.id));
        expect(res.requests).toBe(log.length);
        // No row is ever applied twice: accepted requests are disjoint.
        const accepted = log.filter((ids) => ids.every((id) => !rows[id]!.bad)).flat();
        expect(new Set(accepted).size).toBe(accepted.length);
        const bad = rows.filter((r) => r.bad).length;
        if (names && bad <= 16) expect(res.requests).toBeLessThanOrEqual(bad + 1);
        // Deterministic: the same answers give the same sequence of sub-requests (hence the same keys).
        const log2: number[][] = [];
        await settleRows(rows, server(names, log2));
        expect(log2).toEqual(log);
      }),
      { numRuns: 300 },
    );
  });

  it('should bisect on 413 even if the message names a row, and report a lone oversized row', async () => {
    const rows = [1, 2, 3, 4, 5].map((id) => ({ id, bad: id === 4 }));
    const res = await settleRows(rows, async (rs) =>
      rs.length > 2 || rs.some((r) => r.bad) ? { kind: 'rejected', status: 413, message: 'upsert_rows[0] request body exceeds the limit' } : { kind: 'ok', deduplicated: false },
    );
    expect(res.landed.map((r) => r.id).sort()).toEqual([1, 2, 3, 5]);
    expect(res.rejected.map((r) => r.row.id)).toEqual([4]);
  });

  it('should strip the request-relative row reference from server messages', () => {
    expect(rowMessage("upsert_rows[17].vector: vector has 2 dimensions but the namespace's vectors have 16")).toBe("vector: vector has 2 dimensions but the namespace's vectors have 16");
    expect(rowMessage('upsert_rows[3]: id -1 is negative')).toBe('id -1 is negative');
    expect(rowMessage('something else')).toBe('something else');
  });
});
