/**
 * Cooperative cancellation of the segment executor (core/cancel.ts): the per-segment checkpoint and the row-level
 * check inside each scan loop see a stop, and the prepared segment is released on the way out.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY_ROWS, ElaxError, type QueryControl } from '../core/index.js';
import { DocsSegment, NO_RELEASE } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { parseQuery, type QueryContext } from './index.js';
import { SCHEMA, doc } from './test-helpers.js';

const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'euclidean_squared' };
const ROWS = 3 * CHECK_EVERY_ROWS;
const segs = [0, 1].map((s) => new DocsSegment(Array.from({ length: ROWS }, (_, i) => doc(s * ROWS + i, [i % 7, 1, 2, 3], { n: i % 10 })), null));

/** Stops at the `stopAt`-th call of check() (checkpoints count too); records every place asked. */
function stopper(stopAt: number) {
  const asked: string[] = [];
  const reason = new ElaxError('ELAX_ERR_QUERY_TIMEOUT', 'deadline passed');
  const control: QueryControl = {
    check(where) {
      asked.push(where);
      if (asked.length >= stopAt) throw reason;
    },
    async checkpoint(where) {
      await Promise.resolve();
      this.check(where);
    },
  };
  return { control, asked, reason };
}

const queries: Record<string, unknown> = {
  'vector scan': { rank_by: ['vector', 'kNN', [1, 1, 2, 3]], top_k: 5 },
  'attribute order': { rank_by: ['n', 'desc'], top_k: 5 },
  aggregation: { aggregate_by: { c: ['Count'] } },
};

describe('executeOnSegments cancellation', () => {
  for (const [name, body] of Object.entries(queries)) {
    it(`should stop a ${name} inside a segment's row loop and release the segment`, async () => {
      const q = parseQuery(body, ctx);
      // 1: checkpoint before segment 0; 2, 3: rows 0 and 4096 of segment 0 -> stop at row 4096.
      const { control, asked, reason } = stopper(3);
      let prepared = 0;
      let released = 0;
      const run = executeOnSegments(q, segs, undefined, {
        control,
        prepare: async () => {
          prepared++;
          return () => released++;
        },
      });
      await expect(run).rejects.toBe(reason);
      expect(asked).toEqual(['segment', 'scan', 'scan']);
      expect({ prepared, released }).toEqual({ prepared: 1, released: 1 });
    });
  }

  it('should stop between segments at the checkpoint', async () => {
    const q = parseQuery(queries['vector scan'], ctx);
    // Segment 0: checkpoint + 3 row checks; the 5th call is the checkpoint before segment 1.
    const { control, asked } = stopper(5);
    await expect(executeOnSegments(q, segs, undefined, { control, prepare: async () => NO_RELEASE })).rejects.toThrow('deadline passed');
    expect(asked).toEqual(['segment', 'scan', 'scan', 'scan', 'segment']);
  });

  it('should give the full result when nothing stops it', async () => {
    const q = parseQuery(queries['attribute order'], ctx);
    const { control, asked } = stopper(Infinity);
    const res = await executeOnSegments(q, segs, undefined, { control });
    expect(res.rows).toHaveLength(5);
    expect(asked.filter((w) => w === 'segment')).toHaveLength(2);
    expect(asked.filter((w) => w === 'scan')).toHaveLength(6);
  });
});
