import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../controller/runtime/rate-limit.js';

/** A clock the test advances; sleep() moves it forward instead of waiting. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then one request per 1/qps seconds', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3 }, clock.now, clock.sleep);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await bucket.take();
      times.push(clock.now());
    }
    expect(times.slice(0, 3)).toEqual([0, 0, 0]);
    // tokens refill at 10/s: the 4th, 5th and 6th wait 100 ms each
    expect(times.slice(3).map((t) => Math.round(t))).toEqual([100, 200, 300]);
  });

  it('serves concurrent waiters in arrival order and never lets two share a token', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 5, burst: 1 }, clock.now, clock.sleep);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => bucket.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
    expect(Math.round(clock.now())).toBe(600); // 1 at once, then 3 × 200 ms
  });

  it('refills up to burst after a quiet period, not beyond', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 100, burst: 2 }, clock.now, clock.sleep);
    await bucket.take();
    await bucket.take();
    await clock.sleep(10_000); // quiet: would be 1,000 tokens without the cap
    clock.slept.length = 0;
    await bucket.take();
    await bucket.take();
    await bucket.take();
    expect(clock.slept.length).toBe(1); // only the third waited
  });

  it('qps 0 means no limit; burst below 1 is refused', async () => {
    const clock = fakeClock();
    const open = new TokenBucket({ qps: 0, burst: 1 }, clock.now, clock.sleep);
    for (let i = 0; i < 1000; i++) await open.take();
    expect(clock.now()).toBe(0);
    expect(() => new TokenBucket({ qps: 5, burst: 0 })).toThrow(/burst must be at least 1/);
  });
});
