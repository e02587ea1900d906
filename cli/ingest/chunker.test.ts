import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkRows, type Chunk } from './chunker.js';
import { readNdjson } from './ndjson.js';
import { readJsonArray } from './json-array.js';
import { buildBody, envelopeBytes, requestKey, rowRanges } from './request.js';
import { START } from './sources.js';
import type { Cursor, SourceRow } from './types.js';

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  // Odd-sized pieces, so rows straddle buffers.
  for (let i = 0; i < b.length; i += 37) yield b.subarray(i, i + 37);
}

interface Opts {
  batchBytes: number;
  batchRows: number;
  metric?: string;
}

async function chunksOf(format: 'ndjson' | 'json', bytes: Buffer, o: Opts, start: Cursor = START, firstIndex = 0): Promise<Chunk[]> {
  const src = bytes.subarray(start.offset);
  const items = format === 'ndjson' ? readNdjson(once(src), start) : readJsonArray(once(src), start, { inArray: start.offset > 0, name: 'x' });
  const out: Chunk[] = [];
  for await (const c of chunkRows(items, { batchBytes: o.batchBytes, batchRows: o.batchRows, distanceMetric: o.metric, firstIndex, start })) out.push(c);
  return out;
}

const keyOf = (c: Chunk, metric?: string) => requestKey({ ns: 'ns', source: 'f' }, c.rows, buildBody(c.rows, metric));

const rows = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ id: fc.nat(), pad: fc.string({ maxLength: 300 }) }) },
    { weight: 1, arbitrary: fc.constantFrom('garbage', '[1]', '{"no":"id"}') },
  ),
  { maxLength: 120 },
);

function render(format: 'ndjson' | 'json', rs: unknown[]): Buffer {
  const texts = rs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
  return Buffer.from(format === 'ndjson' ? texts.join('\n') + '\n' : `[\n${texts.join(',\n')}\n]\n`);
}

describe('chunkRows', () => {
  for (const format of ['ndjson', 'json'] as const) {
    it(`should cut ${format} into chunks that cover every row once, in order, within the size and row limits`, async () => {
      await fc.assert(
        fc.asyncProperty(rows.filter((r) => format === 'ndjson' || r.every((x) => x !== 'garbage')), fc.integer({ min: 40, max: 3000 }), fc.integer({ min: 1, max: 20 }), async (rs, batchBytes, batchRows) => {
          const bytes = render(format, rs);
          const chunks = await chunksOf(format, bytes, { batchBytes, batchRows, metric: 'cosine_distance' });
          const seen = chunks.flatMap((c) => [...c.rows.map((r) => r.index), ...c.bad.map((b) => b.index)]).sort((a, b) => a - b);
          expect(seen).toEqual(rs.map((_, i) => i));
          chunks.forEach((c, k) => {
            expect(c.index).toBe(k);
            expect(c.rows.length).toBeLessThanOrEqual(batchRows);
            const body = buildBody(c.rows, 'cosine_distance');
            expect(c.bodyBytes).toBe(c.rows.length ? body.length : envelopeBytes('cosine_distance'));
            if (c.rows.length > 1) expect(body.length).toBeLessThanOrEqual(batchBytes);
            if (k > 0) expect(c.start).toEqual(chunks[k - 1]!.end);
          });
          if (chunks.length) expect(chunks.at(-1)!.end.offset).toBe(bytes.length);
        }),
        { numRuns: 150 },
      );
    });

    it(`should reproduce the same ${format} chunks and keys when resumed at any chunk boundary`, async () => {
      await fc.assert(
        fc.asyncProperty(rows.filter((r) => format === 'ndjson' || r.every((x) => x !== 'garbage')), fc.integer({ min: 40, max: 2000 }), fc.nat(), async (rs, batchBytes, pick) => {
          const bytes = render(format, rs);
          const o = { batchBytes, batchRows: 7 };
          const all = await chunksOf(format, bytes, o);
          const again = await chunksOf(format, bytes, o);
          expect(again.map((c) => keyOf(c))).toEqual(all.map((c) => keyOf(c)));
          if (all.length < 2) return;
          const k = 1 + (pick % (all.length - 1));
          const resumed = await chunksOf(format, bytes, o, all[k - 1]!.end, k);
          expect(resumed.map((c) => [c.index, keyOf(c), c.bad.map((b) => b.line)])).toEqual(all.slice(k).map((c) => [c.index, keyOf(c), c.bad.map((b) => b.line)]));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('should send a row larger than batchBytes in a chunk of its own', async () => {
    const bytes = render('ndjson', [{ id: 1, s: 'x'.repeat(500) }, { id: 2 }, { id: 3, s: 'y'.repeat(500) }, { id: 4 }]);
    const chunks = await chunksOf('ndjson', bytes, { batchBytes: 100, batchRows: 100 });
    expect(chunks.map((c) => c.rows.map((r) => r.id))).toEqual([[1], [2], [3], [4]]);
  });
});

describe('request keys', () => {
  const mk = (i: number, text: string): SourceRow => ({ index: i, offset: i * 10, line: i + 1, id: i, text, bytes: Buffer.byteLength(text) });

  it('should depend on namespace, salt, source, row positions and every byte of the body, and nothing else', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 10 }), fc.nat(), (texts, flip) => {
        const rs = texts.map((t, i) => mk(i, JSON.stringify({ id: i, t })));
        const body = buildBody(rs, 'cosine_distance');
        const k = requestKey({ ns: 'a', source: 'f.ndjson' }, rs, body);
        expect(requestKey({ ns: 'a', source: 'f.ndjson' }, rs.map((r) => ({ ...r, offset: r.offset + 1 })), body)).toBe(k);
        expect(requestKey({ ns: 'b', source: 'f.ndjson' }, rs, body)).not.toBe(k);
        expect(requestKey({ ns: 'a', source: 'g.ndjson' }, rs, body)).not.toBe(k);
        expect(requestKey({ ns: 'a', source: 'f.ndjson', salt: 's' }, rs, body)).not.toBe(k);
        expect(requestKey({ ns: 'a', source: 'f.ndjson' }, rs.map((r) => ({ ...r, index: r.index + 1 })), body)).not.toBe(k);
        const other = Buffer.from(body);
        const at = flip % other.length;
        other[at] = other[at]! ^ 1;
        expect(requestKey({ ns: 'a', source: 'f.ndjson' }, rs, other)).not.toBe(k);
      }),
    );
  });

  it('should write row ranges compactly and build valid JSON bodies', () => {
    const rs = [0, 1, 2, 5, 7, 8].map((i) => mk(i, `{"id":${i}}`));
    expect(rowRanges(rs)).toBe('0-2,5,7-8');
    expect(JSON.parse(buildBody(rs, 'euclidean_squared').toString())).toEqual({ upsert_rows: [0, 1, 2, 5, 7, 8].map((id) => ({ id })), distance_metric: 'euclidean_squared' });
    expect(JSON.parse(buildBody(rs).toString())).toEqual({ upsert_rows: [0, 1, 2, 5, 7, 8].map((id) => ({ id })) });
  });
});
