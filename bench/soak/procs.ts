/**
 * Process supervision for the soak: `elax serve` and `elax indexer` children in named slots, killed and restarted
 * on the harness's orders. Every exit is recorded with its code/signal and whether the harness caused it (SIGKILL
 * it sent, or SIGTERM followed by exit 0); any other exit is an unexpected death, reported with its stderr tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../lib.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const ELAX_BIN = path.join(repo, 'bin', 'elax.mjs');
const TAIL_BYTES = 16 * 1024;
/** Generous: on a loaded 2-core machine a cold `elax serve` (TypeScript compiled at load) takes 5-20 s. */
const HEALTH_TIMEOUT_MS = 60_000;

export type SlotKind = 'server' | 'indexer';

export interface ExitRecord {
  slot: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the harness did to this pid, if anything. */
  cause: 'sigkill' | 'sigterm' | null;
  expected: boolean;
  /** Why an exit is unexpected, e.g. "exit code 1 without a signal from the harness". */
  reason?: string;
  stderrTail: string;
  at: number;
}

class Tail {
  private text = '';
  push(chunk: Buffer): void {
    this.text += chunk.toString();
    if (this.text.length > 2 * TAIL_BYTES) this.text = this.text.slice(-TAIL_BYTES);
  }
  get(): string {
    return this.text.slice(-TAIL_BYTES);
  }
}

export interface SlotSpec {
  name: string;
  kind: SlotKind;
  /** Extra CLI arguments after `serve --port P --host H --store S` or `indexer --store S`. */
  args: string[];
}

export class Slot {
  child: ChildProcess | null = null;
  /** Incremented on every (re)start: a request that began in an older generation saw its server die. */
  generation = 0;
  port = 0;
  starts = 0;
  /** Exits so far (a client compares it before and after a failed request: did its server die meanwhile?). */
  deaths = 0;
  /** When the last process of this slot exited (ms epoch; 0: never). */
  lastExitAt = 0;
  /** Signals the harness sent so far (a server being stopped gracefully closes connections before it exits). */
  signals = 0;
  private cause: 'sigkill' | 'sigterm' | null = null;
  private stderr = new Tail();
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: SlotSpec,
    private readonly sup: Supervisor,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Alive and answered /health since its last start (clients only talk to ready servers). */
  get ready(): boolean {
    return this.alive && this.healthy;
  }

  private healthy = false;

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when the current process has exited. */
  waitExit(): Promise<void> {
    return this.exited;
  }

  stderrTail(): string {
    return this.stderr.get();
  }

  /** Spawns the process; for a server, waits until /health answers (or the child dies: false). */
  async start(): Promise<boolean> {
    if (this.spec.kind === 'server' && this.port === 0) this.port = await freePort();
    for (let attempt = 0; ; attempt++) {
      const ok = await this.spawnOnce();
      if (ok || this.spec.kind !== 'server' || attempt >= 2 || !/EADDRINUSE/.test(this.stderr.get())) return ok;
      this.port = await freePort(); // someone took our port while we were down: move
    }
  }

  private async spawnOnce(): Promise<boolean> {
    const { store, env } = this.sup.opts;
    const args =
      this.spec.kind === 'server'
        ? [ELAX_BIN, 'serve', '--port', String(this.port), '--host', '127.0.0.1', '--store', store, ...(process.env.ELAX_SOAK_LOG_DIR ? [] : ['--quiet']), '--cache-dir', 'temp', ...this.spec.args]
        : [ELAX_BIN, 'indexer', '--store', store, ...this.spec.args];
    // SIGUSR2 makes a child write a Node diagnostic report (see diagnose()): what a hung process is waiting for.
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${this.sup.reportDir}`.trim();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, NODE_OPTIONS: nodeOptions } });
    this.child = child;
    this.healthy = false;
    this.cause = null;
    this.generation++;
    this.starts++;
    this.stderr = new Tail();
    const tail = this.stderr;
    child.stderr!.on('data', (c: Buffer) => tail.push(c));
    // Indexer logs (JSON lines on stdout) explain failures: keep their tail with stderr.
    child.stdout!.on('data', (c: Buffer) => tail.push(c));
    // ELAX_SOAK_LOG_DIR: every child's whole output too, one file per process (docs/runbooks/soak.md).
    if (process.env.ELAX_SOAK_LOG_DIR) {
      const file = createWriteStream(path.join(process.env.ELAX_SOAK_LOG_DIR, `${this.name}-${child.pid}.log`));
      child.stdout!.pipe(file, { end: false });
      child.stderr!.pipe(file, { end: false });
      child.once('exit', () => file.end());
    }
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.deaths++;
        this.lastExitAt = Date.now();
        this.sup.recordExit(this, child, code, signal, this.cause, tail.get());
        resolve();
      }),
    );
    if (this.spec.kind === 'indexer') return true;
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      try {
        if ((await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2_000) })).ok) return (this.healthy = true);
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const diag = await this.diagnose();
    tail.push(Buffer.from(`\n[soak] no /health answer within ${HEALTH_TIMEOUT_MS / 1000} s: killed by the harness\n`));
    this.sup.violation(`${this.name} (pid ${child.pid}) did not answer /health within ${HEALTH_TIMEOUT_MS / 1000} s of its start; ${diag}; stderr tail:\n${tail.get().slice(-2000)}`);
    await this.kill('SIGKILL');
    return false;
  }

  /**
   * What a live but unresponsive child is doing, from a Node diagnostic report (SIGUSR2): CPU time used (starved
   * or busy?), the JS stack if it is running code, and its open TCP connections (waiting on the store or the
   * proxy?). The report file is deleted (it holds the environment, credentials included).
   */
  async diagnose(): Promise<string> {
    const child = this.child;
    if (!child || !this.alive || child.pid === undefined) return 'no diagnostic (process gone)';
    child.kill('SIGUSR2');
    const pid = child.pid;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const file = readdirSync(this.sup.reportDir).find((f) => f.includes(`.${pid}.`) && f.endsWith('.json'));
      if (!file) continue;
      const full = path.join(this.sup.reportDir, file);
      try {
        const rep = JSON.parse(readFileSync(full, 'utf8')) as {
          javascriptStack?: { message?: string; stack?: string[] };
          resourceUsage?: { userCpuSeconds?: number; kernelCpuSeconds?: number };
          libuv?: { type: string; is_active?: boolean; remoteEndpoint?: { host?: string; port?: number } }[];
        };
        const cpu = (rep.resourceUsage?.userCpuSeconds ?? 0) + (rep.resourceUsage?.kernelCpuSeconds ?? 0);
        const tcp = (rep.libuv ?? []).filter((h) => h.type === 'tcp' && h.remoteEndpoint).map((h) => `${h.remoteEndpoint!.host}:${h.remoteEndpoint!.port}`);
        const stack = rep.javascriptStack?.stack?.slice(0, 8).join(' | ') || rep.javascriptStack?.message || '(idle: no JS on the stack)';
        return `diagnostic report: ${cpu.toFixed(1)} s CPU used, open TCP connections to [${tcp.join(', ')}], JS stack: ${stack}`;
      } catch {
        continue; // still being written
      } finally {
        rmSync(full, { force: true });
      }
    }
    return 'no diagnostic report within 3 s';
  }

  /** Sends `signal` and waits for the exit (SIGTERM: at most `graceMs`, then SIGKILL and a violation). */
  async kill(signal: 'SIGKILL' | 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return this.exited;
    this.cause = signal === 'SIGKILL' ? 'sigkill' : 'sigterm';
    this.signals++;
    // A server being stopped gracefully keeps getting requests until it stops listening, as behind a load
    // balancer: that is what exercises its shutdown answers.
    if (signal === 'SIGKILL') this.healthy = false;
    child.kill(signal);
    if (signal === 'SIGTERM') {
      const timer = setTimeout(() => {
        void this.diagnose().then((diag) => {
          this.sup.violation(`${this.name} (pid ${child.pid}) did not exit within ${graceMs} ms of SIGTERM: killed; ${diag}; stderr tail:\n${this.stderr.get().slice(-1500)}`);
          this.cause = 'sigkill';
          child.kill('SIGKILL');
        });
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

export interface SupervisorOptions {
  store: string;
  env: Record<string, string>;
  /** Where children write diagnostic reports (a run's temp dir). */
  scratchDir: string;
}

export class Supervisor {
  readonly slots: Slot[];
  readonly exits: ExitRecord[] = [];
  readonly violations: string[] = [];
  readonly reportDir: string;
  private readonly t0 = Date.now();

  constructor(
    readonly opts: SupervisorOptions,
    specs: SlotSpec[],
  ) {
    this.slots = specs.map((s) => new Slot(s, this));
    this.reportDir = path.join(opts.scratchDir, 'reports');
    mkdirSync(this.reportDir, { recursive: true });
  }

  /** Seconds since the supervisor started, for messages ("t+12.3s"). */
  since(at = Date.now()): string {
    return `t+${((at - this.t0) / 1000).toFixed(1)}s`;
  }

  servers(): Slot[] {
    return this.slots.filter((s) => s.spec.kind === 'server');
  }

  violation(msg: string): void {
    this.violations.push(`[${this.since()}] ${msg}`);
  }

  recordExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, cause: 'sigkill' | 'sigterm' | null, stderrTail: string): void {
    let reason: string | undefined;
    if (cause === 'sigkill') {
      if (signal !== 'SIGKILL' && code !== 0) reason = `exit code ${code} / signal ${signal} while the harness was SIGKILLing it`;
    } else if (cause === 'sigterm') {
      if (!(code === 0 || signal === 'SIGTERM')) reason = `exit code ${code} / signal ${signal} after SIGTERM (a graceful stop exits 0)`;
    } else {
      reason = `exit code ${code} / signal ${signal} without a signal from the harness`;
    }
    this.exits.push({ slot: slot.name, pid: child.pid ?? -1, code, signal, cause, expected: reason === undefined, reason, stderrTail, at: Date.now() });
  }

  unexpectedExits(): ExitRecord[] {
    return this.exits.filter((e) => !e.expected);
  }

  /** Stops every live child gracefully (SIGTERM), in parallel. */
  async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.kill('SIGTERM')));
  }
}
