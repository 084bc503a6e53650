// Planned Redis switchovers on real redis-server / redis-sentinel processes, with a writer
// running throughout: no acknowledged (WAIT 1) write is lost and the write outage is printed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisPool } from '../../controller/engines/redis/client.js';
import { probeRedis } from '../../controller/engines/redis/probe.js';
import { sentinelPrimary } from '../../controller/engines/redis/sentinel.js';
import { switchoverRedis } from '../../controller/engines/redis/switchover.js';
import type { EngineTarget } from '../../controller/engines/types.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { startRedis, startSentinel, stopAll, waitFor, sleep, type EngineProc } from './support/procs.js';
import { RedisWriter, type WriterReport } from './support/writers.js';

const spec: EngineSpec = { type: 'redis', version: '7.0', port: 6379 };
const MASTER = 'shard0';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-redis-switchover-'));
const pool = new RedisPool();
const procs: EngineProc[] = [];

const target = (p: EngineProc): EngineTarget => ({ podName: p.name, host: p.host, port: p.port });

async function replicaSet(prefix: string): Promise<EngineTarget[]> {
  const primary = await startRedis(root, `${prefix}-0`);
  const replicas = await Promise.all([1, 2].map((i) => startRedis(root, `${prefix}-${i}`, ['--replicaof', primary.host, '6379'])));
  procs.push(primary, ...replicas);
  const all = [primary, ...replicas].map(target);
  await waitFor('replicas linked', async () => {
    const ps = await Promise.all(all.slice(1).map((t) => probeRedis(pool, t, 1_000)));
    return ps.every((p) => p.following?.linkUp);
  });
  return all;
}

/** The pod every engine agrees is primary (one primary, every other one following it). */
async function agreedPrimary(all: EngineTarget[]): Promise<EngineTarget | undefined> {
  const ps = await Promise.all(all.map(async (t) => ({ t, p: await probeRedis(pool, t, 1_000) })));
  const primaries = ps.filter((x) => x.p.role === 'primary');
  if (primaries.length !== 1) return undefined;
  const pt = primaries[0]!.t;
  const followersOk = ps.filter((x) => x.t !== pt).every((x) => x.p.following?.host === pt.host && x.p.following.port === pt.port);
  return followersOk ? pt : undefined;
}

async function missingAcked(primary: EngineTarget, report: WriterReport): Promise<number[]> {
  const c = new Redis({ host: primary.host, port: primary.port, lazyConnect: true });
  await c.connect();
  try {
    const missing: number[] = [];
    for (let i = 0; i < report.acknowledged.length; i += 500) {
      const ids = report.acknowledged.slice(i, i + 500);
      const vals = await c.mget(...ids.map((id) => `k:${id}`));
      vals.forEach((v, j) => {
        if (v !== String(ids[j])) missing.push(ids[j]!);
      });
    }
    return missing;
  } finally {
    c.disconnect();
  }
}

function print(scenario: string, r: WriterReport, extra: string): void {
  console.log(`[redis-switchover] ${scenario}: ${extra}; writes attempted ${r.attempted}, acknowledged ${r.acknowledged.length}, failed ${r.errors}, longest write outage ${r.longestOutageMs} ms, longest gap between acknowledged writes ${r.longestGapMs} ms`);
}

afterAll(async () => {
  await pool.close();
  await stopAll(procs);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('Redis switchover without Sentinel', () => {
  let all: EngineTarget[] = [];
  beforeAll(async () => {
    all = await replicaSet('plain');
  });

  it('moves the primary to the named replica under write load; no acknowledged write is lost', async () => {
    let current: EngineTarget | undefined = all[0];
    const writer = new RedisWriter(async () => current);
    writer.start();
    await sleep(300);
    const [p, r1, r2] = all as [EngineTarget, EngineTarget, EngineTarget];
    const res = await switchoverRedis({ primary: p, replicas: [r1, r2], candidate: r2.podName, spec, timeoutMs: 10_000 });
    current = r2; // what the role label / Service would now point at
    await sleep(300);
    const report = await writer.stop();
    expect(res.to).toBe(r2.podName);
    expect(await agreedPrimary(all)).toEqual(r2);
    expect(report.acknowledged.length).toBeGreaterThan(20);
    expect(await missingAcked(r2, report)).toEqual([]);
    print('named candidate', report, `writes paused ${res.pausedMs} ms, switchover took ${res.totalMs} ms`);
    // The write outage is bounded by the pause plus the writer's retry.
    expect(report.longestOutageMs).toBeLessThan(res.totalMs + 1_000);
  });

  it('picks the most advanced replica when none is named, and refuses a bad candidate', async () => {
    const primary = (await agreedPrimary(all))!;
    const replicas = all.filter((t) => t !== primary);
    await expect(switchoverRedis({ primary, replicas, candidate: 'nope-9', spec })).rejects.toThrow(/not a replica of/);
    await expect(switchoverRedis({ primary: replicas[0]!, replicas: [primary], spec })).rejects.toThrow(/not a primary/);
    const res = await switchoverRedis({ primary, replicas, spec });
    expect(replicas.map((r) => r.podName)).toContain(res.to);
    expect((await agreedPrimary(all))?.podName).toBe(res.to);
  });
});

describe('Redis switchover with Sentinel', () => {
  let all: EngineTarget[] = [];
  let sentinels: EngineTarget[] = [];
  beforeAll(async () => {
    all = await replicaSet('sen');
    const s = await Promise.all([0, 1, 2].map((i) => startSentinel(root, `sen-sentinel-${i}`, MASTER, all[0]!, 2)));
    procs.push(...s);
    sentinels = s.map(target);
    // Every sentinel: a leader that has not read the replicas yet aborts a failover (NOGOODSLAVE).
    await waitFor('sentinels to discover both replicas', async () => {
      const cs = await Promise.all(sentinels.map((t) => pool.call(t, 1_000, 'SENTINEL', 'REPLICAS', MASTER)));
      return cs.every((c) => Array.isArray(c) && c.length === 2);
    }, { timeoutMs: 30_000, intervalMs: 200 });
  });

  const viaSentinel = async (): Promise<EngineTarget | undefined> => {
    for (const s of sentinels) {
      const hp = await sentinelPrimary(s, MASTER, 500).catch(() => undefined);
      if (hp) return all.find((t) => t.host === hp.host && t.port === hp.port);
    }
    return undefined;
  };

  it('switches to the named replica through SENTINEL FAILOVER; sentinels and engines agree; no acknowledged write lost', async () => {
    const writer = new RedisWriter(viaSentinel);
    writer.start();
    await sleep(300);
    const [p, r1, r2] = all as [EngineTarget, EngineTarget, EngineTarget];
    const res = await switchoverRedis({ primary: p, replicas: [r1, r2], candidate: r1.podName, spec, timeoutMs: 30_000, sentinel: { sentinels, masterName: MASTER } });
    await sleep(300);
    const report = await writer.stop();
    expect(res.to).toBe(r1.podName);
    expect(await agreedPrimary(all)).toEqual(r1);
    for (const s of sentinels) expect(await sentinelPrimary(s, MASTER)).toEqual({ host: r1.host, port: r1.port });
    expect(await missingAcked(r1, report)).toEqual([]);
    print('sentinel, named candidate', report, `writes paused ${res.pausedMs} ms, switchover took ${res.totalMs} ms (includes waiting for Sentinel to read replica-priority)`);
    // replica-priority was restored on the replicas that were excluded.
    const prio = await pool.call(r2, 1_000, 'CONFIG', 'GET', 'replica-priority');
    expect(prio).toEqual(['replica-priority', '100']);
  });

  it('switches to whichever replica Sentinel picks when none is named', async () => {
    const writer = new RedisWriter(viaSentinel);
    writer.start();
    await sleep(200);
    const primary = (await agreedPrimary(all))!;
    const replicas = all.filter((t) => t !== primary);
    const res = await switchoverRedis({ primary, replicas, spec, timeoutMs: 30_000, sentinel: { sentinels, masterName: MASTER } });
    await sleep(300);
    const report = await writer.stop();
    const now = await agreedPrimary(all);
    expect(now?.podName).toBe(res.to);
    expect(res.to).not.toBe(primary.podName);
    expect(await missingAcked(now!, report)).toEqual([]);
    print('sentinel, any candidate', report, `writes paused ${res.pausedMs} ms, switchover took ${res.totalMs} ms`);
  });

  it('names the synced replica itself when another one is reachable but not in sync (Sentinel would judge it by stale INFO)', async () => {
    const primary = (await agreedPrimary(all))!;
    const [synced, lagging] = all.filter((t) => t !== primary) as [EngineTarget, EngineTarget];
    // The lagging replica keeps following the primary but cannot authenticate: its link stays down,
    // while the Sentinels still hold its last good INFO (refreshed every 10 s) — like a recreated
    // pod on the old pod's address that is still syncing.
    await pool.call(lagging, 1_000, 'CONFIG', 'SET', 'masterauth', 'wrong-on-purpose');
    await pool.call(lagging, 1_000, 'CLIENT', 'KILL', 'TYPE', 'master');
    await waitFor('lagging replica link down', async () => (await probeRedis(pool, lagging, 1_000)).following?.linkUp === false);
    try {
      const res = await switchoverRedis({ primary, replicas: [synced, lagging], spec, timeoutMs: 30_000, sentinel: { sentinels, masterName: MASTER } });
      expect(res.to).toBe(synced.podName);
      expect(res.steps.join('; ')).toContain(`${lagging.podName} not in sync`);
      // The other sentinels learn the switch from the leader's hello messages (every 2 s).
      await waitFor('every sentinel names the synced replica', async () => {
        const views = await Promise.all(sentinels.map((s) => sentinelPrimary(s, MASTER, 500).catch(() => undefined)));
        return views.every((v) => v?.host === synced.host && v.port === synced.port);
      }, { timeoutMs: 10_000, intervalMs: 200 });
      expect(await pool.call(lagging, 1_000, 'CONFIG', 'GET', 'replica-priority')).toEqual(['replica-priority', '100']);
      console.log(`[redis-switchover] sentinel, one replica out of sync: named ${res.to}, switchover took ${res.totalMs} ms, writes paused ${res.pausedMs} ms`);
    } finally {
      await pool.call(lagging, 1_000, 'CONFIG', 'SET', 'masterauth', '');
    }
    await waitFor('every engine follows the new primary', async () => (await agreedPrimary(all))?.podName === synced.podName, { timeoutMs: 30_000, intervalMs: 200 });
  });
});

describe('Redis primary killed (kill -9) under Sentinel', () => {
  it('Sentinel fails over; the writer is back on the new primary; no acknowledged write is lost', async () => {
    const all = await replicaSet('kill');
    const s = await Promise.all([0, 1, 2].map((i) => startSentinel(root, `kill-sentinel-${i}`, MASTER, all[0]!, 2)));
    procs.push(...s);
    const sentinels = s.map(target);
    await waitFor('sentinels to discover both replicas and each other', async () => {
      const r = await pool.call(sentinels[0]!, 1_000, 'SENTINEL', 'REPLICAS', MASTER);
      const o = await pool.call(sentinels[0]!, 1_000, 'SENTINEL', 'SENTINELS', MASTER);
      return Array.isArray(r) && r.length === 2 && Array.isArray(o) && o.length === 2;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const viaSentinel = async (): Promise<EngineTarget | undefined> => {
      for (const x of sentinels) {
        const hp = await sentinelPrimary(x, MASTER, 500).catch(() => undefined);
        if (hp) return all.find((t) => t.host === hp.host && t.port === hp.port);
      }
      return undefined;
    };
    const writer = new RedisWriter(viaSentinel);
    writer.start();
    await sleep(500);
    const victim = procs.find((p) => p.name === all[0]!.podName)!;
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const next = await waitFor('Sentinel to promote a replica', async () => {
      const t = await viaSentinel();
      return t && t.podName !== victim.name && (await probeRedis(pool, t, 500)).role === 'primary' ? t : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    const promotedMs = Date.now() - killedAt;
    await sleep(1_000);
    const report = await writer.stop();
    expect(await missingAcked(next, report)).toEqual([]);
    print('kill -9 under Sentinel (down-after 1000 ms)', report, `new primary ${next.podName} serving ${promotedMs} ms after the kill`);
  });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const p of procs) {
      const log = path.join(p.dir, 'redis.log');
      if (fs.existsSync(log)) console.log(`--- ${p.name}\n${fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
    }
  }
});
