// Sharded Redis behind twemproxy end to end: the compiler's rendered manifests (staging,
// feed-shards: 3 shards of primary + replica, 3 Sentinels, 2 nutcracker proxies; in prod its shards
// are spread over two member clusters, where no member cluster elects their primaries on its own:
// roles-spread.test.ts), the test kubelet running every process, the controller labelling each
// shard. Keys written through the proxy are read back through another proxy and land on all three
// shards.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, pods, rolesSettled, sentinelsReady, serviceAddresses, startEngineEnv, type EngineEnv } from './engines-helpers.js';

const NS = `e2e-shards-${Date.now().toString(36)}`;
const SHARDS = ['feed-shards-shard-0', 'feed-shards-shard-1', 'feed-shards-shard-2'];
const PROXY = 'feed-shards-proxy';
const PROXIES = 2;
const KEYS = 300;
// Ids as applications have them. Sequential names ("feed:0".."feed:299") are a poor sample for
// twemproxy's fnv1a_64 + ketama: they split 90/210/0 over three shards (same with a local nutcracker).
const key = (i: number): string => `feed:${createHash('sha1').update(String(i)).digest('hex').slice(0, 12)}`;

describe('3 Redis shards behind twemproxy end to end', () => {
  let env: EngineEnv;
  const clients: Redis[] = [];
  const redis = (host: string, port = 6379): Redis => {
    // twemproxy speaks RESP2 only and closes the connection on HELLO, INFO (ioredis' ready check) and CLIENT SETINFO.
    const c = new Redis({ host, port, protocol: 2, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableReadyCheck: false, disableClientInfo: true });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  /** What each Sentinel and the replica think, and the Sentinels' logs: for a failover that did not happen. */
  const failoverDiagnostics = async (shard: string, replica: k8s.V1Pod): Promise<string> => {
    const out: string[] = [];
    for (const s of await pods(env.core, NS, 'feed-shards-sentinel')) {
      const c = redis(ipOf(s), 26379);
      const master = await c.call('SENTINEL', 'MASTER', shard).catch((e: unknown) => String(e));
      out.push(`--- ${s.metadata?.name} SENTINEL MASTER ${shard}: ${JSON.stringify(master)}`, env.kubelet.engineLog(s.metadata?.name ?? '', 40));
    }
    const info = await redis(ipOf(replica)).info('replication').catch((e: unknown) => String(e));
    out.push(`--- ${replica.metadata?.name} INFO replication:\n${info}`);
    return out.join('\n');
  };

  beforeAll(async () => {
    env = await startEngineEnv({ namespace: NS, objects: loadRendered('staging/staging-eu/db-feed-staging/feed-shards', 'db-feed-staging', NS) });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await env?.stop();
  });

  it('every shard has one primary and one secondary; the proxies become Ready', async () => {
    const t0 = performance.now();
    for (const s of SHARDS) {
      await allReady(env.core, NS, s, 2, 120_000);
      await rolesSettled(env.core, NS, s, 2, 60_000);
    }
    await allReady(env.core, NS, PROXY, PROXIES, 120_000);
    console.log(`set-up done → 3 shards labelled and ${PROXIES} proxies Ready: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('keys written through one proxy are read back through another and land on all three shards', async () => {
    const proxies = await allReady(env.core, NS, PROXY, PROXIES);
    const viaService = await eventually('proxy Service endpoints', async () => {
      const a = await serviceAddresses(env.kc, NS, PROXY);
      return a.length === PROXIES ? a : undefined;
    });
    expect(viaService).toEqual(proxies.map(ipOf).sort());
    const writer = redis(ipOf(proxies[0]!));
    const reader = redis(ipOf(proxies[1]!));
    await eventually('proxy answers', async () => ((await writer.set('probe', '1')) === 'OK' ? true : undefined), { timeoutMs: 20_000 });
    const t0 = performance.now();
    for (let i = 0; i < KEYS; i++) await writer.set(key(i), `v${i}`);
    const writeMs = performance.now() - t0;
    for (let i = 0; i < KEYS; i++) expect(await reader.get(key(i))).toBe(`v${i}`);
    console.log(`${KEYS} SETs through twemproxy, one at a time: ${writeMs.toFixed(0)} ms (${((KEYS / writeMs) * 1000).toFixed(0)} ops/s)`);
    const perShard: number[] = [];
    for (const s of SHARDS) {
      const { primary, secondaries } = await rolesSettled(env.core, NS, s, 2);
      const keys = (await redis(ipOf(primary)).keys('feed:*')).length;
      perShard.push(keys);
      // The shard's replica holds the same keys.
      const replica = redis(ipOf(secondaries[0]!));
      expect(await eventually(`${s} replica caught up`, async () => ((await replica.keys('feed:*')).length === keys ? keys : undefined), { timeoutMs: 15_000 })).toBe(keys);
    }
    console.log(`keys per shard: ${perShard.join(', ')}`);
    expect(perShard.every((n) => n > 0)).toBe(true);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(KEYS);
  });

  it("after a shard's primary is lost, the proxy serves that shard's keys from the promoted replica", async () => {
    const shard = SHARDS[0]!;
    const { primary: old, secondaries } = await rolesSettled(env.core, NS, shard, 2);
    const promoted = secondaries[0]!;
    const proxies = await allReady(env.core, NS, PROXY, PROXIES);
    // EVERY Sentinel must know the replica and its peers before the loss: whichever is elected
    // leads the failover, and a leader that has not yet read the replica from the primary's INFO
    // (every 10 s) aborts with -failover-abort-no-good-slave and waits 2 × failover-timeout.
    const sentinelIps = (await allReady(env.core, NS, 'feed-shards-sentinel', 3)).map(ipOf);
    await sentinelsReady(sentinelIps, shard, ipOf(old), 1);
    const t0 = performance.now();
    env.kubelet.killProcess(old.metadata?.name ?? '', 'SIGKILL', { holdMs: 60_000 });
    await eventually(`${promoted.metadata?.name} labelled primary`, async () => {
      const p = await env.core.readNamespacedPod({ namespace: NS, name: promoted.metadata?.name ?? '' });
      return p.metadata?.labels?.['dbtopo.dev/role'] === 'primary' ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 }).catch(async (err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${await failoverDiagnostics(shard, promoted)}`);
    });
    const relabelled = performance.now();
    // A fresh connection: twemproxy closes client connections when it restarts on the new address.
    const client = redis(ipOf(proxies[proxies.length - 1]!));
    const onShard = (await redis(ipOf(promoted)).keys('feed:*')).sort();
    expect(onShard.length).toBeGreaterThan(0);
    await eventually('proxy serves the promoted replica', async () => {
      try {
        return (await client.get(onShard[0]!)) !== null ? true : undefined;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const served = performance.now();
    for (const k of onShard) expect(await client.get(k)).not.toBeNull();
    expect(await client.set(onShard[0]!, 'after-failover')).toBe('OK');
    expect(await redis(ipOf(promoted)).get(onShard[0]!)).toBe('after-failover');
    console.log(`shard failover: kill → relabel ${((relabelled - t0) / 1000).toFixed(1)} s, relabel → proxy serving the new primary ${(served - relabelled).toFixed(0)} ms`);
  });
});
