// RedisDriver against real redis-server processes: roles from INFO replication, idempotent
// follow/promote, replication of data, unreachable targets.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDriver } from '../../controller/engines/redis/replication.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { EngineFarm, eventually, type Running } from './helpers.js';

const spec: EngineSpec = { type: 'redis', version: '7.0', port: 6379 };

describe('RedisDriver with real redis-server', () => {
  const farm = new EngineFarm();
  const driver = new RedisDriver();
  let a: Running;
  let b: Running;
  let c: Running;
  const clients: Redis[] = [];
  const client = (r: Running): Redis => {
    const cl = new Redis({ host: r.target.host, port: r.target.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    clients.push(cl);
    return cl;
  };

  beforeAll(async () => {
    [a, b, c] = await Promise.all([farm.start('redis', 'r-a'), farm.start('redis', 'r-b'), farm.start('redis', 'r-c')]);
  });
  afterAll(async () => {
    for (const cl of clients) cl.disconnect();
    await driver.close();
    await farm.stopAll();
  });

  it('probes a fresh server as primary with an offset', async () => {
    const p = await driver.probe(a.target, 1_000);
    expect(p).toMatchObject({ reachable: true, role: 'primary' });
    expect(typeof p.offset).toBe('number');
    expect(p.following).toBeUndefined();
  });

  it('follow is idempotent and the replica reports its primary with the link up', async () => {
    expect(await driver.follow(b.target, a.target, spec)).toBe(true);
    expect(await driver.follow(b.target, a.target, spec)).toBe(false);
    expect(await driver.follow(c.target, a.target, spec)).toBe(true);
    for (const r of [b, c]) {
      const p = await eventually('link up', 15_000, async () => {
        const p = await driver.probe(r.target, 1_000);
        return p.following?.linkUp ? p : undefined;
      });
      expect(p.role).toBe('secondary');
      expect(p.following).toEqual({ host: a.target.host, port: a.target.port, linkUp: true });
    }
  });

  it('data written to the primary is read from both replicas, offsets advance', async () => {
    const before = (await driver.probe(a.target, 1_000)).offset ?? 0;
    await client(a).set('k1', 'v1');
    for (const r of [b, c]) {
      const cl = client(r);
      expect(await eventually('replicated key', 10_000, async () => (await cl.get('k1')) ?? undefined)).toBe('v1');
    }
    const after = await driver.probe(a.target, 1_000);
    expect(after.offset ?? 0).toBeGreaterThan(before);
    const replica = await eventually('replica offset caught up', 10_000, async () => {
      const p = await driver.probe(b.target, 1_000);
      return (p.offset ?? -1) >= (after.offset ?? 0) ? p : undefined;
    });
    expect(replica.offset).toBeGreaterThanOrEqual(after.offset ?? 0);
  });

  it('promote is idempotent; the other replica can be moved to the new primary', async () => {
    expect(await driver.promote(a.target, spec)).toBe(false); // already primary
    expect(await driver.promote(b.target, spec)).toBe(true);
    expect(await driver.promote(b.target, spec)).toBe(false);
    expect((await driver.probe(b.target, 1_000)).role).toBe('primary');
    expect(await driver.follow(c.target, b.target, spec)).toBe(true);
    expect(await driver.follow(a.target, b.target, spec)).toBe(true);
    await client(b).set('k2', 'v2');
    const onA = client(a);
    expect(await eventually('key from new primary', 10_000, async () => (await onA.get('k2')) ?? undefined)).toBe('v2');
    expect((await driver.probe(a.target, 1_000)).following?.host).toBe(b.target.host);
  });

  it('an unreachable target is reported, quickly and without throwing', async () => {
    const t0 = performance.now();
    const p = await driver.probe({ podName: 'nobody', host: '127.250.250.250', port: 6379 }, 500);
    expect(p.reachable).toBe(false);
    expect(p.error).toBeTruthy();
    expect(performance.now() - t0).toBeLessThan(2_000);
    await expect(driver.follow({ podName: 'nobody', host: '127.250.250.250', port: 6379 }, a.target, spec)).rejects.toThrow(/cannot be probed/);
  });

  it('a killed server is unreachable, and reachable again after its restart', async () => {
    c.supervisor.signal('SIGKILL');
    await eventually('probe fails', 5_000, async () => ((await driver.probe(c.target, 300)).reachable ? undefined : true));
    const p = await eventually('back after restart', 15_000, async () => {
      const p = await driver.probe(c.target, 300);
      return p.reachable ? p : undefined;
    });
    expect(c.supervisor.restartCount).toBe(1);
    // No persistence configured: it comes back as an empty primary.
    expect(p.role).toBe('primary');
  });
});
