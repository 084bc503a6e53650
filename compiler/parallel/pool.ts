// A few render worker threads (render-worker.ts) and request/reply calls to them. Started before
// the main thread parses the repository, so their start-up overlaps with it (prestart.ts: for
// `dbtopo compile`, before the CLI's modules load).
import type { Worker } from 'node:worker_threads';
import { renderWorkerThread } from './prestart.js';
import type { Reply, RequestBody } from './protocol.js';
import { handle } from './render-shard.js';

type Pending = { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void };

class RenderWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor() {
    this.worker = renderWorkerThread();
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else {
        const err = new Error(`render worker: ${reply.message}`);
        if (reply.stack !== undefined) err.stack = `${err.message}\n(worker) ${reply.stack}`;
        p.reject(err);
      }
    });
    const fail = (err: Error): void => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`render worker exited (code ${code}) before answering`)));
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  call(req: RequestBody): Promise<Reply & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  /** Stops the thread; once this resolves it writes nothing more. */
  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('render worker stopped'));
    this.pending.clear();
  }
}

/**
 * The main thread as one more render thread, between its own work: requests run in this thread
 * (render-shard.ts, as in a worker) one at a time, each in its own event-loop turn. Saves one
 * isolate — its start, its copy of the optimized code, its garbage collector — on a machine with
 * few CPUs.
 */
class LocalRenderer {
  private running = 0;
  private stopped = false;

  get inFlight(): number {
    return this.running;
  }

  call(req: RequestBody): Promise<Reply & { ok: true }> {
    this.running++;
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (this.stopped) {
          this.running--;
          reject(new Error('render in the main thread: pool closed'));
          return;
        }
        const reply = handle({ ...req, id: 0 });
        this.running--;
        if (reply.ok) resolve(reply);
        else reject(new Error(`render in the main thread: ${reply.message}`));
      });
    });
  }

  /** Nothing queued runs after this. */
  stop(): void {
    this.stopped = true;
  }
}

/** Requests a worker may have queued: one being worked on and the next, so it never waits for this thread. */
const MAX_IN_FLIGHT = 2;

export class WorkerPool {
  private readonly workers: readonly RenderWorker[];
  /** This thread, rendering too when every worker is busy (see LocalRenderer). */
  private readonly local: LocalRenderer | undefined;
  private readonly queue: Array<{ req: RequestBody; resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }> = [];
  private closed: Promise<void> | undefined;

  /** `size` worker threads; `withMainThread`: this thread renders too, between its own work. */
  constructor(size: number, withMainThread = false) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`a worker pool needs at least one worker, got ${size}`);
    this.workers = Array.from({ length: size }, () => new RenderWorker());
    this.local = withMainThread ? new LocalRenderer() : undefined;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends the same request to every worker (ahead of anything submitted later). */
  all(req: RequestBody): Promise<Array<Reply & { ok: true }>> {
    return Promise.all([...this.workers, ...(this.local ? [this.local] : [])].map((w) => w.call(req)));
  }

  /** Queues a request for whichever worker is least busy (a slow or descheduled thread just takes fewer). */
  submit(req: RequestBody): Promise<Reply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('worker pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  /** Replies in the order of `items`, whatever order they finished in. */
  map<B>(items: readonly B[], request: (item: B) => RequestBody): Promise<Array<Reply & { ok: true }>> {
    return Promise.all(items.map((item) => this.submit(request(item))));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let best: RenderWorker | LocalRenderer | undefined;
      for (const w of this.workers) if (w.inFlight < MAX_IN_FLIGHT && (!best || w.inFlight < best.inFlight)) best = w;
      if (!best && this.local?.inFlight === 0) best = this.local;
      if (!best) return;
      const job = this.queue.shift();
      if (!job) return;
      best.call(job.req).then(
        (r) => {
          job.resolve(r);
          this.pump();
        },
        (e: Error) => {
          job.reject(e);
          this.pump();
        },
      );
    }
  }

  /** Stops every worker (idempotent); queued requests are rejected. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const job of this.queue.splice(0)) job.reject(new Error('worker pool closed'));
      this.local?.stop();
      await Promise.all(this.workers.map((w) => w.stop()));
    })();
    return this.closed;
  }
}
