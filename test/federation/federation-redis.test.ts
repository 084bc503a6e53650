// The federation manager (controller/federation/) on real parts: shard 0 of the example's prod
// feed-shards as the compiler renders it — ordinals 0–1 in prod-eu-west (control plane member-a),
// ordinal 2 in prod-eu-central (member-b), both on one flat pod network, each with its member
// controller — and the rendered Federation object on a federation API server, the manager
// reaching the member clusters through Argo-CD-style cluster Secrets. It shows:
//   - bootstrap: one primary across both member clusters (the lowest global ordinal), the replica
//     in the other member cluster replicating from it, exactly one primary label, and the
//     `-primary` Service of the member cluster without the primary pointing at it;
//   - a partition between the member clusters' pod subnets, healed: the manager (outside both)
//     still reaches the primary, so nothing fails over; no write is acknowledged by every replica
//     while one is cut off, and none acknowledged is lost;
//   - the primary's whole member cluster lost (every engine killed, its API server frozen) with a
//     client writing throughout (acknowledged = WAIT for every replica, so one is in the other
//     member cluster; a client in each member cluster): the manager fails over to the other member
//     cluster, never two engines acting as primary nor two acknowledging writes, and once the lost member cluster is back its old primary is demoted in the engine,
//     one primary serves again and no acknowledged write is lost. The times are printed;
//   - the manager, as a child process, SIGKILLed 10 times at random instants while it fails the
//     shard over again (the primary's engine killed): one primary in the end, never two engines
//     acting as primary nor acknowledging writes, no acknowledged write lost — the decision is recorded before the engines move.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS, type FederationShardStatus } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { ensureControllerBuilt } from '../e2e/controller-helpers.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingRedisKeys, overlappingPrimaries, startRedisWriter } from '../e2e/writers.js';
import { createRenderedFederation, federationStatus, planOrder, podsEverywhere as podsEverywhere_, redisEstablishedPrimary, rolloutInPlanTerms, shardStatus, watchMost } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SET = 'feed-shards-shard-0';
const NS = `fed-redis-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const KINDS = new Set(['InstanceSet', 'ConfigMap', 'Service', 'PodDisruptionBudget', 'Secret']);
const shard0 = (member: string): k8s.KubernetesObject[] =>
  loadRendered(`prod/${member}/db-feed/feed-shards`, 'db-feed', NS).filter((o) => (o.metadata?.name ?? '').startsWith(SET) && KINDS.has(o.kind ?? ''));

describe('federation manager: one primary for a Redis shard spread over two member clusters', () => {
  let env: FederationEnv;
  let manager: RunningFederationManager | undefined;

  const podsEverywhere = () => podsEverywhere_(env, SET);
  const primaries = async (): Promise<string[]> => (await podsEverywhere()).filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary').map((x) => x.pod.metadata?.name ?? '').sort();
  const status0 = async (): Promise<FederationShardStatus | undefined> => await shardStatus(env, 'feed-shards', SET);

  /**
   * Polls every server's engine directly (its pod address is stable for the test kubelet's life)
   * every 200 ms; stop() gives the most engines seen at one instant acting as an established
   * primary (master with a connected replica: one that can acknowledge a WAIT). Labels may lag for
   * a moment on a member cluster whose API server was down; engines may not.
   */
  const ips = new Map<string, string>();
  function watchEngines(): { stop(): Promise<number> } {
    return watchMost(async () => {
      for (const x of await podsEverywhere().catch(() => [])) if (x.pod.status?.podIP) ips.set(x.pod.metadata?.name ?? '', x.pod.status.podIP);
      return (await Promise.all([...ips.values()].map(redisEstablishedPrimary))).reduce<number>((a, b) => a + b, 0);
    });
  }

  const startManager = async (): Promise<RunningFederationManager> =>
    await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });

  beforeAll(async () => {
    env = await startFederationEnv({
      namespace: NS,
      members: {
        [WEST]: { controlPlane: 'member-a', objects: shard0(WEST) },
        [CENTRAL]: { controlPlane: 'member-b', objects: shard0(CENTRAL) },
      },
      memberIdentity: 'controller',
    });
    await createRenderedFederation(env, 'prod/_federation/db-feed/feed-shards', 'db-feed', (shard) => shard === SET);
    await allReady(env.member(WEST).core, NS, SET, 2);
    await allReady(env.member(CENTRAL).core, NS, SET, 1);
  });

  afterAll(async () => {
    await manager?.stop();
    await env?.federation.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    await env?.stop();
  });

  it('bootstraps one primary across the member clusters; the other member cluster replicates from it and its -primary Service points at it', async () => {
    const t0 = performance.now();
    manager = await startManager();
    const status = await eventually('the Federation Healthy with a primary', async () => {
      const s = (await status0());
      return s?.state === 'Healthy' ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    expect(status.primary).toEqual({ memberCluster: WEST, pod: `${SET}-0` });
    await eventually('one primary label across both member clusters', async () => {
      const all = await podsEverywhere();
      const roles = Object.fromEntries(all.map((x) => [x.pod.metadata?.name, x.pod.metadata?.labels?.[LABELS.role]]));
      return roles[`${SET}-0`] === 'primary' && roles[`${SET}-1`] === 'secondary' && roles[`${SET}-2`] === 'secondary' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const primaryIp = (await podsEverywhere()).find((x) => x.pod.metadata?.name === `${SET}-0`)?.pod.status?.podIP ?? '';
    // The member cluster without the primary reaches it through its own -primary Service.
    await eventually('prod-eu-central -primary → the primary in prod-eu-west', async () => {
      const a = await serviceAddresses(env.member(CENTRAL).kc, NS, `${SET}-primary`);
      return a.length === 1 && a[0] === primaryIp ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    const central = await env.member(CENTRAL).kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: NS, plural: 'instancesets', name: SET }) as { status?: { federation?: unknown; conditions?: Array<{ type: string; reason: string }> } };
    expect(central.status?.federation).toMatchObject({ primary: { memberCluster: WEST, pod: `${SET}-0` }, state: 'Healthy' });
    process.stderr.write(`[federation] bootstrap: one healthy primary across 2 member clusters in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  it('a partition between the member clusters\' pod subnets, healed later: the cut-off side acknowledges no write that is later lost; one primary throughout', async () => {
    expect(await primaries()).toEqual([`${SET}-0`]);
    const writer = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'part:', 500, 2);
    await eventually('writes acknowledged', async () => (writer.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const watch = watchEngines();
    const cut = performance.now();
    env.partition(WEST, CENTRAL);
    let healed = Infinity;
    try {
      // The manager still reaches every engine (it runs outside both member clusters): the primary
      // answers, so nothing fails over; the replica in prod-eu-central cannot replicate, so no write
      // is acknowledged by every replica, and the state says which replica is cut off.
      const seen = await eventually('the Federation sees the cut-off replica', async () => {
        const s = (await status0());
        return s?.state === 'Degraded' && s.primary?.pod === `${SET}-0` ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      expect(seen.message).toMatch(new RegExp(`has not heard from ${SET}-2`));
      // The primary, cut off with its local replica only, stops taking writes once the remote
      // replica has been silent for min-replicas-max-lag (10 s): the manager set
      // min-replicas-to-write to one more than its connected local replicas.
      const ip0 = (await podsEverywhere()).find((x) => x.pod.metadata?.name === `${SET}-0`)?.pod.status?.podIP ?? '';
      const refused = await eventually('the cut-off primary refuses writes', async () => {
        const c = new Redis({ host: ip0, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, commandTimeout: 1_000, retryStrategy: () => null });
        c.on('error', () => undefined);
        try {
          await c.connect();
          return await c.set('part:probe', '1').then(() => undefined, (err: unknown) => (/NOREPLICAS/.test(String(err)) ? performance.now() : undefined));
        } finally {
          c.disconnect();
        }
      }, { timeoutMs: 25_000, intervalMs: 500 });
      process.stderr.write(`[federation] partition: the primary cut off with its local replica refuses writes ${((refused - cut) / 1000).toFixed(1)} s after the cut\n`);
    } finally {
      env.heal();
      healed = performance.now();
    }
    const ackedDuring = writer.firstAckAfter(cut + 1_500);
    await eventually('Healthy again', async () => {
      const s = (await status0());
      return s?.state === 'Healthy' && s.primary?.pod === `${SET}-0` ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const servedAt = await eventually('writes acknowledged again', async () => writer.firstAckAfter(healed), { timeoutMs: 60_000, intervalMs: 200 });
    const report = await writer.stop();
    const most = await watch.stop();
    process.stderr.write(`[federation] pod-subnet partition for ${((healed - cut) / 1000).toFixed(1)} s: no failover; acknowledged writes again ${((servedAt - healed) / 1000).toFixed(1)} s after the heal; ${report.acked.length} acknowledged, ${report.failures} refused or failed\n`);
    expect(ackedDuring === undefined || ackedDuring > healed, 'a write acknowledged by every replica while one was cut off').toBe(true);
    expect(most, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
    expect(await primaries()).toEqual([`${SET}-0`]);
    const ip = (await podsEverywhere()).find((x) => x.pod.metadata?.name === `${SET}-0`)?.pod.status?.podIP ?? '';
    expect(await missingRedisKeys(ip, '', 'part:', report.acked), 'acknowledged writes lost').toEqual([]);
  });

  it('the primary member cluster lost, then back: failover to the other member cluster, never two primaries, no acknowledged write lost', async () => {
    expect(await primaries()).toEqual([`${SET}-0`]);
    // A client in prod-eu-central, behind its -primary Service; acknowledged = every replica has it.
    const writer = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'fed:', 500, 2);
    // And one in prod-eu-west, behind that member cluster's -primary Service.
    const writerW = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'fedw:', 500, 2);
    await eventually('writes acknowledged', async () => (writer.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    await sleep(1_000);
    const watch = watchEngines();

    const lost = performance.now();
    const killed = env.killEngines(WEST);
    expect(killed.length).toBe(2);
    env.stopApiServer(WEST);
    const failedOver = await eventually('the Federation records the primary in prod-eu-central', async () => {
      const s = (await status0());
      return s?.primary?.pod === `${SET}-2` ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    expect(failedOver.primary).toEqual({ memberCluster: CENTRAL, pod: `${SET}-2` });
    await eventually(`${SET}-2 labelled primary`, async () => ((await primaries()).includes(`${SET}-2`) ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const decided = performance.now();
    process.stderr.write(`[federation] member cluster lost: the primary moved to the other member cluster after ${((decided - lost) / 1000).toFixed(1)} s\n`);

    // Back: the lost member cluster's API server and engines return; its old primary is demoted.
    const back = performance.now();
    await env.resumeApiServer(WEST);
    env.releaseEngines(WEST);
    await eventually('one primary, every server replicating from it', async () => {
      const s = (await status0());
      return s?.state === 'Healthy' && s.primary?.pod === `${SET}-2` ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    await eventually('exactly one primary label across both member clusters', async () => {
      const all = await podsEverywhere();
      const roles = all.map((x) => `${x.pod.metadata?.name}=${x.pod.metadata?.labels?.[LABELS.role] ?? ''}`).sort();
      return all.length === 3 && roles.join(',') === [`${SET}-0=secondary`, `${SET}-1=secondary`, `${SET}-2=primary`].join(',') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const newIp = (await podsEverywhere()).find((x) => x.pod.metadata?.name === `${SET}-2`)?.pod.status?.podIP ?? '';
    for (const m of [WEST, CENTRAL]) {
      await eventually(`${m} -primary → ${SET}-2`, async () => {
        const a = await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`);
        return a.length === 1 && a[0] === newIp ? true : undefined;
      }, { timeoutMs: 20_000, intervalMs: 250 });
    }
    const servedAt = await eventually('writes acknowledged again', async () => writer.firstAckAfter(back), { timeoutMs: 60_000, intervalMs: 200 });
    const report = await writer.stop();
    const reportW = await writerW.stop();
    const most = await watch.stop();
    process.stderr.write(
      `[federation] member cluster back: one healthy primary serving acknowledged writes ${((servedAt - back) / 1000).toFixed(1)} s after its return (${((servedAt - lost) / 1000).toFixed(1)} s after the loss); ${report.acked.length} writes acknowledged, ${report.failures} refused or failed\n`,
    );
    expect(most, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
    expect(report.acked.length).toBeGreaterThan(0);
    expect(await missingRedisKeys(newIp, '', 'fed:', report.acked), 'acknowledged writes lost').toEqual([]);
    expect(await missingRedisKeys(newIp, '', 'fedw:', reportW.acked), 'acknowledged writes lost').toEqual([]);
    expect(overlappingPrimaries([report, reportW])).toBeUndefined();
  });
  it('the manager SIGKILLed 10 times while it fails over: one primary in the end, never two, no acknowledged write lost', async () => {
    ensureControllerBuilt();
    await manager?.stop();
    manager = undefined;
    const main = path.join(repoRoot, 'dist/controller/main.js');
    const children = new Set<ChildProcess>();
    const spawnManager = (): ChildProcess => {
      const c = spawn(process.execPath, [main, '--mode', 'federation', '--kubeconfig', env.federation.kubeconfigPath, '--cluster-secrets-namespace', FEDERATION_NAMESPACE, '--namespace', NS, '--federation-period-ms', '500', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
      children.add(c);
      c.on('exit', () => children.delete(c));
      return c;
    };
    const killAll = async (): Promise<void> => {
      for (const c of [...children]) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await Promise.race([gone, sleep(5_000)]);
      }
    };
    try {
      const before = (await status0())?.primary;
      expect(before?.memberCluster).toBe(CENTRAL);
      const writer = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'kill:', 500, 2);
      const writerC = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'killc:', 500, 2);
      await eventually('writes acknowledged', async () => (writer.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
      const watch = watchEngines();
      spawnManager();
      const lost = performance.now();
      expect(env.killEngines(CENTRAL).length).toBe(1);
      // Ten SIGKILLs at random instants 0.3–2.5 s apart, each followed by a fresh start.
      for (let i = 0; i < 10; i++) {
        await sleep(300 + Math.floor(Math.random() * 2_200));
        await killAll();
        spawnManager();
      }
      const moved = await eventually('the primary recorded in prod-eu-west', async () => {
        const s = (await status0());
        return s?.primary?.memberCluster === WEST ? s.primary : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      const decided = performance.now();
      env.releaseEngines(CENTRAL);
      await eventually('one primary, every server replicating from it', async () => {
        const s = (await status0());
        return s?.state === 'Healthy' && s.primary?.pod === moved.pod ? true : undefined;
      }, { timeoutMs: 90_000, intervalMs: 250 });
      await eventually('exactly one primary label across both member clusters', async () => {
        const all = await podsEverywhere();
        const p = all.filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary').map((x) => x.pod.metadata?.name);
        return all.length === 3 && p.length === 1 && p[0] === moved.pod ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      const servedAt = await eventually('writes acknowledged again', async () => writer.firstAckAfter(decided), { timeoutMs: 60_000, intervalMs: 200 });
      const report = await writer.stop();
      const reportC = await writerC.stop();
      const most = await watch.stop();
      const ip = (await podsEverywhere()).find((x) => x.pod.metadata?.name === moved.pod)?.pod.status?.podIP ?? '';
      process.stderr.write(`[federation] manager SIGKILLed 10 times during a failover: primary ${moved.pod} recorded ${((decided - lost) / 1000).toFixed(1)} s after the loss; acknowledged writes again after ${((servedAt - lost) / 1000).toFixed(1)} s; ${report.acked.length} acknowledged\n`);
      expect(most, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
      expect(await missingRedisKeys(ip, '', 'kill:', report.acked), 'acknowledged writes lost').toEqual([]);
      expect(await missingRedisKeys(ip, '', 'killc:', reportC.acked), 'acknowledged writes lost').toEqual([]);
      expect(overlappingPrimaries([report, reportC])).toBeUndefined();
    } finally {
      await killAll();
    }
  });
  it('a rolling update across member clusters: the pod replacements and the switchover, across member clusters, in the order of the plan\'s DAG', async () => {
    manager ??= await startManager();
    // The change, as Git brings it to both member clusters' server sets: a new pod template.
    const ANNOTATION = 'dbtopo.dev/test-rollout';
    const withTemplateChange = (o: k8s.KubernetesObject): k8s.KubernetesObject => {
      if (o.kind !== 'InstanceSet' || o.metadata?.name !== SET) return o;
      const c = structuredClone(o) as k8s.KubernetesObject & { spec: { template: { metadata?: { annotations?: Record<string, string> } } } };
      c.spec.template.metadata = { ...c.spec.template.metadata, annotations: { ...c.spec.template.metadata?.annotations, [ANNOTATION]: '1' } };
      return c;
    };
    const fed = loadRendered('prod/_federation/db-feed/feed-shards', 'db-feed', NS).find((o) => o.kind === 'Federation')!;
    const planned = planOrder('feed-shards', new Map([WEST, CENTRAL].map((m) => [m, shard0(m)])), fed, withTemplateChange);
    expect(planned).toEqual(['update-secondaries@prod-eu-west', 'update-secondaries@prod-eu-central', 'switchover@_federation', 'update-primary@_federation']);
    const before = await eventually('Healthy before the update', async () => {
      const x = (await status0());
      return x?.state === 'Healthy' && x.primary !== undefined ? x : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const oldPrimary = before.primary!.pod;
    const uids = new Map((await podsEverywhere()).map((x) => [x.pod.metadata?.name ?? '', x.pod.metadata?.uid ?? '']));
    expect(uids.size).toBe(3);
    const writerW = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'roll:', 500, 2);
    const writerC = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'rollc:', 500, 2);
    await eventually('writes acknowledged', async () => (writerW.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const watch = watchEngines();
    // Every pod replacement (its uid changed or it is gone) and every change of the recorded primary, in order.
    const events: Array<{ t: number; what: string }> = [];
    const memberOf = new Map((await podsEverywhere()).map((x) => [x.pod.metadata?.name ?? '', x.member]));
    const replaced = new Set<string>();
    const steps = new Set<string>();
    let primaryNow = oldPrimary;
    let on = true;
    const recorder = (async () => {
      while (on) {
        for (const x of await podsEverywhere().catch(() => [])) {
          const name = x.pod.metadata?.name ?? '';
          if (!replaced.has(name) && x.pod.metadata?.uid !== uids.get(name)) {
            replaced.add(name);
            events.push({ t: performance.now(), what: `replace ${name}` });
          }
        }
        const fs = await federationStatus(env, 'feed-shards').catch(() => undefined);
        for (const st of fs?.steps ?? []) steps.add(`${st.id} ${st.state}`);
        const p = fs?.shards?.find((y) => y.name === SET)?.primary?.pod;
        if (p !== undefined && p !== primaryNow) {
          events.push({ t: performance.now(), what: `switchover ${primaryNow} -> ${p}` });
          primaryNow = p;
        }
        await sleep(150);
      }
    })();
    const t0 = performance.now();
    // The change Git brings to both member clusters (as Argo CD syncs it), the same as planned above.
    for (const m of [WEST, CENTRAL]) {
      await env.member(m).kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
        { group: 'dbtopo.dev', version: 'v1alpha1', namespace: NS, plural: 'instancesets', name: SET, body: { spec: { template: { metadata: { annotations: { [ANNOTATION]: '1' } } } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
    try {
      await eventually('every pod replaced, one primary, Healthy', async () => {
        const x = (await status0());
        return replaced.size === 3 && x?.state === 'Healthy' ? true : undefined;
      }, { timeoutMs: 240_000, intervalMs: 500 });
    } catch (err) {
      const st = await federationStatus(env, 'feed-shards').catch(() => undefined);
      throw new Error(`${String(err)}; events: ${events.map((e) => e.what).join(', ')}; Federation: ${JSON.stringify(st?.shards?.[0] ?? {}).slice(0, 1500)}`);
    } finally {
      on = false;
      await recorder;
    }
    const reportW = await writerW.stop();
    const reportC = await writerC.stop();
    const most = await watch.stop();
    const order = events.map((e) => e.what);
    process.stderr.write(`[federation] rolling update across member clusters in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${order.join(' → ')}; ${reportW.acked.length + reportC.acked.length} writes acknowledged\n`);
    // The recorded order, step by step (consecutive events of one step collapsed), is the plan's
    // DAG — less a member cluster's update-secondaries when it held no secondary at the time
    // (the primary alone there): nothing to replace, nothing to record.
    const { recorded, expected } = rolloutInPlanTerms(order, memberOf, oldPrimary, planned);
    const secondariesIn = new Set([...memberOf].filter(([p]) => p !== oldPrimary).map(([, m]) => m));
    expect(recorded, order.join(', ')).toEqual(expected);
    expect(order.filter((w) => w.startsWith('switchover')), order.join(', ')).toHaveLength(1);
    // status.steps showed the plan's steps while they ran: the canary's secondaries running while
    // the other member cluster's waited (held), and every step Done at the end.
    expect([...steps], [...steps].join(', ')).toEqual(expect.arrayContaining(expected.map((s) => `${s} Running`)));
    if (secondariesIn.has(CENTRAL) && secondariesIn.has(WEST)) expect([...steps]).toContain(`update-secondaries@${CENTRAL} Waiting`);
    const final = await eventually('status.steps all Done', async () => {
      const st = await federationStatus(env, 'feed-shards');
      return st?.steps !== undefined && st.steps.every((x) => x.state === 'Done') ? st.steps : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    expect(final.map((x) => x.id)).toEqual(planned);
    expect(most, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
    expect(overlappingPrimaries([reportW, reportC])).toBeUndefined();
    const ip = (await podsEverywhere()).find((x) => x.pod.metadata?.name === primaryNow)?.pod.status?.podIP ?? '';
    expect(await missingRedisKeys(ip, '', 'roll:', reportW.acked), 'acknowledged writes lost').toEqual([]);
    expect(await missingRedisKeys(ip, '', 'rollc:', reportC.acked), 'acknowledged writes lost').toEqual([]);
  });
});
