/**
 * Process supervision for the soak: `elax serve` and `elax indexer` children in named slots, killed and restarted
 * on the harness's orders. Every exit is recorded with its code/signal and whether the harness caused it (SIGKILL
 * it sent, or SIGTERM followed by exit 0); any other exit is an unexpected death, reported with its stderr tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../lib.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const ELAX_BIN = path.join(repo, 'bin', 'elax.mjs');
const TAIL_BYTES = 16 * 1024;

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
        ? [ELAX_BIN, 'serve', '--port', String(this.port), '--host', '127.0.0.1', '--store', store, '--quiet', ...this.spec.args]
        : [ELAX_BIN, 'indexer', '--store', store, ...this.spec.args];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.deaths++;
        this.sup.recordExit(this, child, code, signal, this.cause, tail.get());
        resolve();
      }),
    );
    if (this.spec.kind === 'indexer') return true;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      try {
        if ((await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2_000) })).ok) return (this.healthy = true);
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    tail.push(Buffer.from('\n[soak] no /health answer within 30 s: killed by the harness\n'));
    this.sup.violation(`${this.name} (pid ${child.pid}) did not answer /health within 30 s of its start; stderr tail:\n${tail.get().slice(-2000)}`);
    await this.kill('SIGKILL');
    return false;
  }

  /** Sends `signal` and waits for the exit (SIGTERM: at most `graceMs`, then SIGKILL and a violation). */
  async kill(signal: 'SIGKILL' | 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return this.exited;
    this.cause = signal === 'SIGKILL' ? 'sigkill' : 'sigterm';
    // A server being stopped gracefully keeps getting requests until it stops listening, as behind a load
    // balancer: that is what exercises its shutdown answers.
    if (signal === 'SIGKILL') this.healthy = false;
    child.kill(signal);
    if (signal === 'SIGTERM') {
      const timer = setTimeout(() => {
        this.sup.violation(`${this.name} (pid ${child.pid}) did not exit within ${graceMs} ms of SIGTERM: killed`);
        this.cause = 'sigkill';
        child.kill('SIGKILL');
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
}

export class Supervisor {
  readonly slots: Slot[];
  readonly exits: ExitRecord[] = [];
  readonly violations: string[] = [];
  kills = { sigkill: 0, sigterm: 0 };

  constructor(
    readonly opts: SupervisorOptions,
    specs: SlotSpec[],
  ) {
    this.slots = specs.map((s) => new Slot(s, this));
  }

  servers(): Slot[] {
    return this.slots.filter((s) => s.spec.kind === 'server');
  }

  violation(msg: string): void {
    this.violations.push(msg);
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
    if (cause === 'sigkill') this.kills.sigkill++;
    if (cause === 'sigterm') this.kills.sigterm++;
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
