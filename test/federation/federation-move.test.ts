// An ordinal moved from one member cluster to another (issue 10), on real parts: shard 0 of the
// example's prod feed-shards as rendered — ordinals 0–1 in prod-eu-west (member-a), 2 in
// prod-eu-central (member-b) — with the federation manager, a client writing in each member
// cluster throughout (acknowledged = WAIT for 2 replicas, so one is in the other member cluster).
// Ordinal 0, the PRIMARY, moves from prod-eu-west to prod-eu-central, and the change reaches the
// old home FIRST (Argo CD syncing prod-eu-west before prod-eu-central), then the Federation, then
// the new home:
//   - prod-eu-west keeps its pod 0 (Held condition) though its spec no longer has it, while the
//     Federation is stale and while the new pod does not exist yet: writes go on;
//   - once prod-eu-central's new pod 0 (same name) is synced the manager hands the primary over to
//     it (a switchover, the record written first), then releases the old pod, which prod-eu-west
//     removes;
//   - never two engines acting as an established primary (polled every 200 ms), never two servers
//     acknowledging writes at once, no acknowledged write lost; at the end one primary label
//     across the member clusters and both `-primary` Services pointing at it. The times printed.
// Then ordinal 2, a secondary, moves back the other way with the NEW home synced first (the
// Federation still placing it in the old one), then the Federation, then the old home: the old pod
// goes only after the new one replicates, the primary never moves, the same checks hold.
// Last, one change scales ordinal 1 in (prod-eu-west) and adds ordinal 3 (prod-eu-central), the
// old home synced first and the new home 4 s after the Federation: pod 1 stays until pod 3 (and
// every server that stays) is synced — the plan's scale-out before scale-in, executed — and
// status.steps' scale-in step says what it waits for; the same checks hold.
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS, type Federation, type FederationShardStatus, type InstanceSet } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingRedisKeys, overlappingPrimaries, startRedisWriter, type Writer as RedisWriter } from '../e2e/writers.js';
import { createRenderedFederation, federationStatus, podsEverywhere as podsEverywhere_, redisEstablishedPrimary, shardStatus, watchMost } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const SET = 'feed-shards-shard-0';
const NS = `fed-move-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const KINDS = new Set(['InstanceSet', 'ConfigMap', 'Service', 'PodDisruptionBudget', 'Secret']);
const shard0 = (member: string): k8s.KubernetesObject[] =>
  loadRendered(`prod/${member}/db-feed/feed-shards`, 'db-feed', NS).filter((o) => (o.metadata?.name ?? '').startsWith(SET) && KINDS.has(o.kind ?? ''));
const POD0 = `${SET}-0`;
const GROUP = { group: 'dbtopo.dev', version: 'v1alpha1' } as const;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

describe('federation: an ordinal moved from one member cluster to another, no acknowledged write lost', () => {
  let env: FederationEnv;
  let manager: RunningFederationManager | undefined;
  const podsEverywhere = () => podsEverywhere_(env, SET);
  const status0 = async (): Promise<FederationShardStatus | undefined> => await shardStatus(env, 'feed-shards', SET);
  const instanceSet = async (member: string): Promise<InstanceSet> =>
    (await env.member(member).admin.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'instancesets', name: SET })) as InstanceSet;
  /** As Argo CD syncing the member cluster's new rendering: the server InstanceSet's ordinals. */
  const syncOrdinals = async (member: string, ordinals: number[]): Promise<void> => {
    await env.member(member).kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
      { ...GROUP, namespace: NS, plural: 'instancesets', name: SET, body: { spec: { replicas: ordinals.length, defaultTemplateOrdinals: { ranges: ordinals.map((o) => ({ start: o, end: o })) } } } },
      mergePatch,
    );
  };

  /** As Argo CD syncing the Federation's new rendering: each member cluster's ordinals of the shard (and its pods' names). */
  const syncFederation = async (ordinals: Record<string, number[]>): Promise<void> => {
    const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
    const fed = (await custom.getNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'federations', name: 'feed-shards' })) as Federation;
    const shards = fed.spec.shards.map((s) => {
      if (s.name !== SET) return s;
      const pod = (n: number, member: string) => ({ name: `${SET}-${n}`, clusterSetName: `${SET}-${n}.${member}.${SET}-headless.${NS}.svc.clusterset.local` });
      return { ...s, members: s.members.map((m) => ({ memberCluster: m.memberCluster, ordinals: ordinals[m.memberCluster]!, pods: ordinals[m.memberCluster]!.map((n) => pod(n, m.memberCluster)) })) };
    });
    await custom.patchNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'federations', name: 'feed-shards', body: { spec: { shards } } }, mergePatch);
  };

  /** The most engines seen at one instant acting as an established primary (master with a connected replica), every 200 ms, at every pod address ever seen. */
  function watchEngines(): { stop(): Promise<number> } {
    const ips = new Set<string>();
    return watchMost(async () => {
      for (const x of await podsEverywhere().catch(() => [])) if (x.pod.status?.podIP) ips.add(x.pod.status.podIP);
      return (await Promise.all([...ips].map(redisEstablishedPrimary))).reduce<number>((x, y) => x + y, 0);
    });
  }

  /** The most pods labelled primary at one instant across both member clusters, polled every 200 ms. */
  const watchLabels = (): { stop(): Promise<number> } =>
    watchMost(async () => (await podsEverywhere()).filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary' && x.pod.metadata.deletionTimestamp === undefined).length);

  /**
   * The Federation's status.steps while a change runs, every 200 ms: the distinct messages of step
   * `id` while Running, and stop() gives 1 when one of them satisfied `said` (else 0).
   */
  const watchRunningStep = (id: string, said: (message: string) => boolean): { messages: Set<string>; stop(): Promise<number> } => {
    const messages = new Set<string>();
    const watch = watchMost(async () => {
      const running = ((await federationStatus(env, 'feed-shards'))?.steps ?? []).filter((s) => s.id === id && s.state === 'Running');
      for (const s of running) messages.add(s.message ?? '');
      return [...messages].some(said) ? 1 : 0;
    });
    return { messages, stop: () => watch.stop() };
  };
  /** watchRunningStep of move-ordinal@_federation: 1 when a message named ordinal `n` moving `from` → `to`. */
  const watchMoveStep = (n: number, from: string, to: string): { messages: Set<string>; stop(): Promise<number> } =>
    watchRunningStep('move-ordinal@_federation', (m) => m.includes(`ordinal ${n}: ${from} → ${to}`));

  /** At the end of a change: status.steps all Done (the move's steps among them). */
  const stepsAllDone = async (): Promise<string[]> =>
    await eventually('status.steps all Done', async () => {
      const steps = (await federationStatus(env, 'feed-shards'))?.steps;
      return steps !== undefined && steps.length > 0 && steps.every((x) => x.state === 'Done') ? steps.map((x) => x.id) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });

  /**
   * Polled every 150 ms: when `newPod` in `newMember` first replicated from the primary at
   * `primaryIp` with its link up (`synced`), and when the pod with `oldUid` in `oldMember` went
   * (`gone`).
   */
  function watchSyncAndGone(newMember: string, newPod: string, oldMember: string, oldUid: string, primaryIp: string): { synced(): number | undefined; gone(): number | undefined; stop(): Promise<void> } {
    let synced: number | undefined;
    let gone: number | undefined;
    let on = true;
    const poll = (async () => {
      while (on) {
        const all = await podsEverywhere().catch(() => undefined);
        const ip = all?.find((x) => x.member === newMember && x.pod.metadata?.name === newPod)?.pod.status?.podIP;
        if (synced === undefined && ip !== undefined) {
          const c = new Redis({ host: ip, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, retryStrategy: () => null });
          c.on('error', () => undefined);
          const info = await c.connect().then(async () => String(await c.info('replication')), () => '').finally(() => c.disconnect());
          if (info.includes(`master_host:${primaryIp}`) && /master_link_status:up/.test(info)) synced = performance.now();
        }
        if (all !== undefined && gone === undefined && !all.some((x) => x.member === oldMember && x.pod.metadata?.uid === oldUid && x.pod.metadata.deletionTimestamp === undefined)) gone = performance.now();
        await sleep(150);
      }
    })();
    return {
      synced: () => synced,
      gone: () => gone,
      async stop(): Promise<void> {
        on = false;
        await poll;
      },
    };
  }

  /** The end of a change with the primary unchanged (ordinal 0 in prod-eu-central): Healthy, these roles, both -primary Services on it. */
  async function settledOnPrimary(roles: string[], primaryIp: string): Promise<void> {
    await eventually('Healthy, the primary unchanged', async () => {
      const s = await status0();
      return s?.state === 'Healthy' && s.primary?.memberCluster === CENTRAL && s.primary.pod === POD0 ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await eventually('exactly one primary label across both member clusters', async () => {
      const seen = (await podsEverywhere()).map((x) => `${x.member}/${x.pod.metadata?.name}=${x.pod.metadata?.labels?.[LABELS.role] ?? ''}`).sort();
      return seen.join(',') === [...roles].sort().join(',') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    for (const m of [WEST, CENTRAL]) {
      await eventually(`${m} -primary → ordinal 0`, async () => {
        const a = await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`);
        return a.length === 1 && a[0] === primaryIp ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
    }
  }

  /**
   * The end of a change to shard 0 (writers `w`/`c` writing keys `<prefix>w:` / `<prefix>c:`
   * since before `t0`): writes acknowledged again, the figures printed (`say` gets the longest
   * stretch without an acknowledged write, in s, and the rest of the line), and the checks every
   * change shares: one established primary, one primary label, no two servers acknowledging at
   * once, no acknowledged write lost.
   */
  async function endOfChange(
    o: { w: RedisWriter; c: RedisWriter; prefix: string; engines: { stop(): Promise<number> }; labels: { stop(): Promise<number> }; t0: number; primaryIp: string },
    say: (gapS: string, tail: string) => string,
  ): Promise<void> {
    const tEnd = performance.now();
    await eventually('writes acknowledged after the change', async () => (o.w.firstAckAfter(tEnd) !== undefined && o.c.firstAckAfter(tEnd) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const reportW = await o.w.stop();
    const reportC = await o.c.stop();
    const mostEngines = await o.engines.stop();
    const mostLabels = await o.labels.stop();
    const gapOf = (r: typeof reportW): number => Math.max(0, ...r.gaps.filter((g) => g.to >= o.t0 && g.from <= tEnd).map((g) => g.to - g.from));
    const gap = (Math.max(gapOf(reportW), gapOf(reportC)) / 1000).toFixed(1);
    process.stderr.write(`${say(gap, `${reportW.acked.length + reportC.acked.length} writes acknowledged, ${reportW.failures + reportC.failures} refused or failed; most primary labels at once ${mostLabels}`)}\n`);
    expect(mostEngines, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
    expect(mostLabels, 'two pods labelled primary at once').toBeLessThanOrEqual(1);
    expect(overlappingPrimaries([reportW, reportC])).toBeUndefined();
    expect(await missingRedisKeys(o.primaryIp, '', `${o.prefix}w:`, reportW.acked), 'acknowledged writes lost').toEqual([]);
    expect(await missingRedisKeys(o.primaryIp, '', `${o.prefix}c:`, reportC.acked), 'acknowledged writes lost').toEqual([]);
  }

  /** Runs a change's `body`; a failure carries the Federation's shard status; `stops` are stopped either way (each stop is idempotent). */
  async function inChange(body: () => Promise<void>, stops: Array<{ stop(): Promise<unknown> }>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const s = await status0().catch(() => undefined);
      throw new Error(`${String(err)}; Federation: ${JSON.stringify(s ?? {}).slice(0, 1500)}`);
    } finally {
      for (const x of stops) await x.stop();
    }
  }

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
    manager = await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });
    await eventually('one healthy primary (ordinal 0, prod-eu-west)', async () => {
      const s = await status0();
      return s?.state === 'Healthy' && s.primary?.pod === POD0 && s.primary.memberCluster === WEST ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
  });

  afterAll(async () => {
    await manager?.stop();
    await env?.federation.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    await env?.stop();
  });

  it('moves the primary\'s ordinal 0 from prod-eu-west to prod-eu-central, the old home synced first: held until the new pod is synced, switched over, then released', async () => {
    const oldPod = (await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.name === POD0)!.pod;
    const oldUid = oldPod.metadata?.uid ?? '';
    const oldIp = oldPod.status?.podIP ?? '';
    const writerW = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'movew:', 500, 2);
    const writerC = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'movec:', 500, 2);
    await eventually('writes acknowledged in both member clusters', async () => (writerW.firstAckAfter(0) !== undefined && writerC.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const engines = watchEngines();
    const labels = watchLabels();
    const moveStep = watchMoveStep(0, WEST, CENTRAL);
    // Each change of the recorded primary, and when the old pod went, as they happen.
    const seen: Array<{ t: number; what: string }> = [];
    let on = true;
    let gone: number | undefined;
    let handedOver: number | undefined;
    let newPodAt: number | undefined;
    const recorder = (async () => {
      let last = `${WEST}/${POD0}`;
      while (on) {
        const s = await status0().catch(() => undefined);
        const p = s?.primary !== undefined ? `${s.primary.memberCluster}/${s.primary.pod}` : last;
        if (p !== last) {
          seen.push({ t: performance.now(), what: `primary ${last} -> ${p}` });
          if (p === `${CENTRAL}/${POD0}`) handedOver ??= performance.now();
          last = p;
        }
        const all = await podsEverywhere().catch(() => undefined);
        if (all !== undefined) {
          if (newPodAt === undefined && all.some((x) => x.member === CENTRAL && x.pod.metadata?.name === POD0)) {
            newPodAt = performance.now();
            seen.push({ t: newPodAt, what: `${CENTRAL}/${POD0} created` });
          }
          if (gone === undefined && !all.some((x) => x.member === WEST && x.pod.metadata?.uid === oldUid && x.pod.metadata.deletionTimestamp === undefined)) {
            gone = performance.now();
            seen.push({ t: gone, what: `${WEST}/${POD0} deleted` });
          }
        }
        await sleep(150);
      }
    })();
    const t0 = performance.now();
    try {
      // 1. Git drops ordinal 0 from prod-eu-west, and Argo CD syncs prod-eu-west first (the Federation not yet).
      await syncOrdinals(WEST, [1]);
      const held = await eventually('prod-eu-west holds its pod 0 (Held)', async () => {
        const c = (await instanceSet(WEST)).status?.conditions?.find((x) => x.type === 'Held');
        return c?.status === 'True' ? c : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      expect(held.message).toMatch(new RegExp(`^${POD0} left spec but stays until the federation manager releases it`));
      await eventually('the manager says why it stays (the Federation still places ordinal 0 in prod-eu-west)', async () => {
        const s = await status0();
        return /the Federation still places ordinal 0 in prod-eu-west/.test(s?.message ?? '') ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      await sleep(3_000);
      // 2. The Federation's spec: ordinal 0 now in prod-eu-central.
      await syncFederation({ [WEST]: [1], [CENTRAL]: [0, 2] });
      await eventually('the manager waits for the new pod in prod-eu-central', async () => {
        const s = await status0();
        // 1 pod missing (the new one): not Healthy, so the primary is not handed over yet
        return /stays: it is the primary: (waiting for a synced replica to hand it over to|the hand-over to .* waits for the shard to be Healthy)/.test(s?.message ?? '') ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      await sleep(3_000);
      // Still there, still the primary, writes still acknowledged.
      const stillThere = (await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.uid === oldUid);
      expect(stillThere?.pod.metadata?.deletionTimestamp, 'the old pod 0 was deleted before its new pod existed').toBeUndefined();
      expect((await status0())?.primary).toEqual({ memberCluster: WEST, pod: POD0 });
      const heldSince = performance.now();
      expect(writerC.firstAckAfter(heldSince - 2_000), 'writes acknowledged during the hold').toBeDefined();
      // 3. Argo CD syncs prod-eu-central: ordinal 0 added there.
      const tCentral = performance.now();
      await syncOrdinals(CENTRAL, [0, 2]);
      await eventually('the primary handed over to the new pod 0 in prod-eu-central', async () => (handedOver !== undefined ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });
      await eventually('the old pod 0 in prod-eu-west released and removed', async () => (gone !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      expect(gone!, 'the old pod went before the primary was handed over').toBeGreaterThan(handedOver!);
      await eventually('Healthy, the primary ordinal 0 in prod-eu-central', async () => {
        const s = await status0();
        return s?.state === 'Healthy' && s.primary?.memberCluster === CENTRAL && s.primary.pod === POD0 ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      const newIp = (await podsEverywhere()).find((x) => x.member === CENTRAL && x.pod.metadata?.name === POD0)?.pod.status?.podIP ?? '';
      await eventually('exactly one primary label across both member clusters, on the new pod', async () => {
        const all = await podsEverywhere();
        const roles = all.map((x) => `${x.member}/${x.pod.metadata?.name}=${x.pod.metadata?.labels?.[LABELS.role] ?? ''}`).sort();
        return roles.join(',') === [`${CENTRAL}/${SET}-0=primary`, `${CENTRAL}/${SET}-2=secondary`, `${WEST}/${SET}-1=secondary`].join(',') ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      for (const m of [WEST, CENTRAL]) {
        await eventually(`${m} -primary → the new pod 0`, async () => {
          const a = await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`);
          return a.length === 1 && a[0] === newIp ? true : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250 });
      }
      expect((await instanceSet(WEST)).status?.conditions?.some((c) => c.type === 'Held')).toBe(false);
      // status.steps: the move ran as the plan's steps (the new pod, then the move), said so while
      // it ran, naming the ordinal, and ended all Done.
      expect(await stepsAllDone()).toEqual([`scale-out@${CENTRAL}`, 'move-ordinal@_federation']);
      const sawMove = await moveStep.stop();
      process.stderr.write(`[federation] status.steps move-ordinal@_federation Running: ${[...moveStep.messages].join(' | ')}\n`);
      expect(sawMove, `move-ordinal@_federation Running naming ordinal 0; seen: ${[...moveStep.messages].join(' | ')}`).toBe(1);
      expect([...moveStep.messages].some((m) => /the primary is handed over first/.test(m)), [...moveStep.messages].join(' | ')).toBe(true);
      const tEnd = performance.now();
      await sleep(1_000);
      const reportW = await writerW.stop();
      const reportC = await writerC.stop();
      on = false;
      await recorder;
      const mostEngines = await engines.stop();
      const mostLabels = await labels.stop();
      // The longest stretch without an acknowledged write around the hand-over (either client).
      const gapOf = (r: typeof reportW): number => Math.max(0, ...r.gaps.filter((g) => g.to >= tCentral && g.from <= tEnd).map((g) => g.to - g.from));
      const gap = Math.max(gapOf(reportW), gapOf(reportC));
      process.stderr.write(
        `[federation] ordinal move (the primary, prod-eu-west → prod-eu-central, old home synced first): old pod held ${((gone! - t0) / 1000).toFixed(1)} s in all, ` +
          `${((gone! - tCentral) / 1000).toFixed(1)} s after the new home's sync (new pod created after ${((newPodAt! - tCentral) / 1000).toFixed(1)} s, primary handed over after ${((handedOver! - tCentral) / 1000).toFixed(1)} s, old pod gone ${((gone! - handedOver!) / 1000).toFixed(1)} s after the hand-over); ` +
          `longest stretch without an acknowledged write ${(gap / 1000).toFixed(1)} s (one healthy primary serving again); ${reportW.acked.length + reportC.acked.length} writes acknowledged, ${reportW.failures + reportC.failures} refused or failed; ` +
          `most primary labels at once ${mostLabels}; ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}\n`,
      );
      expect(mostEngines, 'two engines acting as established primaries at once').toBeLessThanOrEqual(1);
      expect(overlappingPrimaries([reportW, reportC])).toBeUndefined();
      expect(reportW.acked.length).toBeGreaterThan(0);
      expect(reportC.acked.length).toBeGreaterThan(0);
      expect(reportW.ackHosts.includes(oldIp) && reportW.ackHosts.includes(newIp), 'the west client wrote to the old and the new primary').toBe(true);
      expect(await missingRedisKeys(newIp, '', 'movew:', reportW.acked), 'acknowledged writes lost').toEqual([]);
      expect(await missingRedisKeys(newIp, '', 'movec:', reportC.acked), 'acknowledged writes lost').toEqual([]);
    } catch (err) {
      const s = await status0().catch(() => undefined);
      throw new Error(`${String(err)}; seen: ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}; Federation: ${JSON.stringify(s ?? {}).slice(0, 1500)}`);
    } finally {
      on = false;
      await recorder;
      await writerW.stop();
      await writerC.stop();
      await engines.stop();
      await labels.stop();
      await moveStep.stop();
    }
  });

  it('moves a secondary ordinal (2, prod-eu-central → prod-eu-west) with the NEW home synced first: the old pod goes only after the new one is synced; one primary throughout', async () => {
    const before = await status0();
    expect(before?.primary).toEqual({ memberCluster: CENTRAL, pod: POD0 });
    const pod2 = `${SET}-2`;
    const oldUid = (await podsEverywhere()).find((x) => x.member === CENTRAL && x.pod.metadata?.name === pod2)!.pod.metadata?.uid ?? '';
    const writerW = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'move2w:', 500, 2);
    const writerC = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'move2c:', 500, 2);
    await eventually('writes acknowledged in both member clusters', async () => (writerW.firstAckAfter(0) !== undefined && writerC.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const engines = watchEngines();
    const labels = watchLabels();
    const moveStep = watchMoveStep(2, CENTRAL, WEST);
    // When the new pod 2 (prod-eu-west) first replicated from the primary with its link up, and when the old one went.
    const primaryIp = (await podsEverywhere()).find((x) => x.member === CENTRAL && x.pod.metadata?.name === POD0)?.pod.status?.podIP ?? '';
    const sg = watchSyncAndGone(WEST, pod2, CENTRAL, oldUid, primaryIp);
    const t0 = performance.now();
    await inChange(async () => {
      // The new home first (the Federation still places ordinal 2 in prod-eu-central), then the Federation, then the old home.
      await syncOrdinals(WEST, [1, 2]);
      await eventually('the new pod 2 in prod-eu-west replicates from the primary', async () => (sg.synced() !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      await sleep(2_000);
      await syncFederation({ [WEST]: [1, 2], [CENTRAL]: [0] });
      await sleep(2_000);
      const tOld = performance.now();
      await syncOrdinals(CENTRAL, [0]);
      await eventually('the old pod 2 in prod-eu-central removed', async () => (sg.gone() !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      expect(sg.gone()!).toBeGreaterThan(sg.synced()!);
      await settledOnPrimary([`${CENTRAL}/${SET}-0=primary`, `${WEST}/${SET}-1=secondary`, `${WEST}/${SET}-2=secondary`], primaryIp);
      expect(await stepsAllDone()).toEqual([`scale-out@${WEST}`, 'move-ordinal@_federation']);
      const sawMove = await moveStep.stop();
      process.stderr.write(`[federation] status.steps move-ordinal@_federation Running: ${[...moveStep.messages].join(' | ')}\n`);
      expect(sawMove, `move-ordinal@_federation Running naming ordinal 2; seen: ${[...moveStep.messages].join(' | ')}`).toBe(1);
      await sg.stop();
      await endOfChange(
        { w: writerW, c: writerC, prefix: 'move2', engines, labels, t0, primaryIp },
        (gap, rest) => `[federation] ordinal move (a secondary, prod-eu-central → prod-eu-west, new home synced first): new pod replicating ${((sg.synced()! - t0) / 1000).toFixed(1)} s after its sync; old pod removed ${((sg.gone()! - tOld) / 1000).toFixed(1)} s after the old home's sync; longest stretch without an acknowledged write ${gap} s; ${rest}`,
      );
    }, [sg, writerW, writerC, engines, labels, moveStep]);
  });

  it('scales ordinal 1 in (prod-eu-west) while ordinal 3 is new (prod-eu-central), the old home synced first: pod 1 goes only after pod 3 is synced (scale-out before scale-in, as the plan orders them)', async () => {
    const before = await status0();
    expect(before?.primary).toEqual({ memberCluster: CENTRAL, pod: POD0 });
    const [pod1, pod3] = [`${SET}-1`, `${SET}-3`];
    const oldUid = (await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.name === pod1)!.pod.metadata?.uid ?? '';
    const writerW = startRedisWriter(env.member(WEST).kc, NS, `${SET}-primary`, '', 'scalew:', 500, 2);
    const writerC = startRedisWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, '', 'scalec:', 500, 2);
    await eventually('writes acknowledged in both member clusters', async () => (writerW.firstAckAfter(0) !== undefined && writerC.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const engines = watchEngines();
    const labels = watchLabels();
    // What status.steps says while scale-in@prod-eu-west runs.
    const stepWatch = watchRunningStep(`scale-in@${WEST}`, (m) => m.includes('once every server that stays is synced'));
    // When the new pod 3 (prod-eu-central) first replicated from the primary with its link up, and when pod 1 went.
    const primaryIp = (await podsEverywhere()).find((x) => x.member === CENTRAL && x.pod.metadata?.name === POD0)?.pod.status?.podIP ?? '';
    const sg = watchSyncAndGone(CENTRAL, pod3, WEST, oldUid, primaryIp);
    const t0 = performance.now();
    await inChange(async () => {
      // The old home first (pod 1 no longer wanted there), then the Federation (ordinal 1 placed
      // nowhere, ordinal 3 in prod-eu-central), and the new home 4 s later.
      await syncOrdinals(WEST, [2]);
      await sleep(1_000);
      await syncFederation({ [WEST]: [2], [CENTRAL]: [0, 3] });
      await sleep(4_000);
      expect(sg.gone(), 'pod 1 removed before its scale-out partner existed').toBeUndefined();
      const tNew = performance.now();
      await syncOrdinals(CENTRAL, [0, 3]);
      await eventually('the new pod 3 in prod-eu-central replicates from the primary', async () => (sg.synced() !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      await eventually('pod 1 in prod-eu-west removed', async () => (sg.gone() !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      expect(sg.gone()!, 'pod 1 removed before pod 3 was synced').toBeGreaterThan(sg.synced()!);
      await settledOnPrimary([`${CENTRAL}/${SET}-0=primary`, `${CENTRAL}/${SET}-3=secondary`, `${WEST}/${SET}-2=secondary`], primaryIp);
      expect(await stepsAllDone()).toEqual(expect.arrayContaining([`scale-out@${CENTRAL}`, `scale-in@${WEST}`]));
      const saidWhy = await stepWatch.stop();
      process.stderr.write(`[federation] status.steps scale-in@${WEST} Running: ${[...stepWatch.messages].join(' | ')}\n`);
      expect(saidWhy, `scale-in@${WEST} said why it waits; seen: ${[...stepWatch.messages].join(' | ')}`).toBe(1);
      await sg.stop();
      await endOfChange(
        { w: writerW, c: writerC, prefix: 'scale', engines, labels, t0, primaryIp },
        (gap, rest) => `[federation] scale-in with a scale-out (ordinal 1 out of prod-eu-west, ordinal 3 new in prod-eu-central, old home synced first): pod 1 held ${((sg.gone()! - t0) / 1000).toFixed(1)} s, removed ${((sg.gone()! - sg.synced()!) / 1000).toFixed(1)} s after pod 3 replicated (${((sg.synced()! - tNew) / 1000).toFixed(1)} s after the new home's sync); longest stretch without an acknowledged write ${gap} s; ${rest}`,
      );
    }, [sg, writerW, writerC, engines, labels, stepWatch]);
  });
});
