// The one bounded wait of the test suite: poll `check` until it returns a value (neither undefined
// nor false), bounded by time and by attempts; the last error thrown by `check` goes into the
// message. Every wait helper in test/ (eventually, waitFor, until) is this with its own defaults.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 1;
  let lastError: unknown;
  for (let i = 0; i < maxAttempts && Date.now() <= deadline; i++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : lastError !== undefined ? `: ${String(lastError)}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** The same wait with the timeout first, as the gitops and engine helpers call it. */
export function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  return eventually(what, check, { timeoutMs, intervalMs });
}
