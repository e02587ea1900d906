// Child process for the cross-process CAS race test: waits until a shared start time, then attempts one
// conditional write on a LocalDirStore and prints "won" or "lost".
import { register } from 'tsx/esm/api';

register();
const { LocalDirStore, Witness } = await import('./index.ts');
const [dir, mode, key, writer, startAt, token] = process.argv.slice(2);
const store = new LocalDirStore(dir);
const bytes = new TextEncoder().encode(writer);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const res =
  mode === 'absent' ? await store.putIfAbsent(key, bytes) : await store.putIfMatch(key, bytes, Witness.fromBackendToken(token));
process.stdout.write(res.ok ? 'won' : 'lost');
