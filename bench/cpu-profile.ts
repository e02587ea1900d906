/**
 * Where a benchmark's CPU time goes, by named phase: V8's sampling profiler (node:inspector) around a piece of
 * work, each sample's self time charged to a category chosen from its stack. Cheap enough (1 ms sampling) to leave on
 * around a build or a query loop; the categories are the caller's (function names in given files).
 */
import { Session } from 'node:inspector/promises';

export interface Category {
  name: string;
  /** Source file suffix (e.g. 'ivf/kmeans.ts') and, optionally, function names in it. */
  file: string;
  fns?: readonly string[];
  /** Charge everything below a match here even if an inner frame matches another category (e.g. k-means' own assignment step). */
  sticky?: boolean;
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

export async function profiled<T>(work: () => Promise<T>, categories: readonly Category[]): Promise<{ result: T; ms: Record<string, number>; top: { fn: string; category: string; ms: number }[] }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  let result: T;
  let profile: Profile;
  try {
    result = await work();
  } finally {
    profile = ((await session.post('Profiler.stop')) as { profile: Profile }).profile;
    session.disconnect();
  }
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const match = (n: Node): Category | undefined => categories.find((c) => n.callFrame.url.endsWith(c.file) && (!c.fns || c.fns.includes(n.callFrame.functionName)));
  const ms: Record<string, number> = {};
  const other = new Map<string, number>(); // function + category → self ms
  const add = (k: string, v: number) => (ms[k] = (ms[k] ?? 0) + v);
  // Iterative DFS: stacks can be deep (recursive clustering, promise chains).
  const where = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(crates-ts|indexer|bench|node_modules)\//, '$1/')}`.trim();
  // `caller`: the nearest frame with a source file, named for native frames (no url) so they can be told apart.
  const stack: { id: number; cat: Category | undefined; caller: string }[] = [{ id: profile.nodes[0]!.id, cat: undefined, caller: '' }];
  while (stack.length > 0) {
    const { id, cat: parent, caller } = stack.pop()!;
    const n = byId.get(id)!;
    const m = match(n);
    const cat = parent?.sticky ? parent : (m ?? parent);
    const t = self.get(id) ?? 0;
    const f = n.callFrame.functionName;
    const name =
      n.callFrame.url === 'node:inspector' || caller.endsWith('node:inspector') ? 'profiler itself (collecting the profile)'
      : cat ? cat.name
      : f === '(idle)' ? 'idle (waiting for I/O)'
      : f === '(garbage collector)' ? 'garbage collection'
      : 'other';
    add(name, t);
    const key = `${n.callFrame.url ? where(n) : `${where(n)} (native, under ${caller || 'root'})`}\u0000${name}`;
    other.set(key, (other.get(key) ?? 0) + t);
    const next = n.callFrame.url ? where(n) : caller;
    for (const c of n.children ?? []) stack.push({ id: c, cat, caller: next });
  }
  for (const k of Object.keys(ms)) ms[k] = Math.round(ms[k]!);
  // The functions with the most self time, with the category each was charged to.
  const top = [...other]
    .filter(([k]) => !/^\((idle|garbage collector|program)\)/.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, v]) => ({ fn: k.split('\u0000')[0]!, category: k.split('\u0000')[1]!, ms: Math.round(v) }));
  return { result: result!, ms, top };
}
