// An ordinal moved from one member cluster to another with MariaDB semi-sync (issue 10), on real
// parts: the example's payments-db as rendered for prod — servers 0–1 in prod-eu-west (member-a),
// 2 in prod-eu-central (member-b) — with the federation manager and a client committing in each
// member cluster throughout (acknowledged = the commit returned with semi-sync on; only replicas in
// another member cluster than the primary's acknowledge, so an acknowledged commit is in two).
// Ordinal 0, the PRIMARY, moves from prod-eu-west to prod-eu-central; prod-eu-west is synced
// first, then the Federation, then prod-eu-central. prod-eu-west holds its old pod until the new
// server 0 exists; the manager then switches the primary over to a synced replica that stays (the
// new server 0 when it is synced first, else the most advanced one; the record written first) and
// releases the old pod once its replacement is synced, which prod-eu-west removes. The new
// server 0 has its own server id (the rendered pods derive it from the pod UID, distinct per pod
// incarnation; with the ordinal's id it would skip the events the old one wrote as primary, and the
// move would stay held): checked on both servers. Throughout: commits go on, no acknowledged one
// lost, never two servers writable; at the end one primary label across the member clusters and
// both -primary Services on the new pod. The times printed.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS, type Federation, type FederationShardStatus, type InstanceSet } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { serverIdFromUid } from '../kubelet/render.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingMysqlRows, overlappingPrimaries, startMysqlWriter } from '../e2e/writers.js';
import { createRenderedFederation, podsEverywhere as podsEverywhere_, shardStatus } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const SET = 'payments-db-server';
const NS = `fed-movemy-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const AUTH = { user: 'dbadmin', password: `pw-${process.pid}` };
const KINDS = new Set(['InstanceSet', 'ConfigMap', 'Service', 'PodDisruptionBudget', 'Secret']);
const servers = (member: string): k8s.KubernetesObject[] =>
  loadRendered(`prod/${member}/db-payments/payments-db`, 'db-payments', NS).filter((o) => (o.metadata?.name ?? '').startsWith(SET) && KINDS.has(o.kind ?? ''));
const POD0 = `${SET}-0`;
const GROUP = { group: 'dbtopo.dev', version: 'v1alpha1' } as const;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

async function query<T = Record<string, unknown>>(host: string, sql: string): Promise<T[]> {
  const c = await mysql.createConnection({ host, port: 3306, user: AUTH.user, password: AUTH.password, connectTimeout: 2_000 });
  try {
    const [rows] = await c.query({ sql, timeout: 5_000 });
    return rows as T[];
  } finally {
    c.destroy();
  }
}

describe('federation: an ordinal moved between member clusters, MariaDB semi-sync', () => {
  let env: FederationEnv;
  let manager: RunningFederationManager | undefined;
  const podsEverywhere = () => podsEverywhere_(env, SET);
  const status0 = async (): Promise<FederationShardStatus | undefined> => await shardStatus(env, 'payments-db', SET);
  const ipOf = async (member: string, pod: string): Promise<string> => (await podsEverywhere()).find((x) => x.member === member && x.pod.metadata?.name === pod)?.pod.status?.podIP ?? '';
  const instanceSet = async (member: string): Promise<InstanceSet> =>
    (await env.member(member).admin.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'instancesets', name: SET })) as InstanceSet;
  const syncOrdinals = async (member: string, ordinals: number[]): Promise<void> => {
    await env.member(member).kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
      { ...GROUP, namespace: NS, plural: 'instancesets', name: SET, body: { spec: { replicas: ordinals.length, defaultTemplateOrdinals: { ranges: ordinals.map((o) => ({ start: o, end: o })) } } } },
      mergePatch,
    );
  };

  /** Most servers writable (read_only off) at one instant, over every pod address ever seen, every 200 ms. */
  function watchWritable(): { stop(): Promise<number> } {
    const ips = new Set<string>();
    let most = 0;
    let on = true;
    let refreshing: Promise<unknown> | undefined;
    const loop = (async () => {
      while (on) {
        refreshing ??= podsEverywhere()
          .then((all) => all.forEach((x) => x.pod.status?.podIP && ips.add(x.pod.status.podIP)))
          .catch(() => undefined)
          .finally(() => (refreshing = undefined));
        const writable = await Promise.all([...ips].map(async (ip) => await query<{ ro: number }>(ip, 'SELECT @@global.read_only AS ro').then((r) => (Number(r[0]?.ro) === 0 ? 1 : 0), () => 0)));
        most = Math.max(most, writable.reduce<number>((a, b) => a + b, 0));
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
    const secrets = { 'payments-db-admin': { username: AUTH.user, password: AUTH.password } };
    env = await startFederationEnv({
      namespace: NS,
      members: {
        [WEST]: { controlPlane: 'member-a', objects: servers(WEST), secrets },
        [CENTRAL]: { controlPlane: 'member-b', objects: servers(CENTRAL), secrets },
      },
      memberIdentity: 'controller',
    });
    await createRenderedFederation(env, 'prod/_federation/db-payments/payments-db', 'db-payments');
    await allReady(env.member(WEST).core, NS, SET, 2, 180_000);
    await allReady(env.member(CENTRAL).core, NS, SET, 1, 180_000);
    manager = await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });
    await eventually('one healthy primary (ordinal 0, prod-eu-west)', async () => {
      const s = await status0();
      return s?.state === 'Healthy' && s.primary?.pod === POD0 && s.primary.memberCluster === WEST ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    const p = await ipOf(WEST, POD0);
    await query(p, 'CREATE DATABASE IF NOT EXISTS pay');
    await query(p, 'CREATE TABLE IF NOT EXISTS pay.mw (id INT PRIMARY KEY)');
    await query(p, 'CREATE TABLE IF NOT EXISTS pay.mc (id INT PRIMARY KEY)');
  });

  afterAll(async () => {
    await manager?.stop();
    await env?.federation.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    await env?.stop();
  });

  /** Most pods labelled primary at once across the member clusters, every 200 ms. */
  function watchLabels(): { stop(): Promise<number> } {
    let most = 0;
    let on = true;
    const loop = (async () => {
      while (on) {
        const all = await podsEverywhere().catch(() => []);
        most = Math.max(most, all.filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary' && x.pod.metadata.deletionTimestamp === undefined).length);
        await sleep(200);
      }
    })();
    return {
      async stop() {
        on = false;
        await loop;
        return most;
      },
    };
  }

  it('moves the primary\'s ordinal 0 to prod-eu-central: held until the new server (its own server id) is synced, switched over, then released; no commit lost', async () => {
    const oldPod = (await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.name === POD0)!.pod;
    const oldUid = oldPod.metadata?.uid ?? '';
    const oldIp = oldPod.status?.podIP ?? '';
    const oldId = Number((await query<{ sid: number }>(oldIp, 'SELECT @@global.server_id AS sid'))[0]?.sid);
    expect(oldId, 'the old server 0\'s id is its pod UID\'s').toBe(serverIdFromUid(oldUid));
    const writerW = startMysqlWriter(env.member(WEST).kc, NS, `${SET}-primary`, AUTH, 'pay.mw', { semiSync: true });
    const writerC = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, AUTH, 'pay.mc', { semiSync: true });
    await eventually('commits acknowledged in both member clusters', async () => (writerW.firstAckAfter(0) !== undefined && writerC.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const writable = watchWritable();
    const labels = watchLabels();
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
          // A switchover to a synced replica that stays: the new server 0 when it is synced first,
          // else the most advanced synced one (release.ts).
          if (p !== `${WEST}/${POD0}`) handedOver ??= performance.now();
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
      await syncOrdinals(WEST, [1]);
      await eventually('prod-eu-west holds its pod 0 (Held)', async () => ((await instanceSet(WEST)).status?.conditions?.find((x) => x.type === 'Held')?.status === 'True' ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
      await sleep(3_000);
      const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
      const fed = (await custom.getNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'federations', name: 'payments-db' })) as Federation;
      const order = fed.spec.shards[0]!.members.map((m) => m.memberCluster);
      const shards = fed.spec.shards.map((s) => {
        const pods = s.members.flatMap((m) => m.pods);
        const pod = (n: number, member: string) => ({ ...pods.find((p) => p.name === `${SET}-${n}`)!, clusterSetName: `${SET}-${n}.${member}.${SET}-headless.${NS}.svc.clusterset.local` });
        const members = [{ memberCluster: WEST, ordinals: [1], pods: [pod(1, WEST)] }, { memberCluster: CENTRAL, ordinals: [0, 2], pods: [pod(0, CENTRAL), pod(2, CENTRAL)] }];
        return { ...s, members: members.sort((a, b) => order.indexOf(a.memberCluster) - order.indexOf(b.memberCluster)) };
      });
      await custom.patchNamespacedCustomObject({ ...GROUP, namespace: NS, plural: 'federations', name: 'payments-db', body: { spec: { shards } } }, mergePatch);
      await sleep(3_000);
      expect((await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.uid === oldUid)?.pod.metadata?.deletionTimestamp, 'the old pod 0 was deleted before its new pod existed').toBeUndefined();
      expect((await status0())?.primary).toEqual({ memberCluster: WEST, pod: POD0 });
      expect(writerC.firstAckAfter(performance.now() - 2_000), 'commits acknowledged during the hold').toBeDefined();
      const tCentral = performance.now();
      await syncOrdinals(CENTRAL, [0, 2]);
      // The new server 0: its own server id, from its own pod UID (never the old one's).
      const newPod = await eventually('the new server 0 in prod-eu-central answers', async () => {
        const x = (await podsEverywhere()).find((y) => y.member === CENTRAL && y.pod.metadata?.name === POD0);
        const ip = x?.pod.status?.podIP;
        if (!ip) return undefined;
        const r = await query<{ sid: number }>(ip, 'SELECT @@global.server_id AS sid').catch(() => undefined);
        return r?.[0] !== undefined ? { uid: x!.pod.metadata?.uid ?? '', ip, id: Number(r[0].sid) } : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      expect(newPod.id, 'the new server 0\'s id is its pod UID\'s').toBe(serverIdFromUid(newPod.uid));
      expect(newPod.id, 'the new server 0 has the old one\'s server id').not.toBe(oldId);
      await eventually('the primary handed over to a synced replica that stays', async () => (handedOver !== undefined ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });
      await eventually('the old server 0 in prod-eu-west released and removed', async () => (gone !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
      expect(gone!, 'the old pod went before the primary was handed over').toBeGreaterThan(handedOver!);
      const healthy = await eventually('Healthy, a primary that stays', async () => {
        const s = await status0();
        return s?.state === 'Healthy' && s.primary !== undefined && !(s.primary.memberCluster === WEST && s.primary.pod === POD0) ? { at: performance.now(), primary: s.primary } : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      const healthyAt = healthy.at;
      const newPrimary = `${healthy.primary.memberCluster}/${healthy.primary.pod}`;
      const newIp = await ipOf(healthy.primary.memberCluster, healthy.primary.pod);
      const expectedRoles = [`${CENTRAL}/${SET}-0`, `${CENTRAL}/${SET}-2`, `${WEST}/${SET}-1`].map((x) => `${x}=${x === newPrimary ? 'primary' : 'secondary'}`).sort();
      await eventually(`exactly one primary label across both member clusters, on ${newPrimary}`, async () => {
        const all = await podsEverywhere();
        const roles = all.map((x) => `${x.member}/${x.pod.metadata?.name}=${x.pod.metadata?.labels?.[LABELS.role] ?? ''}`).sort();
        return roles.join(',') === expectedRoles.join(',') ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      for (const m of [WEST, CENTRAL]) {
        await eventually(`${m} -primary → ${newPrimary}`, async () => {
          const a = await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`);
          return a.length === 1 && a[0] === newIp ? true : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250 });
      }
      expect((await instanceSet(WEST)).status?.conditions?.some((c) => c.type === 'Held')).toBe(false);
      const tEnd = performance.now();
      await eventually('commits acknowledged in both member clusters after the move', async () => (writerW.firstAckAfter(tEnd) !== undefined && writerC.firstAckAfter(tEnd) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
      const reportW = await writerW.stop();
      const reportC = await writerC.stop();
      on = false;
      await recorder;
      const most = await writable.stop();
      const mostLabels = await labels.stop();
      // The longest stretch without an acknowledged commit around the hand-over (either client):
      // until one healthy primary serves again.
      const gapOf = (r: typeof reportW): number => Math.max(0, ...r.gaps.filter((g) => g.to >= tCentral && g.from <= tEnd).map((g) => g.to - g.from));
      const gap = Math.max(gapOf(reportW), gapOf(reportC));
      process.stderr.write(
        `[federation] MariaDB ordinal move (the primary, prod-eu-west → prod-eu-central, old home synced first): old pod held ${((gone! - t0) / 1000).toFixed(1)} s in all, ` +
          `${((gone! - tCentral) / 1000).toFixed(1)} s after the new home's sync (new server created after ${((newPodAt! - tCentral) / 1000).toFixed(1)} s, server id ${oldId} → ${newPod.id}, primary handed over to ${newPrimary} after ${((handedOver! - tCentral) / 1000).toFixed(1)} s, ` +
          `old pod gone ${((gone! - handedOver!) / 1000).toFixed(1)} s after the hand-over, Healthy ${((healthyAt - tCentral) / 1000).toFixed(1)} s after the new home's sync); ` +
          `longest stretch without an acknowledged commit ${(gap / 1000).toFixed(1)} s (one healthy primary serving again); ${reportW.acked.length + reportC.acked.length} commits acknowledged, ${reportW.failures + reportC.failures} refused or failed; ` +
          `most servers writable at once ${most}, most primary labels at once ${mostLabels}; ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}\n`,
      );
      expect(most, 'two servers writable at once').toBeLessThanOrEqual(1);
      expect(mostLabels, 'two pods labelled primary at once').toBeLessThanOrEqual(1);
      expect(overlappingPrimaries([reportW, reportC])).toBeUndefined();
      expect(reportW.acked.length).toBeGreaterThan(0);
      expect(reportC.acked.length).toBeGreaterThan(0);
      expect(reportW.ackHosts.includes(oldIp) && reportW.ackHosts.includes(newIp), 'the west client committed on the old and the new primary').toBe(true);
      expect(await missingMysqlRows(newIp, AUTH, 'pay.mw', reportW.acked), 'acknowledged commits lost').toEqual([]);
      expect(await missingMysqlRows(newIp, AUTH, 'pay.mc', reportC.acked), 'acknowledged commits lost').toEqual([]);
    } catch (err) {
      const s = await status0().catch(() => undefined);
      throw new Error(`${String(err)}; seen: ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}; Federation: ${JSON.stringify(s ?? {}).slice(0, 1500)}`);
    } finally {
      on = false;
      await recorder;
      await writerW.stop();
      await writerC.stop();
      await writable.stop();
      await labels.stop();
    }
  });
});
