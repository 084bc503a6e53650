// One engine operation per InstanceSet at a time, in this process: while a switchover runs, the
// role-probe loop must neither relabel from a half-done state (for a few ms both the candidate and
// the old primary report primary) nor let the split-brain guard demote the candidate.
const running = new Map<string, Promise<unknown>>();

/** True while an exclusive operation on `key` runs; the probe loop skips its round then. */
export function isBusy(key: string): boolean {
  return running.has(key);
}

/** Runs `fn` exclusively for `key`; refuses (throws) when another operation on `key` runs. */
export async function runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  if (running.has(key)) throw new Error(`another engine operation on ${key} is running; retry after it finished`);
  const p = fn();
  running.set(key, p);
  try {
    return await p;
  } finally {
    running.delete(key);
  }
}
