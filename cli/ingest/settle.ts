/**
 * Landing the good rows of a chunk the server rejected, and naming the bad ones.
 *
 * A rejected request (400/413/422) is all-or-nothing on the server, so one bad row would keep a whole chunk out.
 * When the server's message names the row (`upsert_rows[17]...`, as elax's validation does), that row is set
 * aside and the rest is sent again: one extra request per bad row. When it does not (or after 16 such
 * exclusions in one part, to bound the bytes re-sent for a chunk full of bad rows), the part is bisected: halves
 * are sent on their own until each is accepted or is a single rejected row. 413 (too large) only ever bisects.
 *
 * Every sub-request carries its own idempotency key (derived from exactly the rows it holds), and the order of
 * sub-requests is deterministic given the server's answers, so re-settling a chunk after a crash sends the same
 * keys and the server applies each once.
 */
import type { SendOutcome } from './http.js';

export interface Rejected<R> {
  row: R;
  error: string;
  code?: string;
}

export interface Settled<R> {
  landed: R[];
  rejected: Rejected<R>[];
  /** Requests made, first one included. */
  requests: number;
}

const ROW_REF = /upsert_rows\[(\d+)\]/;
const MAX_EXCLUSIONS_PER_PART = 16;

/** The server message without its reference to the position inside the request (meaningless to the user). */
export function rowMessage(message: string): string {
  return message.replace(/upsert_rows\[\d+\]\.?/, (m) => (m.endsWith('.') ? '' : 'row')).replace(/^row: /, '');
}

export async function settleRows<R>(rows: readonly R[], send: (rows: readonly R[]) => Promise<SendOutcome>): Promise<Settled<R>> {
  const out: Settled<R> = { landed: [], rejected: [], requests: 0 };
  // Depth-first, left part first: deterministic order of sub-requests.
  const stack: { part: readonly R[]; exclusions: number }[] = [{ part: rows, exclusions: 0 }];
  while (stack.length > 0) {
    const { part, exclusions } = stack.pop()!;
    if (part.length === 0) continue;
    out.requests++;
    const res = await send(part);
    if (res.kind === 'ok') {
      out.landed.push(...part);
      continue;
    }
    if (part.length === 1) {
      out.rejected.push({ row: part[0]!, error: rowMessage(res.message), code: res.code });
      continue;
    }
    const m = res.status === 413 ? null : ROW_REF.exec(res.message);
    const at = m ? Number(m[1]) : -1;
    if (at >= 0 && at < part.length && exclusions < MAX_EXCLUSIONS_PER_PART) {
      out.rejected.push({ row: part[at]!, error: rowMessage(res.message), code: res.code });
      stack.push({ part: [...part.slice(0, at), ...part.slice(at + 1)], exclusions: exclusions + 1 });
      continue;
    }
    const half = Math.ceil(part.length / 2);
    stack.push({ part: part.slice(half), exclusions: 0 });
    stack.push({ part: part.slice(0, half), exclusions: 0 });
  }
  return out;
}
