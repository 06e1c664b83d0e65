/** Polls until `check` returns a value (not undefined); fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 15_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Polls `read` until its value has stayed the same for `quietMs`, and returns that value; fails
 * after `ms`. For a wait whose end no event announces: something stopped making progress.
 */
export async function settled<T>(
  read: () => T,
  quietMs: number,
  ms = 20_000,
  what = 'progress to stop',
): Promise<T> {
  const until = Date.now() + ms;
  let value = read();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = read();
    if (now !== value) {
      value = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
  }
}
