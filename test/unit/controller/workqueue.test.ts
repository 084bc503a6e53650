import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay, WorkQueue } from '../../../controller/runtime/workqueue.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `cond` holds; bounded in attempts. */
async function until(cond: () => boolean, what: string, attempts = 400): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (cond()) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('backoffDelay', () => {
  it('grows exponentially from the base and is capped', () => {
    const opts = { baseMs: 10, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts))).toEqual([10, 20, 40, 80, 160]);
    expect(backoffDelay(8, opts)).toBe(1000);
    expect(backoffDelay(10_000, opts)).toBe(1000);
    expect(backoffDelay(0, opts)).toBe(0);
  });

  it('is monotonic and never above the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000 }), (n, base, max) => {
        const opts = { baseMs: base, maxMs: Math.max(base, max) };
        const d = backoffDelay(n, opts);
        expect(d).toBeLessThanOrEqual(opts.maxMs);
        expect(backoffDelay(n + 1, opts)).toBeGreaterThanOrEqual(d);
      }),
    );
  });
});

describe('WorkQueue', () => {
  it('deduplicates a key added many times before it is processed', async () => {
    const q = new WorkQueue('t');
    for (let i = 0; i < 10; i++) q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    const seen: string[] = [];
    q.run(2, async (k) => {
      seen.push(k);
    });
    await until(() => seen.length === 2, 'two keys');
    await sleep(20);
    expect(seen.sort()).toEqual(['a', 'b']);
    await q.shutdown();
  });

  it('never processes one key in two workers at once, and re-runs a key added during processing', async () => {
    const q = new WorkQueue('t');
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    q.run(4, async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      if (runs === 1) await gate;
      active--;
    });
    q.add('k');
    await until(() => runs === 1, 'first run');
    // Added while processing: must not start in another worker, must run once afterwards.
    q.add('k');
    q.add('k');
    await sleep(30);
    expect(runs).toBe(1);
    release();
    await until(() => runs === 2, 'second run');
    await sleep(30);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    await q.shutdown();
  });

  it('processes different keys concurrently up to the worker count', async () => {
    const q = new WorkQueue('t');
    let active = 0;
    let maxActive = 0;
    let done = 0;
    q.run(3, async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      active--;
      done++;
    });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await until(() => done === 5, 'all keys');
    expect(maxActive).toBe(3);
    await q.shutdown();
  });

  it('backs off a failing key exponentially and resets the count on success', async () => {
    const q = new WorkQueue('t', { baseMs: 20, maxMs: 80 });
    const times: number[] = [];
    let failUntil = 4;
    q.run(1, async () => {
      times.push(performance.now());
      if (times.length <= failUntil) throw new Error('boom');
    });
    q.add('x');
    await until(() => times.length === 5, 'five attempts', 1000);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // 20, 40, 80, 80(cap): each gap at least its backoff (timers never fire early)
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    expect(gaps[3]).toBeGreaterThanOrEqual(79);
    expect(gaps[3]).toBeLessThan(400);
    await until(() => q.numRequeues('x') === 0, 'reset after success');
    // A new failure starts from the base again.
    failUntil = 6;
    q.add('x');
    await until(() => times.length === 7, 'two more attempts', 1000);
    const gap = (times[6] ?? 0) - (times[5] ?? 0);
    expect(gap).toBeGreaterThanOrEqual(19);
    expect(gap).toBeLessThan(79);
    expect(q.numRequeues('x')).toBe(0);
    await q.shutdown();
  });

  it('requeues after requeueAfter and keeps the earliest of two delayed adds', async () => {
    const q = new WorkQueue('t');
    const times: number[] = [];
    const t0 = performance.now();
    q.run(1, async () => {
      times.push(performance.now() - t0);
      return times.length === 1 ? { requeueAfter: 40 } : {};
    });
    q.add('r');
    await until(() => times.length === 2, 'requeue');
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(39);
    q.addAfter('z', 500);
    q.addAfter('z', 20);
    q.addAfter('z', 300);
    await until(() => times.length === 3, 'earliest delayed add', 60);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeLessThan(250);
    await q.shutdown();
  });

  it('shutdown waits for keys being processed and hands out no more', async () => {
    const q = new WorkQueue('t');
    const finished: string[] = [];
    const started: string[] = [];
    q.run(1, async (k) => {
      started.push(k);
      await sleep(50);
      finished.push(k);
    });
    q.add('a');
    q.add('b');
    await until(() => started.length === 1, 'first start');
    await q.shutdown();
    expect(finished).toEqual(['a']);
    expect(started).toEqual(['a']);
    q.add('c');
    expect(q.depth).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('random add/process interleavings: every added key is processed after its last add, never concurrently', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 40 }), async (keys) => {
        const q = new WorkQueue('p');
        const active = new Set<string>();
        let overlap = false;
        const lastAdd = new Map<string, number>();
        const lastStart = new Map<string, number>();
        let clock = 0;
        q.run(3, async (k) => {
          if (active.has(k)) overlap = true;
          active.add(k);
          lastStart.set(k, ++clock);
          await sleep(1);
          active.delete(k);
        });
        for (const k of keys) {
          lastAdd.set(k, ++clock);
          q.add(k);
          if (clock % 3 === 0) await sleep(0);
        }
        await until(() => [...lastAdd].every(([k, t]) => (lastStart.get(k) ?? 0) > t) && active.size === 0, 'all processed');
        await q.shutdown();
        expect(overlap).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});
