// Child process for thread-priority.test.ts: starts a worker thread, lowers the whole process through niceThisProcess,
// starts a second worker thread, and prints the nice value of each of its threads (/proc/self/task/<tid>/stat).
import { register } from 'tsx/esm/api';
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';

register();
const idle = () => new Worker('setInterval(() => {}, 1000)', { eval: true });
const before = idle();
await new Promise((r) => before.once('online', r));
const { niceThisProcess } = await import('./thread-priority.ts');
const got = niceThisProcess(Number(process.argv[2]));
const after = idle();
await new Promise((r) => after.once('online', r));
const nices = readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));
process.stdout.write(JSON.stringify({ got, nices }));
process.exit(0);
