// The federation manager with MariaDB semi-sync, on real parts: the example's payments-db as the
// compiler renders it for prod — servers 0–1 in prod-eu-west (control plane member-a), server 2 in
// prod-eu-central (member-b), one flat pod network — and its rendered Federation on a federation
// API server. It shows:
//   - bootstrap: one primary across both member clusters, and semi-sync acknowledgements only from
//     the replica in the other member cluster (the replica next to the primary does not
//     acknowledge), so an acknowledged commit is always in another member cluster;
//   - the primary's whole member cluster lost (every engine killed, API server frozen) with a
//     client writing throughout: the manager fails over to the other member cluster, never two
//     engines writable at once, and once the lost member cluster is back its servers follow the
//     new primary; no acknowledged commit is lost. The times are printed.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingMysqlRows, overlappingPrimaries, startMysqlWriter } from '../e2e/writers.js';
import { createRenderedFederation, podsEverywhere as podsEverywhere_, shardStatus } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const SET = 'payments-db-server';
const NS = `fed-mysql-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const AUTH = { user: 'dbadmin', password: `pw-${process.pid}` };
const KINDS = new Set(['InstanceSet', 'ConfigMap', 'Service', 'PodDisruptionBudget', 'Secret']);
const servers = (member: string): k8s.KubernetesObject[] =>
  loadRendered(`prod/${member}/db-payments/payments-db`, 'db-payments', NS).filter((o) => (o.metadata?.name ?? '').startsWith(SET) && KINDS.has(o.kind ?? ''));

async function query<T = Record<string, unknown>>(host: string, sql: string): Promise<T[]> {
  const c = await mysql.createConnection({ host, port: 3306, user: AUTH.user, password: AUTH.password, connectTimeout: 2_000 });
  try {
    const [rows] = await c.query({ sql, timeout: 5_000 });
    return rows as T[];
  } finally {
    c.destroy();
  }
}

describe('federation manager: MariaDB semi-sync spread over two member clusters', () => {
  let env: FederationEnv;
  let manager: RunningFederationManager | undefined;
  const ips = new Map<string, string>();
  const fedShard = async () => await shardStatus(env, 'payments-db', SET);

  async function podsEverywhere(): Promise<Array<{ member: string; pod: k8s.V1Pod }>> {
    const out = await podsEverywhere_(env, SET);
    for (const { pod } of out) if (pod.status?.podIP) ips.set(pod.metadata?.name ?? '', pod.status.podIP);
    return out;
  }

  /** Most servers writable (read_only off) at one instant, polled every 200 ms. */
  function watchWritable(): { stop(): Promise<number> } {
    let most = 0;
    let on = true;
    const loop = (async () => {
      while (on) {
        const writable = await Promise.all([...ips.values()].map(async (ip) => (await query<{ ro: number }>(ip, 'SELECT @@global.read_only AS ro').then((r) => (Number(r[0]?.ro) === 0 ? 1 : 0), () => 0))));
        most = Math.max(most, writable.reduce<number>((a, b) => a + b, 0));
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
    await podsEverywhere();
  });

  afterAll(async () => {
    await manager?.stop();
    await env?.federation.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: NS }).catch(() => undefined);
    await env?.stop();
  });

  it('bootstraps one primary across the member clusters; only the replica in the other member cluster acknowledges commits', async () => {
    const t0 = performance.now();
    manager = await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });
    const s = await eventually('the Federation Healthy', async () => {
      const x = await fedShard();
      return x?.state === 'Healthy' ? x : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    expect(s.primary).toEqual({ memberCluster: WEST, pod: `${SET}-0` });
    const side = async (pod: string): Promise<number> => Number((await query<{ s: number }>(ips.get(pod)!, 'SELECT @@global.rpl_semi_sync_slave_enabled AS s'))[0]?.s);
    expect(await side(`${SET}-1`)).toBe(0);
    expect(await side(`${SET}-2`)).toBe(1);
    await eventually('one primary label across both member clusters', async () => {
      const roles = Object.fromEntries((await podsEverywhere()).map((x) => [x.pod.metadata?.name, x.pod.metadata?.labels?.[LABELS.role]]));
      return roles[`${SET}-0`] === 'primary' && roles[`${SET}-1`] === 'secondary' && roles[`${SET}-2`] === 'secondary' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    await eventually('prod-eu-central -primary → the primary in prod-eu-west', async () => {
      const a = await serviceAddresses(env.member(CENTRAL).kc, NS, `${SET}-primary`);
      return a.length === 1 && a[0] === ips.get(`${SET}-0`) ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    await query(ips.get(`${SET}-0`)!, 'CREATE DATABASE IF NOT EXISTS pay');
    await query(ips.get(`${SET}-0`)!, 'CREATE TABLE IF NOT EXISTS pay.w (id INT PRIMARY KEY)');
    process.stderr.write(`[federation] MariaDB bootstrap: one healthy primary across 2 member clusters in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  it('the primary member cluster lost, then back: failover to the other member cluster, no acknowledged commit lost', async () => {
    const writer = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, AUTH, 'pay.w', { semiSync: true });
    await eventually('commits acknowledged', async () => (writer.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    await sleep(1_000);
    const watch = watchWritable();
    const lost = performance.now();
    expect(env.killEngines(WEST).length).toBe(2);
    env.stopApiServer(WEST);
    await eventually('the primary recorded in prod-eu-central', async () => ((await fedShard())?.primary?.pod === `${SET}-2` ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    const decided = performance.now();
    process.stderr.write(`[federation] MariaDB member cluster lost: the primary moved to the other member cluster after ${((decided - lost) / 1000).toFixed(1)} s\n`);
    const back = performance.now();
    await env.resumeApiServer(WEST);
    env.releaseEngines(WEST);
    const healthy = await eventually('Healthy with the primary in prod-eu-central', async () => {
      const x = await fedShard();
      return x?.state === 'Healthy' && x.primary?.pod === `${SET}-2` ? x : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    expect(healthy.primary?.memberCluster).toBe(CENTRAL);
    await eventually('exactly one primary label', async () => {
      const all = await podsEverywhere();
      const roles = all.map((x) => `${x.pod.metadata?.name}=${x.pod.metadata?.labels?.[LABELS.role] ?? ''}`).sort();
      return roles.join(',') === [`${SET}-0=secondary`, `${SET}-1=secondary`, `${SET}-2=primary`].join(',') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const servedAt = await eventually('commits acknowledged again', async () => writer.firstAckAfter(back), { timeoutMs: 60_000, intervalMs: 200 });
    const report = await writer.stop();
    const most = await watch.stop();
    process.stderr.write(`[federation] MariaDB member cluster back: acknowledged commits again ${((servedAt - back) / 1000).toFixed(1)} s after its return (${((servedAt - lost) / 1000).toFixed(1)} s after the loss); ${report.acked.length} acknowledged, ${report.failures} refused or failed\n`);
    expect(most, 'two servers writable at once').toBeLessThanOrEqual(1);
    expect(overlappingPrimaries([report])).toBeUndefined();
    expect(await missingMysqlRows(ips.get(`${SET}-2`)!, AUTH, 'pay.w', report.acked), 'acknowledged commits lost').toEqual([]);
  });
});
