/**
 * Flow control: how many requests may be in flight now, and whether to send at all.
 *  - Aimd: the working concurrency window; halves on a 429 (at most once per cooldown, so one burst of 429s from
 *    the same flight counts once), grows by one per window of successes up to --concurrency.
 *  - Gate: the producer acquires a slot before sending a chunk; it waits while the window is full or while the
 *    namespace's WAL lag is above the threshold (with hysteresis: resume below 80 % of it).
 *  - ThrottleMeter: wall time during which at least one throttle (lag pause, 429 wait) was holding sending back.
 *  - LagWatcher: polls the namespace's unindexed bytes and feeds the gate.
 */

export type Now = () => number;

export class Aimd {
  private limit: number;
  private lastDecrease = -Infinity;
  /** Smallest window reached. */
  min: number;

  constructor(
    readonly max: number,
    private readonly cooldownMs = 1000,
  ) {
    this.limit = max;
    this.min = max;
  }

  get window(): number {
    return Math.max(1, Math.floor(this.limit));
  }

  onSuccess(): void {
    if (this.limit < this.max) this.limit = Math.min(this.max, this.limit + 1 / this.window);
  }

  onRateLimited(now: number): void {
    if (now - this.lastDecrease < this.cooldownMs) return;
    this.lastDecrease = now;
    this.limit = Math.max(1, this.limit / 2);
    this.min = Math.min(this.min, this.window);
  }
}

export class ThrottleMeter {
  private active = 0;
  private since = 0;
  private total = 0;
  private lagSince: number | null = null;
  private lagTotal = 0;

  constructor(private readonly now: Now) {}

  /** Start a hold; the returned function ends it (idempotent). */
  enter(): () => void {
    if (this.active++ === 0) this.since = this.now();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      if (--this.active === 0) this.total += this.now() - this.since;
    };
  }

  lagStarted(): void {
    this.lagSince ??= this.now();
  }

  lagEnded(): void {
    if (this.lagSince !== null) this.lagTotal += this.now() - this.lagSince;
    this.lagSince = null;
  }

  get holding(): number {
    return this.active;
  }

  throttledMs(): number {
    return this.total + (this.active > 0 ? this.now() - this.since : 0);
  }

  lagPausedMs(): number {
    return this.lagTotal + (this.lagSince !== null ? this.now() - this.lagSince : 0);
  }
}

export class Gate {
  inflight = 0;
  /** Last unindexed-bytes reading (null before the first poll or when polling is off). */
  lagBytes: number | null = null;
  private waiters: (() => void)[] = [];
  private lagHold: (() => void) | null = null;

  constructor(
    readonly aimd: Aimd,
    private readonly meter: ThrottleMeter,
  ) {}

  get paused(): boolean {
    return this.lagHold !== null;
  }

  /** Resolves once a request may be sent; the caller must release() when it is settled. */
  async acquire(): Promise<void> {
    while (this.paused || this.inflight >= this.aimd.window) await new Promise<void>((r) => this.waiters.push(r));
    this.inflight++;
  }

  release(): void {
    this.inflight--;
    this.wake();
  }

  /** Re-check waiters (window grew, pause lifted). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  setLag(bytes: number, maxLagBytes: number): void {
    this.lagBytes = bytes;
    if (!this.paused && bytes > maxLagBytes) {
      this.lagHold = this.meter.enter();
      this.meter.lagStarted();
    } else if (this.paused && bytes <= maxLagBytes * 0.8) this.unpause();
  }

  unpause(): void {
    if (!this.lagHold) return;
    this.lagHold();
    this.lagHold = null;
    this.meter.lagEnded();
    this.wake();
  }
}

export class LagWatcher {
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private failures = 0;

  constructor(
    private readonly poll: () => Promise<number | null>,
    private readonly gate: Gate,
    private readonly maxLagBytes: number,
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.gate.unpause();
  }

  async tick(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const bytes = await this.poll();
      this.failures = 0;
      this.gate.setLag(bytes ?? 0, this.maxLagBytes);
    } catch {
      // Fail open: if the metadata endpoint keeps failing, writes (which retry on their own) must not wait forever.
      if (++this.failures >= 3) this.gate.unpause();
    } finally {
      this.polling = false;
    }
  }
}
