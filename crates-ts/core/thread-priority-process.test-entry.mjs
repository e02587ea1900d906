// Child process for thread-priority.test.ts: starts a worker thread, lowers the whole process through niceThisProcess
// (argv[2], the nice value) or, with argv[3] = 'idle', idleThisProcess, starts a second worker thread, and prints the
// nice value and scheduling policy of each of its threads (/proc/self/task/<tid>/stat).
import { register } from 'tsx/esm/api';
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';

register();
const idle = () => new Worker('setInterval(() => {}, 1000)', { eval: true });
const before = idle();
await new Promise((r) => before.once('online', r));
const { niceThisProcess, idleThisProcess } = await import('./thread-priority.ts');
const got = process.argv[3] === 'idle' ? idleThisProcess() : niceThisProcess(Number(process.argv[2]));
const after = idle();
await new Promise((r) => after.once('online', r));
const fields = readdirSync('/proc/self/task').map((tid) => readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' '));
process.stdout.write(JSON.stringify({ got, nices: fields.map((f) => Number(f[16])), policies: fields.map((f) => Number(f[38])) }));
process.exit(0);
