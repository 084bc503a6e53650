// A deduplicating keyed work queue in the shape of client-go's rate-limited workqueue:
// - a key waiting in the queue is held once, however often it is added;
// - a key is handed to at most one worker at a time; adds while it is processed mark it dirty and
//   it is queued again once its worker finishes (so no event is lost and no key runs twice at once);
// - failures back off per key exponentially (base·2^(n-1), capped) and reset on success;
// - shutdown stops handing out keys and waits for the ones being processed (drain).

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 60_000 };

/** Delay before the n-th consecutive retry (n ≥ 1) of a key. */
export function backoffDelay(failures: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  // 2^(n-1) overflows to Infinity for large n; min() caps it.
  return Math.min(opts.baseMs * 2 ** Math.min(failures - 1, 60), opts.maxMs);
}

export interface ReconcileResult {
  /** Reconcile the key again after this many ms, even without a watch event (level-triggered polling). */
  requeueAfter?: number;
}

export type Handler = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueHooks {
  onResult?: (key: string, outcome: 'success' | 'requeue' | 'error', seconds: number, err?: unknown) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly inflight = new Set<Promise<void>>();
  private shuttingDown = false;
  private workers: Array<Promise<void>> = [];

  constructor(
    readonly name: string,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
    private readonly hooks: WorkQueueHooks = {},
  ) {}

  /** Keys waiting (not counting the ones being processed). */
  get depth(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again when its worker is done
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds `key` after `ms`; a later call with an earlier deadline wins, a later deadline is ignored. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds `key` after its per-key backoff and counts one more failure for it. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the failure count of `key` (after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key, or undefined once shut down. The caller must call done(key). */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Starts `concurrency` workers calling `handler` for each key. */
  run(concurrency: number, handler: Handler): void {
    for (let i = 0; i < concurrency; i++) this.workers.push(this.worker(handler));
  }

  private async worker(handler: Handler): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      const p = this.process(key, handler);
      this.inflight.add(p);
      await p;
      this.inflight.delete(p);
    }
  }

  private async process(key: string, handler: Handler): Promise<void> {
    const t0 = performance.now();
    try {
      const result = await handler(key);
      this.forget(key);
      const after = result?.requeueAfter;
      if (after !== undefined && after >= 0) this.addAfter(key, after);
      this.hooks.onResult?.(key, after !== undefined ? 'requeue' : 'success', (performance.now() - t0) / 1000);
    } catch (err) {
      this.addRateLimited(key);
      this.hooks.onResult?.(key, 'error', (performance.now() - t0) / 1000, err);
    } finally {
      this.done(key);
    }
  }

  /** Stops handing out keys, cancels delayed adds and waits for keys being processed to finish. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.queue.length = 0;
    this.dirty.clear();
    await Promise.all([...this.inflight]);
    await Promise.all(this.workers);
    this.workers = [];
  }
}
