// Redis replication with Sentinel end to end: the compiler's rendered manifests (prod,
// sessions-cache: 1 primary + 2 replicas, 3 Sentinels) on a real control plane, the test kubelet
// running real redis-server / redis-sentinel processes, and the controller labelling roles.
// Kills the primary and measures kill → relabel and +switch-master → relabel.
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchSwitchMaster, type HostPort } from '../../controller/engines/redis/sentinel.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, rolesSettled, sentinelsReady, serviceAddresses, startEngineEnv, type EngineEnv } from './engines-helpers.js';

const NS = `e2e-redis-${Date.now().toString(36)}`;
const SERVER = 'sessions-cache-server';
const SENTINEL = 'sessions-cache-sentinel';
const MASTER = 'sessions-cache';
const PASSWORD = `pw-${process.pid}`;

describe('Redis + Sentinel end to end', () => {
  let env: EngineEnv;
  const clients: Redis[] = [];
  const redis = (host: string, port = 6379, password: string | undefined = PASSWORD): Redis => {
    const c = new Redis({ host, port, ...(password !== undefined ? { password } : {}), maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';

  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-identity/sessions-cache', 'db-identity', NS),
      secrets: { 'sessions-cache-auth': { password: PASSWORD } },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await env?.stop();
  });

  it('all pods become Ready and exactly one server is labelled primary', async () => {
    const t0 = performance.now();
    await allReady(env.core, NS, SERVER, 3);
    await allReady(env.core, NS, SENTINEL, 3);
    const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3);
    console.log(`set-up done → 6 pods Ready and roles labelled: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // The label says what the engine says.
    const info = String(await redis(ipOf(primary)).info('replication'));
    expect(info).toMatch(/role:master/);
    for (const s of secondaries) expect(String(await redis(ipOf(s)).info('replication'))).toMatch(new RegExp(`role:slave[\\s\\S]*master_host:${ipOf(primary).replaceAll('.', '\\.')}`));
  });

  it("the -primary Service's EndpointSlice holds exactly the primary; writes through it reach both replicas", async () => {
    const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3);
    const addrs = await eventually('primary endpoint', async () => {
      const a = await serviceAddresses(env.kc, NS, `${SERVER}-primary`);
      return a.length === 1 && a[0] === ipOf(primary) ? a : undefined;
    });
    expect(addrs).toEqual([ipOf(primary)]);
    const viaService = redis(addrs[0]!);
    expect(await viaService.set('greeting', 'hello')).toBe('OK');
    expect(String(await viaService.info('replication'))).toMatch(/role:master/);
    for (const s of secondaries) {
      const r = redis(ipOf(s));
      expect(await eventually(`replicated to ${s.metadata?.name}`, async () => (await r.get('greeting')) ?? undefined, { timeoutMs: 15_000, intervalMs: 50 })).toBe('hello');
    }
    // A replica refuses writes: the Service must not point at one.
    await expect(redis(ipOf(secondaries[0]!)).set('x', 'y')).rejects.toThrow(/READONLY/);
  });

  it('killing the primary: Sentinel fails over and the labels move (timings printed)', async () => {
    const sentinels = (await allReady(env.core, NS, SENTINEL, 3)).map((p) => ({ podName: p.metadata?.name ?? '', host: ipOf(p), port: 26379, password: undefined }));
    const { primary: old } = await rolesSettled(env.core, NS, SERVER, 3);
    // Every Sentinel must agree on the primary and know both replicas and each other before the kill.
    await sentinelsReady(sentinels.map((s) => s.host), MASTER, ipOf(old), 2);

    // Timestamps: +switch-master as seen by our own subscriber, and the label flip from a pod watch.
    let switchedAt: number | undefined;
    let switchedTo: HostPort | undefined;
    const watch = watchSwitchMaster(sentinels, (_m, to) => {
      switchedAt ??= performance.now();
      switchedTo ??= to;
    });
    // +promoted-slave: Sentinel saw the chosen replica report role master (before +switch-master).
    let promotedAt: number | undefined;
    const promotedSub = redis(sentinels[0]!.host, 26379, undefined);
    promotedSub.on('message', (channel: string) => {
      if (channel === '+promoted-slave') promotedAt ??= performance.now();
    });
    await promotedSub.subscribe('+promoted-slave');
    let relabelledAt: number | undefined;
    let relabelledPod: string | undefined;
    const informer = k8s.makeInformer(env.kc, `/api/v1/namespaces/${NS}/pods`, () => env.core.listNamespacedPod({ namespace: NS }), `${LABELS.instanceSet}=${SERVER}`);
    // Invariant: never two pods labelled primary, at any event we observe.
    let maxPrimaries = 0;
    const onPod = (p: k8s.V1Pod): void => {
      maxPrimaries = Math.max(maxPrimaries, informer.list(NS).filter((x) => x.metadata?.labels?.[LABELS.role] === 'primary').length);
      if (relabelledAt === undefined && p.metadata?.name !== old.metadata?.name && p.metadata?.labels?.[LABELS.role] === 'primary') {
        relabelledAt = performance.now();
        relabelledPod = p.metadata?.name;
      }
    };
    informer.on('update', onPod);
    informer.on('add', onPod);
    await informer.start();
    try {
      await new Promise((r) => setTimeout(r, 500)); // subscriptions established
      const killedAt = performance.now();
      // SIGKILL, and a restart only after 30 s: long enough for Sentinel's down-after (5 s) and the failover.
      env.kubelet.killProcess(old.metadata?.name ?? '', 'SIGKILL', { holdMs: 30_000 });
      await eventually('relabelled', async () => (relabelledAt !== undefined && switchedAt !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
      const killToRelabel = relabelledAt! - killedAt;
      const switchToRelabel = relabelledAt! - switchedAt!;
      console.log(
        `failover: kill → +switch-master ${(switchedAt! - killedAt).toFixed(0)} ms; kill → relabel ${killToRelabel.toFixed(0)} ms; ` +
          `+switch-master → relabel ${switchToRelabel.toFixed(0)} ms (target < 1000 ms)` +
          (promotedAt !== undefined ? `; +promoted-slave → relabel ${(relabelledAt! - promotedAt).toFixed(0)} ms` : ''),
      );
      // The new label is on the pod Sentinel promoted, and the engine agrees.
      const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3, 90_000).catch(async () => {
        // The old primary is down (held): until it returns there are one primary and one secondary.
        const ps = await env.core.listNamespacedPod({ namespace: NS, labelSelector: `${LABELS.instanceSet}=${SERVER}` });
        const prim = ps.items.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary');
        return { primary: prim[0]!, secondaries: ps.items.filter((p) => p.metadata?.labels?.[LABELS.role] === 'secondary') };
      });
      expect(primary.metadata?.name).toBe(relabelledPod);
      expect(ipOf(primary)).toBe(switchedTo?.host);
      expect(String(await redis(ipOf(primary)).info('replication'))).toMatch(/role:master/);
      expect(secondaries.every((s) => s.metadata?.name !== primary.metadata?.name)).toBe(true);
      expect(switchToRelabel).toBeLessThan(1_000);
      const addrs = await eventually('primary endpoint moved', async () => {
        const a = await serviceAddresses(env.kc, NS, `${SERVER}-primary`);
        return a.length === 1 && a[0] === ipOf(primary) ? a : undefined;
      });
      expect(addrs).toEqual([ipOf(primary)]);
      // Data written before the failover survived on the new primary.
      expect(await redis(ipOf(primary)).get('greeting')).toBe('hello');
      // When the old primary comes back it rejoins as a secondary of the new one: exactly one primary label.
      const settled = await rolesSettled(env.core, NS, SERVER, 3, 90_000);
      expect(settled.primary.metadata?.name).toBe(primary.metadata?.name);
      expect(String(await redis(ipOf(old)).info('replication'))).toMatch(/role:slave/);
      expect(maxPrimaries).toBe(1);
    } finally {
      await informer.stop();
      await watch.close();
    }
  });
});
