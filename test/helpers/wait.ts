/** Polls `ok` every `everyMs` until it holds; throws "timed out waiting for <what>" once `ms` have passed. */
export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
