// The federation manager with the WHOLE example prod feed-shards, from the compiled manifests: every
// object `dbtopo compile` renders for prod-eu-west (control plane member-a) and prod-eu-central
// (member-b) — three spread Redis shards (ordinals 0–1 in prod-eu-west, 2 in prod-eu-central), the
// Sentinels (which monitor no spread shard, DBT5009), the twemproxy proxies of both member clusters
// — and the rendered Federation with its three shards on a federation API server. It shows:
//   - (a) bootstrap of the whole rendering: one primary per shard, exactly one primary label per
//     shard across the member clusters, every member cluster's `-primary` Service of each shard on
//     it, the proxies of both member clusters Ready, and keys written through a proxy of one member
//     cluster read back through a proxy of the other and spread over all three shards;
//   - (d) the manager, as a child process, SIGKILLed 10 times (right after a step, or 1–3 s apart) during a rolling
//     update of all three shards across both member clusters, a client writing to each shard
//     throughout (acknowledged = WAIT for every replica, so one is in the other member cluster):
//     per shard the order rule (secondaries of both member clusters, the hand-over, the old primary
//     last), one primary in the end with every -primary Service on it, never two engines acting as
//     an established primary at once, never two acknowledging writes, no acknowledged write lost.
// Every scenario prints its duration and figures.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { ensureControllerBuilt } from '../e2e/controller-helpers.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingRedisKeys, overlappingPrimaries, startRedisWriter, type Writer } from '../e2e/writers.js';
import { createRenderedFederation, killWatch, managerChildren, nextKillInstant, podsEverywhere, redisEstablishedPrimary, rollingOrderProblem, shardStatus, timedOrder, watchRollout } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const NS = `fed-shards-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const MEMBERS = [WEST, CENTRAL];
const SHARDS = ['feed-shards-shard-0', 'feed-shards-shard-1', 'feed-shards-shard-2'];
const PROXY = 'feed-shards-proxy';
const SENTINEL = 'feed-shards-sentinel';
const rendered = (member: string): k8s.KubernetesObject[] => loadRendered(`prod/${member}/db-feed/feed-shards`, 'db-feed', NS);
/** spec.replicas of one rendered InstanceSet in one member cluster. */
const replicasOf = (member: string, set: string): number =>
  Number((rendered(member).find((o) => o.kind === 'InstanceSet' && o.metadata?.name === set) as { spec?: { replicas?: number } } | undefined)?.spec?.replicas ?? 0);
const key = (i: number): string => `fedkey:${createHash('sha1').update(String(i)).digest('hex').slice(0, 12)}`;

describe('federation manager: the whole prod feed-shards (3 spread shards, Sentinels, proxies) from the compiled manifests', () => {
  let env: FederationEnv;
  let manager: RunningFederationManager | undefined;
  const ips = new Map<string, string>();

  const startManager = async (): Promise<RunningFederationManager> =>
    await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });

  async function refreshIps(set: string): Promise<Array<{ member: string; pod: k8s.V1Pod }>> {
    const out = await podsEverywhere(env, set);
    for (const { pod } of out) if (pod.status?.podIP) ips.set(pod.metadata?.name ?? '', pod.status.podIP);
    return out;
  }

  /** One shard settled: exactly one primary label across the member clusters, on `primary`, every -primary Service on it. */
  async function onePrimaryEverywhere(set: string, primary: string): Promise<void> {
    await eventually(`${set}: exactly one primary label, on ${primary}`, async () => {
      const all = await refreshIps(set);
      const p = all.filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary').map((x) => x.pod.metadata?.name);
      return all.length === 3 && p.length === 1 && p[0] === primary ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    for (const m of MEMBERS) {
      await eventually(`${m} ${set}-primary → ${primary}`, async () => {
        const a = await serviceAddresses(env.member(m).kc, NS, `${set}-primary`);
        return a.length === 1 && a[0] === ips.get(primary) ? true : undefined;
      }, { timeoutMs: 20_000, intervalMs: 250 });
    }
  }

  /** Per shard, the most engines seen at one instant acting as an established primary (master with a connected replica), polled every 200 ms. */
  function watchEngines(): { stop(): Promise<Record<string, number>> } {
    const most: Record<string, number> = Object.fromEntries(SHARDS.map((s) => [s, 0]));
    let on = true;
    let refreshing: Promise<unknown> | undefined;
    const loop = (async () => {
      while (on) {
        refreshing ??= Promise.all(SHARDS.map((s) => refreshIps(s).catch(() => undefined))).finally(() => (refreshing = undefined));
        await Promise.all(
          SHARDS.map(async (s) => {
            const mine = [...ips.entries()].filter(([pod]) => pod.startsWith(`${s}-`)).map(([, ip]) => ip);
            const n = (await Promise.all(mine.map(redisEstablishedPrimary))).reduce((a, b) => a + b, 0);
            most[s] = Math.max(most[s]!, n);
          }),
        );
        await sleep(200);
      }
    })();
    return {
      async stop() {
        on = false;
        await loop;
        await refreshing;
        return most;
      },
    };
  }

  beforeAll(async () => {
    env = await startFederationEnv({
      namespace: NS,
      members: {
        [WEST]: { controlPlane: 'member-a', objects: rendered(WEST) },
        [CENTRAL]: { controlPlane: 'member-b', objects: rendered(CENTRAL) },
      },
      memberIdentity: 'controller',
    });
    await createRenderedFederation(env, 'prod/_federation/db-feed/feed-shards', 'db-feed');
  });

  afterAll(async () => {
    await manager?.stop();
    await env?.federation.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    await env?.stop();
  });

  it('(a) the whole rendering comes up: one primary per shard across the member clusters, -primary Services on it, proxies of both member clusters route to all three shards', async () => {
    const t0 = performance.now();
    for (const s of SHARDS) for (const m of MEMBERS) await allReady(env.member(m).core, NS, s, replicasOf(m, s), 180_000);
    const serversReady = performance.now();
    manager = await startManager();
    for (const s of SHARDS) {
      const st = await eventually(`${s} Healthy`, async () => {
        const x = await shardStatus(env, 'feed-shards', s);
        return x?.state === 'Healthy' ? x : undefined;
      }, { timeoutMs: 90_000, intervalMs: 250 });
      expect(st.primary).toEqual({ memberCluster: WEST, pod: `${s}-0` });
    }
    const healthy = performance.now();
    for (const s of SHARDS) await onePrimaryEverywhere(s, `${s}-0`);
    // The Sentinels run (they monitor no spread shard); the proxies start once every -primary name resolves.
    for (const m of MEMBERS) await allReady(env.member(m).core, NS, SENTINEL, replicasOf(m, SENTINEL), 120_000);
    const proxies: Record<string, string[]> = {};
    for (const m of MEMBERS) proxies[m] = (await allReady(env.member(m).core, NS, PROXY, replicasOf(m, PROXY), 120_000)).map((p) => p.status?.podIP ?? '');
    const proxiesReady = performance.now();
    // twemproxy speaks RESP2 only and closes the connection on HELLO, INFO and CLIENT SETINFO.
    const proxy = (ip: string): Redis => {
      const c = new Redis({ host: ip, port: 6379, protocol: 2, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableReadyCheck: false, disableClientInfo: true });
      c.on('error', () => undefined);
      return c;
    };
    const w = proxy(proxies[CENTRAL]![0]!);
    const r = proxy(proxies[WEST]![0]!);
    try {
      await eventually('the proxy in prod-eu-central answers', async () => ((await w.set('fedkey:probe', '1')) === 'OK' ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
      for (let i = 0; i < 90; i++) await w.set(key(i), `v${i}`);
      for (let i = 0; i < 90; i++) expect(await r.get(key(i))).toBe(`v${i}`);
    } finally {
      w.disconnect();
      r.disconnect();
    }
    const perShard: number[] = [];
    for (const s of SHARDS) {
      const c = new Redis({ host: ips.get(`${s}-0`)!, port: 6379, maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      perShard.push((await c.keys('fedkey:*')).filter((k) => k !== 'fedkey:probe').length);
      c.disconnect();
    }
    process.stderr.write(
      `[federation] whole prod feed-shards (${SHARDS.length} spread shards, ${MEMBERS.map((m) => `${m}: ${SHARDS.reduce((n, s) => n + replicasOf(m, s), 0)} servers, ${replicasOf(m, SENTINEL)} Sentinels, ${replicasOf(m, PROXY)} proxies`).join('; ')}): servers Ready in ${((serversReady - t0) / 1000).toFixed(1)} s, every shard Healthy ${((healthy - serversReady) / 1000).toFixed(1)} s after the manager started, proxies Ready ${((proxiesReady - t0) / 1000).toFixed(1)} s after the start; 90 keys through a proxy in prod-eu-central, read back through prod-eu-west, per shard ${perShard.join('/')}\n`,
    );
    expect(perShard.every((n) => n > 0), `keys per shard ${perShard.join('/')}`).toBe(true);
  });

  it('(d) the manager SIGKILLed 10 times during a rolling update of all three shards across both member clusters: the order kept per shard, one primary each, no acknowledged write lost', async () => {
    const b = performance.now();
    ensureControllerBuilt(); // dist/controller/main.js for the children: a build when the sources are newer
    process.stderr.write(`[federation] manager binary ready in ${((performance.now() - b) / 1000).toFixed(1)} s\n`);
    const t0 = performance.now();
    for (const s of SHARDS) {
      await eventually(`${s} Healthy before the update`, async () => ((await shardStatus(env, 'feed-shards', s))?.state === 'Healthy' ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      await refreshIps(s);
    }
    // A client per shard, behind a -primary Service of one member cluster or the other; acknowledged = WAIT 2 (every replica).
    const writers = new Map<string, Writer>(SHARDS.map((s, i) => [s, startRedisWriter(env.member(MEMBERS[i % 2]!).kc, NS, `${s}-primary`, '', `upd${i}:`, 500, 2)]));
    await eventually('writes acknowledged on every shard', async () => ([...writers.values()].every((w) => w.firstAckAfter(0) !== undefined) ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const watch = watchEngines();
    const rollouts = new Map(await Promise.all(SHARDS.map(async (s) => [s, await watchRollout(env, 'feed-shards', s)] as const)));
    await manager?.stop();
    manager = undefined;
    const children = managerChildren(env, NS);
    children.spawn();
    const started = performance.now();
    // The change Git brings to both member clusters (as Argo CD syncs it): a new pod template of every shard.
    for (const m of MEMBERS) {
      for (const s of SHARDS) {
        await env.member(m).kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
          { group: 'dbtopo.dev', version: 'v1alpha1', namespace: NS, plural: 'instancesets', name: s, body: { spec: { template: { metadata: { annotations: { 'dbtopo.dev/test-rollout': 'kill' } } } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }
    }
    const replacedAll = (): number => [...rollouts.values()].reduce((n, r) => n + r.replaced(), 0);
    let killedBeforeDone = 0;
    const killTimes: number[] = [];
    const killWhy: string[] = [];
    const records = new Map<string, Awaited<ReturnType<(typeof rollouts extends Map<string, infer R> ? R : never)['stop']>>>();
    try {
      const watch = killWatch([...rollouts.values()]);
      for (let i = 0; i < 10; i++) {
        // Right after a step of any shard (a replacement, a record moved) or 1–3 s after the last
        // kill; until one kill fell in a hand-over, and while one is next, at the hand-over; the
        // last kill waits for one if none did (nextKillInstant).
        const why = await nextKillInstant(watch, killWhy.includes('hand-over') ? 'no' : i === 9 ? 'wait' : 'if-next');
        if (replacedAll() < 3 * SHARDS.length) killedBeforeDone++;
        killTimes.push(performance.now());
        killWhy.push(why);
        await children.killAll();
        children.spawn();
      }
      await eventually('every pod of every shard replaced, each shard Healthy', async () => {
        if (replacedAll() < 3 * SHARDS.length) return undefined;
        const st = await Promise.all(SHARDS.map((s) => shardStatus(env, 'feed-shards', s)));
        return st.every((x) => x?.state === 'Healthy') ? true : undefined;
      }, { timeoutMs: 240_000, intervalMs: 500 });
    } catch (err) {
      const said: string[] = [];
      for (const [s, r] of rollouts) said.push(`${s}: ${(await r.stop()).order.join(', ')} (${JSON.stringify((await shardStatus(env, 'feed-shards', s).catch(() => undefined)) ?? {}).slice(0, 600)})`);
      throw new Error(`${String(err)}; ${said.join('; ')}`);
    } finally {
      for (const [s, r] of rollouts) if (!records.has(s)) records.set(s, await r.stop());
      await children.killAll();
    }
    const done = performance.now();
    manager = await startManager();
    const primaries = new Map<string, string>();
    for (const s of SHARDS) {
      const p = (await shardStatus(env, 'feed-shards', s))!.primary!.pod;
      primaries.set(s, p);
      await onePrimaryEverywhere(s, p);
    }
    const reports = new Map(await Promise.all(SHARDS.map(async (s) => [s, await writers.get(s)!.stop()] as const)));
    const most = await watch.stop();
    const lost: number[] = [];
    for (const [i, s] of SHARDS.entries()) lost.push(...(await missingRedisKeys(ips.get(primaries.get(s)!)!, '', `upd${i}:`, reports.get(s)!.acked)));
    const acked = [...reports.values()].reduce((n, r) => n + r.acked.length, 0);
    const gap = Math.max(...[...reports.values()].map((r) => r.longestGapMs));
    process.stderr.write(
      `[federation] manager SIGKILLed 10 times (${killedBeforeDone} before the last pod was replaced; at ${killTimes.map((t, i) => `+${((t - started) / 1000).toFixed(1)}${killWhy[i] === 'step' ? '*' : killWhy[i] === 'hand-over' ? '!' : ''}`).join(', ')} s, * after a step, ! in a hand-over) during a rolling update of ${SHARDS.length} spread shards: every shard updated and Healthy ${((done - started) / 1000).toFixed(1)} s after the change; ${SHARDS.map((s) => `${s}: ${timedOrder(records.get(s)!, started)}`).join('; ')}; longest stretch without an acknowledged write ${(gap / 1000).toFixed(1)} s; ${acked} acknowledged, ${lost.length} lost; scenario ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    for (const s of SHARDS) {
      const r = rollouts.get(s)!;
      expect(rollingOrderProblem(records.get(s)!.order, r.pods, r.oldPrimary), s).toBeUndefined();
      expect(primaries.get(s), s).not.toBe(r.oldPrimary);
      expect(most[s], `${s}: two engines acting as established primaries at once`).toBeLessThanOrEqual(1);
      expect(overlappingPrimaries([reports.get(s)!]), s).toBeUndefined();
    }
    expect(lost, 'acknowledged writes lost').toEqual([]);
    expect(killWhy.filter((w) => w === 'hand-over').length, `kills in a hand-over (${killWhy.join(', ')})`).toBeGreaterThanOrEqual(1);
  });
});
