/** Parent side of ./race-child.ts: spawn N long-lived children on one store directory and race them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

export interface ChildReply {
  id: number;
  ok: boolean;
  error?: string;
  lost?: number;
}

export class RaceChildren {
  readonly #children: ChildProcess[] = [];
  readonly #pending = new Map<string, (r: ChildReply) => void>();
  #nextId = 1;

  private constructor() {}

  static async spawn(n: number, dir: string): Promise<RaceChildren> {
    const self = new RaceChildren();
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        new Promise<void>((resolve, reject) => {
          // cwd = repo root so that `--import tsx` resolves from the project's node_modules.
          const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'race-child.ts'), dir], {
            cwd: repoRoot,
            stdio: ['pipe', 'pipe', 'inherit'],
          });
          self.#children.push(child);
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`race child ${i} exited early with code ${code}`)));
          createInterface({ input: child.stdout! }).on('line', (line) => {
            const msg = JSON.parse(line) as ChildReply & { ready?: boolean };
            if (msg.ready) return resolve();
            self.#pending.get(`${i}:${msg.id}`)?.(msg);
          });
        }),
      ),
    );
    return self;
  }

  get size(): number {
    return this.#children.length;
  }

  /** Send one command per child (built from its index) as close to simultaneously as possible; await all replies. */
  async all(command: (i: number) => Record<string, unknown>): Promise<ChildReply[]> {
    const id = this.#nextId++;
    const replies = this.#children.map(
      (_, i) => new Promise<ChildReply>((resolve) => this.#pending.set(`${i}:${id}`, resolve)),
    );
    const lines = this.#children.map((_, i) => `${JSON.stringify({ id, ...command(i) })}\n`);
    this.#children.forEach((c, i) => c.stdin!.write(lines[i]));
    const out = await Promise.all(replies);
    for (let i = 0; i < this.#children.length; i++) this.#pending.delete(`${i}:${id}`);
    const failed = out.find((r) => r.error !== undefined);
    if (failed) throw new Error(`race child failed: ${failed.error}`);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.removeAllListeners('exit');
            c.once('exit', () => resolve());
            c.stdin!.end();
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}
