import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNdjson } from './ndjson.js';
import { readJsonArray } from './json-array.js';
import { sniffFormat, START } from './sources.js';
import type { SourceItem } from './row-text.js';
import type { Cursor } from './types.js';

/** `bytes` as a stream cut at the given sizes (exercises every buffer-boundary case). */
async function* pieces(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of cuts) {
    if (at >= bytes.length) break;
    const n = Math.max(1, c);
    yield bytes.subarray(at, at + n);
    at += n;
  }
  if (at < bytes.length) yield bytes.subarray(at);
}

async function collect(it: AsyncIterable<SourceItem>): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const rowObj = fc.record({
  id: fc.oneof(fc.nat(), fc.string({ maxLength: 12 })),
  title: fc.string({ maxLength: 40 }),
  n: fc.option(fc.integer()),
  tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
});

describe('readNdjson', () => {
  it('should yield every non-blank line with its 1-based line number and byte offset, whatever the buffer cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 4, arbitrary: rowObj.map((r) => JSON.stringify(r)) }, { weight: 1, arbitrary: fc.constantFrom('', '   ', '\r') })),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 200 }),
        fc.boolean(),
        async (lines, cuts, trailingNewline) => {
          const text = lines.join('\n') + (trailingNewline ? '\n' : '');
          const bytes = Buffer.from(text);
          const items = await collect(readNdjson(pieces(bytes, cuts), START));
          const rows = items.filter((i) => i.kind === 'row').map((i) => (i as Extract<SourceItem, { kind: 'row' }>).row);
          const expected = lines.map((l, i) => ({ l, line: i + 1 })).filter((x) => x.l.trim() !== '');
          expect(rows.map((r) => r.text)).toEqual(expected.map((x) => x.l.trim()));
          expect(rows.map((r) => r.line)).toEqual(expected.map((x) => x.line));
          expect(rows.map((r) => r.index)).toEqual(expected.map((_, i) => i));
          for (const r of rows) {
            expect(bytes.subarray(r.offset, r.offset + r.bytes).toString()).toBe(r.text);
            expect(r.bytes).toBe(Buffer.byteLength(r.text));
          }
          const end = items.at(-1)!;
          expect(end).toEqual({ kind: 'end', cursor: { offset: bytes.length, line: text.split('\n').length, index: rows.length } });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('should report unusable lines as bad rows with their line numbers', async () => {
    const text = '{"id":1}\nnot json\n[1,2]\n{"x":1}\n{"id":null}\n"s"\n{"id":2}\n';
    const items = await collect(readNdjson(pieces(Buffer.from(text), []), START));
    const bad = items.filter((i) => i.kind === 'bad').map((i) => (i as Extract<SourceItem, { kind: 'bad' }>).bad);
    expect(bad.map((b) => [b.line, b.index])).toEqual([[2, 1], [3, 2], [4, 3], [5, 4], [6, 5]]);
    expect(bad[0]!.error).toMatch(/invalid JSON/);
    expect(bad[1]!.error).toMatch(/got an array/);
    expect(bad[2]!.error).toMatch(/no id/);
    expect(bad[4]!.error).toMatch(/got a string/);
    expect(items.filter((i) => i.kind === 'row')).toHaveLength(2);
  });

  it('should restart at a cursor it produced and continue with the same rows, lines and indexes', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? '' : JSON.stringify({ id: i, t: 'x'.repeat(i) })));
    const bytes = Buffer.from(lines.join('\n') + '\n');
    const all = (await collect(readNdjson(pieces(bytes, [13, 7, 100]), START))).filter((i) => i.kind === 'row');
    for (const k of [1, 10, 20, all.length - 1]) {
      const r = (all[k] as Extract<SourceItem, { kind: 'row' }>).row;
      const cur: Cursor = { offset: r.offset, line: r.line!, index: r.index };
      const rest = (await collect(readNdjson(pieces(bytes.subarray(r.offset), [5, 50]), cur))).filter((i) => i.kind === 'row');
      expect(rest).toEqual(all.slice(k));
    }
  });
});

/** JSON text of `values` as an array, with random whitespace between tokens. */
function formatArray(values: unknown[], ws: string[]): string {
  let i = 0;
  const w = () => ws[i++ % Math.max(ws.length, 1)] ?? '';
  return `${w()}[${w()}${values.map((v) => JSON.stringify(v, null, i % 3 === 0 ? 1 : undefined)).join(`${w()},${w()}`)}${w()}]${w()}`;
}

describe('readJsonArray', () => {
  it('should find exactly the elements JSON.parse finds, with their offsets and lines, whatever the buffer cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 5, arbitrary: rowObj }, { weight: 1, arbitrary: fc.jsonValue() })),
        fc.array(fc.constantFrom('', ' ', '\n', '\r\n', '\t', ' \n  '), { minLength: 1 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 300 }),
        async (values, ws, cuts) => {
          const text = formatArray(values, ws);
          const bytes = Buffer.from(text);
          const items = await collect(readJsonArray(pieces(bytes, cuts), START, { inArray: false, name: 't.json' }));
          const parsed = JSON.parse(text) as unknown[];
          const elems = items.filter((i) => i.kind !== 'end');
          expect(elems).toHaveLength(parsed.length);
          elems.forEach((it, k) => {
            const loc = it.kind === 'row' ? it.row : (it as Extract<SourceItem, { kind: 'bad' }>).bad;
            expect(loc.index).toBe(k);
            expect(loc.line).toBe(text.slice(0, Buffer.from(text).subarray(0, loc.offset).toString().length).split('\n').length);
            if (it.kind === 'row') {
              expect(JSON.parse(it.row.text)).toEqual(parsed[k]);
              expect(bytes.subarray(it.row.offset, it.row.offset + it.row.bytes).toString()).toBe(it.row.text);
            } else {
              const v = parsed[k];
              expect(v !== null && typeof v === 'object' && !Array.isArray(v) && (v as { id?: unknown }).id != null).toBe(false);
            }
          });
          expect(items.at(-1)).toMatchObject({ kind: 'end', cursor: { offset: bytes.length, index: parsed.length } });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('should restart inside the array at an element cursor', async () => {
    const values = Array.from({ length: 30 }, (_, i) => ({ id: i, s: `a]b}c"d\\"${i}`, nested: [{ x: [i] }] }));
    const bytes = Buffer.from(JSON.stringify(values, null, 2));
    const all = (await collect(readJsonArray(pieces(bytes, [17]), START, { inArray: false, name: 'a.json' }))).filter((i) => i.kind === 'row');
    expect(all).toHaveLength(30);
    for (const k of [1, 15, 29]) {
      const r = (all[k] as Extract<SourceItem, { kind: 'row' }>).row;
      const rest = await collect(readJsonArray(pieces(bytes.subarray(r.offset), [9]), { offset: r.offset, line: r.line!, index: r.index }, { inArray: true, name: 'a.json' }));
      expect(rest.filter((i) => i.kind === 'row')).toEqual(all.slice(k));
    }
    // Restarting at the very end (nothing left) is a complete, empty stream.
    const end = await collect(readJsonArray(pieces(Buffer.alloc(0), []), { offset: bytes.length, line: 9, index: 30 }, { inArray: true, name: 'a.json' }));
    expect(end).toEqual([{ kind: 'end', cursor: { offset: bytes.length, line: 9, index: 30 } }]);
  });

  it('should fail the file on structural errors, naming the line', async () => {
    const run = (t: string) => collect(readJsonArray(pieces(Buffer.from(t), []), START, { inArray: false, name: 'f.json' }));
    await expect(run('{"id":1}')).rejects.toThrow(/f\.json line 1: expected a JSON array/);
    await expect(run('[{"id":1}\n\n{"id":2}]')).rejects.toThrow(/line 3: expected ',' or ']'/);
    await expect(run('[{"id":1},\n]')).rejects.toThrow(/line 2: expected an array element/);
    await expect(run('[{"id":1}')).rejects.toThrow(/not closed/);
    await expect(run('[{"id":1}] x')).rejects.toThrow(/after the end of the array/);
    expect(await run(' [ ] ')).toEqual([{ kind: 'end', cursor: { offset: 5, line: 1, index: 0 } }]);
  });
});

describe('sniffFormat', () => {
  it('should tell JSON arrays, Parquet and NDJSON apart by their first bytes', () => {
    expect(sniffFormat(Buffer.from('  \n [{"id":1}]'))).toBe('json');
    expect(sniffFormat(Buffer.from('PAR1\x00\x00'))).toBe('parquet');
    expect(sniffFormat(Buffer.from('{"id":1}\n'))).toBe('ndjson');
    expect(sniffFormat(Buffer.from(''))).toBe('ndjson');
  });
});
