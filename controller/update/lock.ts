// One engine operation per InstanceSet at a time, in this controller: while a switchover runs, the
// role-probe loop must neither relabel from a half-done state (for a few ms both the candidate and
// the old primary report primary) nor let the split-brain guard demote the candidate. One instance
// per controller (ControllerMemory.locks), so two controllers in one process never share it.
export class OperationLocks {
  private readonly running = new Map<string, Promise<unknown>>();

  /** True while an exclusive operation on `key` runs; the probe loop skips its round then. */
  isBusy(key: string): boolean {
    return this.running.has(key);
  }

  /** Runs `fn` exclusively for `key`; refuses (throws) when another operation on `key` runs. */
  async runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.running.has(key)) throw new Error(`another engine operation on ${key} is running; retry after it finished`);
    const p = fn();
    this.running.set(key, p);
    try {
      return await p;
    } finally {
      this.running.delete(key);
    }
  }
}
