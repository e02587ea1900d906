/**
 * Child process for the local store's cross-process race tests (run with `node --import tsx`). Opens a
 * LocalDirStore on argv[2] and answers JSON-line commands on stdin, one JSON line each on stdout:
 *   {"id":1,"op":"head","key":"k"}                  remember the witness of k           -> {"id":1,"ok":true}
 *   {"id":2,"op":"putIfAbsent","key":"k","value":"v"}                                   -> {"id":2,"ok":bool}
 *   {"id":3,"op":"putIfMatch","key":"k","value":"v"} with the remembered witness        -> {"id":3,"ok":bool}
 *   {"id":4,"op":"incr","key":"k","count":10}       read-modify-write a counter         -> {"id":4,"ok":true}
 * Children stay up across rounds, so one spawn serves many races; the parent releases a round by writing the
 * command to every child at once.
 */
import { createInterface } from 'node:readline';
import { LocalDirStore, Witness } from '../index.js';

const store = new LocalDirStore(process.argv[2]!);
const witnesses = new Map<string, Witness>();
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Command {
  id: number;
  op: 'head' | 'putIfAbsent' | 'putIfMatch' | 'incr';
  key: string;
  value?: string;
  count?: number;
}

async function run(c: Command): Promise<Record<string, unknown>> {
  switch (c.op) {
    case 'head': {
      const h = await store.head(c.key);
      if (h) witnesses.set(c.key, h.witness);
      return { ok: h !== null };
    }
    case 'putIfAbsent':
      return { ok: (await store.putIfAbsent(c.key, enc.encode(c.value ?? ''))).ok };
    case 'putIfMatch':
      return { ok: (await store.putIfMatch(c.key, enc.encode(c.value ?? ''), witnesses.get(c.key) ?? Witness.neverMatches())).ok };
    case 'incr': {
      let lost = 0;
      for (let done = 0; done < (c.count ?? 1); ) {
        const cur = (await store.get(c.key))!;
        const next = Number(dec.decode(cur.bytes).split(' ')[0]) + 1;
        const res = await store.putIfMatch(c.key, enc.encode(`${next} pid${process.pid}`), cur.witness);
        if (res.ok) done++;
        else lost++;
      }
      return { ok: true, lost };
    }
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const c = JSON.parse(line) as Command;
  run(c).then(
    (r) => process.stdout.write(`${JSON.stringify({ id: c.id, ...r })}\n`),
    (e: unknown) => process.stdout.write(`${JSON.stringify({ id: c.id, ok: false, error: String(e) })}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
