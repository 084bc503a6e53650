// An ordinal moved from one member cluster to another with MariaDB semi-sync (issue 10), on real
// parts: the example's payments-db as rendered for prod — servers 0–1 in prod-eu-west (member-a),
// 2 in prod-eu-central (member-b) — with the federation manager and a client committing in each
// member cluster throughout (acknowledged = the commit returned with semi-sync on; only replicas in
// another member cluster than the primary's acknowledge, so an acknowledged commit is in two).
// Ordinal 0, the PRIMARY, moves from prod-eu-west to prod-eu-central; prod-eu-west is synced
// first, then the Federation, then prod-eu-central. prod-eu-west holds its old pod. The new server
// 0 gets the old one's server id (the rendered pods derive server-id from the ordinal): it cannot
// replicate from the old one, and from any other server it would silently skip the events the old
// one wrote as primary while its GTID position looks caught up. So the manager never releases the
// old pod nor hands the primary to it: the move stays held, commits go on, none is lost, never two
// servers writable. (Completing a MariaDB move needs distinct server ids per pod incarnation:
// docs/federation.md, "Ordinal moves".)
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS, type Federation, type FederationShardStatus, type InstanceSet } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
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

  it('moving the primary\'s ordinal 0 to prod-eu-central: the old pod is held, never released to a new server with its server id; no commit lost', async () => {
    const oldPod = (await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.name === POD0)!.pod;
    const oldUid = oldPod.metadata?.uid ?? '';
    const oldIp = oldPod.status?.podIP ?? '';
    const writerW = startMysqlWriter(env.member(WEST).kc, NS, `${SET}-primary`, AUTH, 'pay.mw', { semiSync: true });
    const writerC = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, AUTH, 'pay.mc', { semiSync: true });
    await eventually('commits acknowledged in both member clusters', async () => (writerW.firstAckAfter(0) !== undefined && writerC.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const writable = watchWritable();
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
      // The new server 0 has the old one's server id (the rendered pods derive it from the
      // ordinal): it cannot replicate from it, and would skip its events from any other server.
      // The manager holds the old pod (and the primary) rather than release it to a server that
      // would miss commits: the move waits for distinct server ids (not rendered yet).
      const heldFor = await eventually('the manager holds the old pod: the new server has its server id', async () => {
        const s = await status0();
        return /payments-db-server-0 \(prod-eu-west\) stays: its new pod payments-db-server-0 \(prod-eu-central\) has its server id 1/.test(s?.message ?? '') ? s : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      expect(heldFor.primary).toEqual({ memberCluster: WEST, pod: POD0 });
      const heldAt = performance.now();
      await sleep(10_000);
      expect((await podsEverywhere()).find((x) => x.member === WEST && x.pod.metadata?.uid === oldUid)?.pod.metadata?.deletionTimestamp, 'the old pod 0 was released to a server with its server id').toBeUndefined();
      expect((await status0())?.primary).toEqual({ memberCluster: WEST, pod: POD0 });
      expect(handedOver, 'the primary was handed over to a server with the old one\'s server id').toBeUndefined();
      expect((await instanceSet(WEST)).status?.conditions?.find((c) => c.type === 'Held')?.status).toBe('True');
      // One primary label across the member clusters (the old pod), both -primary Services on it.
      const labelled = (await podsEverywhere()).filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary').map((x) => `${x.member}/${x.pod.metadata?.name}`);
      expect(labelled).toEqual([`${WEST}/${POD0}`]);
      for (const m of [WEST, CENTRAL]) expect(await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`)).toEqual([oldIp]);
      expect(writerW.firstAckAfter(heldAt) !== undefined && writerC.firstAckAfter(heldAt) !== undefined, 'commits acknowledged while the move is held').toBe(true);
      const reportW = await writerW.stop();
      const reportC = await writerC.stop();
      on = false;
      await recorder;
      const most = await writable.stop();
      process.stderr.write(
        `[federation] MariaDB ordinal move (the primary, prod-eu-west → prod-eu-central): held ${((performance.now() - t0) / 1000).toFixed(1)} s and counting — the new server 0 (created ${((newPodAt! - tCentral) / 1000).toFixed(1)} s after the new home's sync) has the old one's server id, so it is never released to; ` +
          `${reportW.acked.length + reportC.acked.length} commits acknowledged, ${reportW.failures + reportC.failures} refused or failed, none lost; ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}\n`,
      );
      expect(most, 'two servers writable at once').toBeLessThanOrEqual(1);
      expect(overlappingPrimaries([reportW, reportC])).toBeUndefined();
      expect(await missingMysqlRows(oldIp, AUTH, 'pay.mw', reportW.acked), 'acknowledged commits lost').toEqual([]);
      expect(await missingMysqlRows(oldIp, AUTH, 'pay.mc', reportC.acked), 'acknowledged commits lost').toEqual([]);
    } catch (err) {
      const s = await status0().catch(() => undefined);
      throw new Error(`${String(err)}; seen: ${seen.map((e) => `${((e.t - t0) / 1000).toFixed(1)}s ${e.what}`).join(', ')}; Federation: ${JSON.stringify(s ?? {}).slice(0, 1500)}`);
    } finally {
      on = false;
      await recorder;
      await writerW.stop();
      await writerC.stop();
      await writable.stop();
    }
  });
});
