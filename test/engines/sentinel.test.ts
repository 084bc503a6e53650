// Sentinel helpers against real redis-server and redis-sentinel processes: idempotent monitor
// registration, Sentinel's view of the primary, +switch-master delivery, and crossCheck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDriver } from '../../controller/engines/redis/replication.js';
import { crossCheck, ensureMonitor, sentinelPrimary, watchSwitchMaster, type HostPort } from '../../controller/engines/redis/sentinel.js';
import { Redis } from 'ioredis';
import type { EngineSpec } from '../../schemas/types/index.js';
import { EngineFarm, eventually, type Running } from './helpers.js';

const spec: EngineSpec = { type: 'redis', version: '7.0', port: 6379 };
const MASTER = 'shard0';

describe('Redis Sentinel helpers with real sentinels', () => {
  const farm = new EngineFarm();
  const driver = new RedisDriver();
  let servers: Running[] = [];
  let sentinels: Running[] = [];

  beforeAll(async () => {
    servers = await Promise.all(['s-0', 's-1', 's-2'].map((n) => farm.start('redis', n)));
    sentinels = await Promise.all(['sen-0', 'sen-1', 'sen-2'].map((n) => farm.start('sentinel', n)));
    const [p, r1, r2] = servers as [Running, Running, Running];
    await driver.follow(r1.target, p.target, spec);
    await driver.follow(r2.target, p.target, spec);
  });
  afterAll(async () => {
    await driver.close();
    await farm.stopAll();
  });

  it('ensureMonitor registers once, then only changes differing settings', async () => {
    const primary = servers[0]!.target;
    const opts = { downAfterMs: 1_000, failoverTimeoutMs: 10_000, parallelSyncs: 1 };
    for (const s of sentinels) expect(await ensureMonitor(s.target, MASTER, primary, 2, opts)).toBe(true);
    for (const s of sentinels) expect(await ensureMonitor(s.target, MASTER, primary, 2, opts)).toBe(false);
    expect(await ensureMonitor(sentinels[0]!.target, MASTER, primary, 2, { ...opts, downAfterMs: 1_500 })).toBe(true);
    expect(await ensureMonitor(sentinels[0]!.target, MASTER, primary, 2, { ...opts, downAfterMs: 1_500 })).toBe(false);
    // A different address for an already monitored name is ignored: Sentinel owns the primary after failovers.
    expect(await ensureMonitor(sentinels[0]!.target, MASTER, servers[1]!.target, 2, { ...opts, downAfterMs: 1_500 })).toBe(false);
    for (const s of sentinels) {
      expect(await sentinelPrimary(s.target, MASTER)).toEqual({ host: primary.host, port: primary.port });
    }
    expect(await sentinelPrimary(sentinels[0]!.target, 'no-such-shard')).toBeUndefined();
  });

  it('crossCheck agrees with the engines, and flags a second primary', async () => {
    const probes = await Promise.all(servers.map(async (s) => ({ target: s.target, probe: await driver.probe(s.target, 1_000) })));
    const view = await sentinelPrimary(sentinels[0]!.target, MASTER);
    const ok = crossCheck(probes, view);
    expect(ok.issues).toEqual([]);
    expect(ok).toMatchObject({ agree: true, enginePrimaries: ['s-0'], sentinelPod: 's-0' });
    const split = probes.map((p, i) => (i === 2 ? { ...p, probe: { reachable: true, role: 'primary' as const } } : p));
    const bad = crossCheck(split, view);
    expect(bad.agree).toBe(false);
    expect(bad.issues.join('\n')).toMatch(/several engines report primary: s-0, s-2/);
    expect(crossCheck(probes, { host: '127.1.1.1', port: 6379 }).issues.join('\n')).toMatch(/none of the probed pods/);
  });

  it('SENTINEL FAILOVER is delivered through watchSwitchMaster once, and the engines agree afterwards', async () => {
    const events: Array<{ name: string; to: HostPort; at: number }> = [];
    const watch = watchSwitchMaster(
      sentinels.map((s) => s.target),
      (name, to) => events.push({ name, to, at: performance.now() }),
    );
    try {
      // Sentinels need to have discovered the replicas (INFO from the primary) and each other.
      const admin = new Redis({ host: sentinels[0]!.target.host, port: sentinels[0]!.target.port, maxRetriesPerRequest: 1 });
      try {
        await eventually('sentinel knows both replicas and the other sentinels', 30_000, async () => {
          const replicas = (await admin.call('SENTINEL', 'REPLICAS', MASTER)) as unknown[];
          const others = (await admin.call('SENTINEL', 'SENTINELS', MASTER)) as unknown[];
          return replicas.length === 2 && others.length === 2 ? true : undefined;
        });
        await new Promise((r) => setTimeout(r, 300)); // subscriptions established
        const t0 = performance.now();
        await admin.call('SENTINEL', 'FAILOVER', MASTER);
        const ev = await eventually('+switch-master', 20_000, async () => events[0]);
        console.log(`SENTINEL FAILOVER → +switch-master received: ${(ev.at - t0).toFixed(0)} ms`);
        expect(ev.name).toBe(MASTER);
        const newPrimary = servers.find((s) => s.target.host === ev.to.host && s.target.port === ev.to.port);
        expect(newPrimary, `switch to ${ev.to.host}:${ev.to.port}`).toBeDefined();
        expect(newPrimary!.target.podName).not.toBe('s-0');
        expect((await driver.probe(newPrimary!.target, 1_000)).role).toBe('primary');
        // Every sentinel publishes the switch; the watcher reports it once.
        await new Promise((r) => setTimeout(r, 1_000));
        expect(events).toHaveLength(1);
        const agreed = await eventually('old primary reconfigured as replica', 30_000, async () => {
          const probes = await Promise.all(servers.map(async (s) => ({ target: s.target, probe: await driver.probe(s.target, 1_000) })));
          const c = crossCheck(probes, await sentinelPrimary(sentinels[1]!.target, MASTER));
          return c.agree ? c : undefined;
        });
        expect(agreed.sentinelPod).toBe(newPrimary!.target.podName);
      } finally {
        admin.disconnect();
      }
    } finally {
      await watch.close();
    }
  });
});
