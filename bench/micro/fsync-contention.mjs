// Small synced writes (a WAL entry's put: 512 KiB write + fsync + directory fsync) while another process writes and
// fsyncs large files (a part upload) on the same volume: their latency alone and under that competition
// (docs/rfcs/0010-worker-pool.md "The embedded indexer at SCHED_IDLE"). Plain Node, no elax code.
//
//   node bench/micro/fsync-contention.mjs DIR SECONDS [bigMB] [plain|idle|chunk|nosync]
//
// bigMB 0: no competitor. plain: the competitor writes bigMB, fsyncs, renames, fsyncs the directory; idle: the same
// at I/O class idle (ionice -c3); chunk: it fdatasyncs every 2 MiB; nosync: it never syncs (the kernel's writeback).
import fs from 'node:fs'; import path from 'node:path'; import { fork, execFileSync } from 'node:child_process';
const [dir, secs, bigMB, mode] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 0), process.argv[5] ?? 'plain'];
if (process.argv[6] === 'big') {
  const buf = Buffer.alloc(bigMB << 20, 7); let i = 0; const t0 = Date.now(); let bytes = 0;
  while (Date.now() - t0 < secs * 1000) { const p = path.join(dir, `big${i++ % 4}`); const fd = fs.openSync(p + '.tmp', 'w');
    if (mode === 'chunk') { for (let o = 0; o < buf.length; o += 2 << 20) { fs.writeSync(fd, buf, o, Math.min(2 << 20, buf.length - o)); fs.fdatasyncSync(fd); } }
    else fs.writeSync(fd, buf);
    if (mode !== 'nosync') fs.fsyncSync(fd); fs.closeSync(fd); fs.renameSync(p + '.tmp', p); const d = fs.openSync(dir, 'r'); if (mode !== 'nosync') fs.fsyncSync(d); fs.closeSync(d); bytes += buf.length; }
  console.log(JSON.stringify({ big_mb_per_s: +(bytes / 2 ** 20 / ((Date.now() - t0) / 1000)).toFixed(0) }));
  process.exit(0);
}
fs.mkdirSync(dir + '/b', { recursive: true });
if (bigMB) { const c = fork(process.argv[1], [dir + '/b', secs, bigMB, mode, 'big']); if (mode === 'idle') execFileSync('ionice', ['-c3', '-p', String(c.pid)]); }
const small = Buffer.alloc(512 << 10, 3); const lat = []; const t0 = Date.now(); let i = 0;
while (Date.now() - t0 < secs * 1000) { const s = performance.now(); const p = path.join(dir, `s${i++ % 64}`); const fd = fs.openSync(p, 'w'); fs.writeSync(fd, small); fs.fsyncSync(fd); fs.closeSync(fd); const d = fs.openSync(dir, 'r'); fs.fsyncSync(d); fs.closeSync(d); lat.push(performance.now() - s); await new Promise(r => setTimeout(r, 5)); }
lat.sort((a, b) => a - b); const q = (p) => lat[Math.floor(p / 100 * (lat.length - 1))].toFixed(2);
console.log(JSON.stringify({ bigMB, mode, n: lat.length, p50: q(50), p90: q(90), p99: q(99), max: q(100) }));
