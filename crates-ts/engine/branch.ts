/**
 * `branch_from_namespace` and `copy_from_namespace` (docs/rfcs/0011-copy-and-branch.md): a new namespace equal to its
 * source at one point of the source's history. A branch references the source's parts where they are (router
 * format 3, `PartRef.home`) and records itself in every home (`{home}/refs/{dest}/…`) so GC and namespace deletion
 * keep what it reads; a copy copies every part file and is independent afterwards. Both copy the unindexed WAL tail
 * entry by entry and commit with one put-if-absent of the destination's router.
 */
import { randomBytes } from 'node:crypto';
import { ElaxError, type Clock } from '../core/index.js';
import type { NamespaceCatalog } from '../namespace/index.js';
import { ROUTER_FORMAT_VERSION, RouterStore, SHARDED_ROUTER_FORMAT, SHARED_PARTS_ROUTER_FORMAT, partHome, type PartRef, type Router } from '../router/index.js';
import { branchRefKey, codebookKey, partPrefix, walKey, type ObjectStore } from '../store/index.js';
import { MANIFEST_FILE, partFileKey } from '../part/index.js';
import { validateNamespaceName } from './namespaces.js';

export type CloneMode = 'branch' | 'copy';

export interface CloneRequest {
  mode: CloneMode;
  source: string;
}

const FIELD: Record<CloneMode, string> = { branch: 'branch_from_namespace', copy: 'copy_from_namespace' };
const ALLOWED: Record<CloneMode, ReadonlySet<string>> = {
  branch: new Set(['source_namespace']),
  copy: new Set(['source_namespace', 'source_api_key', 'source_region']),
};

/** Longest time between reading the source's router and publishing a branch (RFC-0011 "Timing"). */
export const CLONE_MAX_MS = 60_000;

const invalid = (msg: string) => new ElaxError('ELAX_ERR_INVALID_REQUEST', msg);

/**
 * The branch or copy a write body asks for, or null when it asks for neither. Either field takes a namespace name or
 * `{source_namespace, ...}`; it cannot be combined with the other or with any other write field.
 */
export function parseCloneRequest(body: unknown, dest: string): CloneRequest | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  const modes = (['branch', 'copy'] as const).filter((m) => b[FIELD[m]] !== undefined);
  if (modes.length === 0) return null;
  if (modes.length > 1) throw invalid('branch_from_namespace and copy_from_namespace cannot be combined');
  const mode = modes[0]!;
  const field = FIELD[mode];
  const others = Object.keys(b).filter((k) => k !== field && k !== 'namespace' && b[k] !== undefined);
  if (others.length > 0) throw invalid(`${field} cannot be combined with other write fields (got ${others.join(', ')})`);
  const v = b[field];
  let source: unknown;
  if (typeof v === 'string') source = v;
  else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !ALLOWED[mode].has(k));
    if (unknown.length > 0) throw invalid(`${field} has unknown field ${unknown.map((k) => `'${k}'`).join(', ')}`);
    if (o.source_region !== undefined) throw invalid(`${field}.source_region is not supported: elax has one region (copy within this server only)`);
    if (o.source_api_key !== undefined && typeof o.source_api_key !== 'string') throw invalid(`${field}.source_api_key must be a string`);
    source = o.source_namespace;
    if (source === undefined) throw invalid(`${field}.source_namespace is required`);
  } else {
    throw invalid(`${field} must be a namespace name or an object {source_namespace}, got ${v === null ? 'null' : typeof v}`);
  }
  if (typeof source !== 'string') throw invalid(`${field}.source_namespace must be a string`);
  validateNamespaceName(source);
  if (source === dest) throw invalid(`${field}: the source namespace '${source}' is the destination itself`);
  return { mode, source };
}

export interface CloneOptions {
  clock: Clock;
  /** Nonces of reference objects (tests pass a deterministic one). */
  nonce?: () => string;
  /** Called between the branch point and the commit (tests: writes racing the branch). */
  beforeCommit?: () => Promise<void>;
}

export interface CloneOutcome {
  /** The WAL head of the source the destination equals (the branch point). */
  head: number;
  parts: number;
  tailEntries: number;
  /** Objects copied (WAL entries, deletion vectors, codebook, part files for a copy). */
  objectsCopied: number;
}

const notFound = (ns: string) => new ElaxError('ELAX_ERR_NAMESPACE_NOT_FOUND', `source namespace '${ns}' not found`);

/** Runs `fn` over `items` with at most `n` in flight. */
async function eachLimited<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function copyObject(store: ObjectStore, from: string, to: string, transform?: (b: Uint8Array) => Uint8Array): Promise<void> {
  const got = await store.get(from);
  if (!got) throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `${from} vanished while being copied (the source changed under the copy); retry`, { retryAfter: 1 });
  const bytes = transform ? transform(got.bytes) : got.bytes;
  const out = await store.putIfAbsent(to, bytes);
  if (out.ok) return;
  // Left by an earlier attempt of the same branch or copy that failed before its commit: the same bytes are fine
  // (objects of one source are immutable), anything else is another request's: the destination is taken.
  const there = await store.get(to);
  if (!there || Buffer.compare(Buffer.from(there.bytes), Buffer.from(bytes)) !== 0) {
    throw invalid(`destination object ${to} already exists: another request is creating the destination namespace`);
  }
}

/** A copied manifest names its new namespace (part-data reads files from the manifest's namespace). */
function renameManifest(dest: string): (b: Uint8Array) => Uint8Array {
  return (bytes) => {
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    m.namespace = dest;
    return new TextEncoder().encode(JSON.stringify(m));
  };
}

/** The source's router and the contiguous WAL entries after its indexed range (RFC-0011 step 1). */
async function branchPoint(catalog: NamespaceCatalog, src: string): Promise<{ router: Router; tail: number[]; head: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const read = await catalog.routers.read(src);
    if (!read || read.router.deleted) throw notFound(src);
    const r = read.router;
    const floor = Math.max(r.indexed_wal, r.wal_start - 1);
    const listed = await catalog.wal(src).listAfter(floor);
    const tail: number[] = [];
    for (const o of listed) {
      if (o.seq !== floor + 1 + tail.length) break;
      tail.push(o.seq);
    }
    // Entries beyond a gap: appends are contiguous, so the router moved under the listing (RFC-0001 step 6).
    if (tail.length === listed.length) return { router: r, tail, head: floor + tail.length };
  }
  throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `the WAL of '${src}' kept moving under the branch point; retry`, { retryAfter: 1 });
}

/**
 * Makes `dest` a branch or copy of `src` (RFC-0011 steps 1-6). Throws 404 when `src` does not exist, 400 when `dest`
 * exists (or existed: a deleted name keeps its sequence space) or the source is a format-1 router with parts.
 */
export async function cloneNamespace(catalog: NamespaceCatalog, src: string, dest: string, mode: CloneMode, opts: CloneOptions): Promise<CloneOutcome> {
  const store = catalog.store;
  const routers = catalog.routers;
  const nonce = opts.nonce ?? (() => randomBytes(8).toString('hex'));
  const started = opts.clock.now();
  const field = FIELD[mode];
  // Step 1: the branch point — the source's router, then its WAL head (a list that does not continue the router's
  // indexed range means an indexer published and GC removed covered entries in between: read both again).
  const point = await branchPoint(catalog, src);
  const r = point.router;
  const tailSeqs = point.tail;
  const head = point.head;
  const existing = await routers.read(dest);
  if (existing) {
    throw invalid(
      existing.router.deleted
        ? `${field}: destination namespace '${dest}' was deleted before; its WAL sequence numbers cannot be reused by a ${mode} (choose a new name)`
        : `${field}: destination namespace '${dest}' already exists; a ${mode} creates a new namespace`,
    );
  }
  if (r.format_version < 2 && r.parts.length > 0) {
    throw invalid(`${field}: source namespace '${src}' still uses router format 1 (liveness by folding parts); let its indexer publish once (or run \`elax compact\`) and retry`);
  }
  let copied = 0;
  // Step 2: the tail, byte for byte, at the same sequence numbers.
  await eachLimited(tailSeqs, 8, async (seq) => {
    await copyObject(store, walKey(src, seq), walKey(dest, seq));
    copied++;
  });
  // Step 3: deletion vectors (always under the router's own namespace), and for a copy every part file.
  const parts: PartRef[] = [];
  for (const ref of r.parts) {
    const home = partHome(r, ref);
    if (mode === 'branch') {
      parts.push({ ...ref, home });
    } else {
      const { home: _h, ...own } = ref;
      parts.push(own);
    }
  }
  await eachLimited(r.parts, 8, async (ref) => {
    if (ref.deletes) {
      await copyObject(store, partFileKey(src, ref.id, ref.deletes.file), partFileKey(dest, ref.id, ref.deletes.file));
      copied++;
    }
    if (mode === 'copy') {
      const home = partHome(r, ref);
      const listed = (await store.list(partPrefix(home, ref.id))).objects.map((o) => o.key.slice(partPrefix(home, ref.id).length));
      // Data files only (deletion vectors live under the router's namespace: src's current one was copied above).
      const files = listed.filter((f) => f !== MANIFEST_FILE && !f.startsWith('dv/') && !f.includes('/'));
      if (!listed.includes(MANIFEST_FILE)) throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `part ${home}/${ref.id} vanished while being copied; retry`, { retryAfter: 1 });
      await eachLimited(files, 8, async (f) => {
        await copyObject(store, partFileKey(home, ref.id, f), partFileKey(dest, ref.id, f));
        copied++;
      });
      // The manifest last: a part folder without it is incomplete and never read.
      await copyObject(store, partFileKey(home, ref.id, MANIFEST_FILE), partFileKey(dest, ref.id, MANIFEST_FILE), renameManifest(dest));
      copied++;
    }
  });
  if (r.vindex) {
    await copyObject(store, codebookKey(src, r.vindex.codebook), codebookKey(dest, r.vindex.codebook));
    copied++;
  }
  // Step 4 (branch): a reference in every home dest will read parts from, before dest exists.
  if (mode === 'branch') {
    const homes = [...new Set(parts.map((p) => p.home!))];
    const at = new Date(opts.clock.now()).toISOString();
    await Promise.all(homes.map((h) => store.put(branchRefKey(h, dest, nonce()), new TextEncoder().encode(JSON.stringify({ namespace: dest, source: src, created_at: at }) + '\n'))));
  }
  await opts.beforeCommit?.();
  // Step 5: the source still exists (a delete after this read sees our references) and the branch was quick enough.
  const again = await routers.read(src);
  if (!again || again.router.deleted || again.router.created_at !== r.created_at || again.router.wal_start !== r.wal_start) throw notFound(src);
  // A branch's references must be in place well within GC's grace after its point (RFC-0011 "Timing"); a copy needs
  // no bound: a source file GC removes under it makes it fail ("vanished"), never copy a wrong state.
  if (mode === 'branch' && opts.clock.now() - started > CLONE_MAX_MS) {
    throw new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `${field} took more than ${CLONE_MAX_MS / 1000} s; retry`, { retryAfter: 1 });
  }
  // Step 6: the commit point.
  const nowIso = new Date(opts.clock.now()).toISOString();
  const borrowed = parts.some((p) => p.home !== undefined);
  const router: Router = {
    ...RouterStore.initial(dest, r.wal_start, nowIso),
    // A sharded source's parts keep their shards (RFC-0013): the branch is sharded the same way, format 4.
    format_version: r.sharding ? SHARDED_ROUTER_FORMAT : borrowed ? SHARED_PARTS_ROUTER_FORMAT : ROUTER_FORMAT_VERSION,
    indexed_wal: r.indexed_wal,
    parts,
    schema: r.schema,
    distance_metric: r.distance_metric,
    ...(r.sharding ? { sharding: r.sharding } : {}),
    ...(r.vindex ? { vindex: r.vindex } : {}),
  };
  const out = await routers.create(router);
  if (!out.ok) throw invalid(`${field}: destination namespace '${dest}' was created by another request meanwhile`);
  return { head, parts: parts.length, tailEntries: tailSeqs.length, objectsCopied: copied };
}
