// No split brain for spread shards (issue 10 item 1), end to end: the compiler's rendered shard 0
// of feed-shards in two shapes, each on a real control plane with the test kubelet running real
// redis-server processes and the controller probing roles:
//   - staging (one member cluster, not spread): the controller bootstraps it, one primary label;
//   - prod-eu-west (the shard is spread over prod-eu-west and prod-eu-central, spec.spread): the
//     controller promotes nothing and wires nothing, says it waits for the federation authority
//     (Warning Event, Primary condition), still labels what the engines report once someone else
//     made a primary, and promotes no replica when that primary dies;
//   - MariaDB: prod billing-db's servers with spec.spread added (what the compiler renders for a
//     MariaDB placed over two member clusters): no bootstrap, and no failover (keepMysqlRoles)
//     when the primary someone else made is killed. (The same servers without spec.spread are
//     bootstrapped in engines-mysql.test.ts and failed over in fault-mysql-failover.test.ts.)
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { MysqlDriver } from '../../controller/engines/mysql/replication.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../schemas/types/index.js';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, pods, rolesSettled, startEngineEnv, type EngineEnv } from './engines-helpers.js';

const SET = 'feed-shards-shard-0';
const stamp = Date.now().toString(36);
const shard0 = (objects: k8s.KubernetesObject[]): k8s.KubernetesObject[] => objects.filter((o) => (o.metadata?.name ?? '').startsWith(SET));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MARIA = 'billing-db-server';
const USER = 'dbadmin';
const PASSWORD = `pw-${process.pid}`;

describe('spread shards: no member cluster promotes on its own', () => {
  let local: EngineEnv;
  let spread: EngineEnv;
  let maria: EngineEnv;
  const clients: Redis[] = [];
  const redis = (host: string): Redis => {
    const c = new Redis({ host, port: 6379, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: false });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const role = async (p: k8s.V1Pod): Promise<{ role: string; replicas: number }> => {
    const info = String(await redis(ipOf(p)).info('replication'));
    return { role: /role:(\w+)/.exec(info)?.[1] ?? '?', replicas: Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) };
  };
  const labels = async (env: EngineEnv): Promise<Array<string | undefined>> => (await pods(env.core, env.namespace, SET)).map((p) => p.metadata?.labels?.[LABELS.role]);

  beforeAll(async () => {
    local = await startEngineEnv({ namespace: `e2e-spread-l-${stamp}`, objects: shard0(loadRendered('staging/staging-eu/db-feed-staging/feed-shards', 'db-feed-staging', `e2e-spread-l-${stamp}`)) });
    spread = await startEngineEnv({ namespace: `e2e-spread-s-${stamp}`, objects: shard0(loadRendered('prod/prod-eu-west/db-feed/feed-shards', 'db-feed', `e2e-spread-s-${stamp}`)) });
    const servers = loadRendered('prod/prod-eu-central/db-billing/billing-db', 'db-billing', `e2e-spread-m-${stamp}`).filter((o) => (o.metadata?.name ?? '').startsWith(MARIA));
    for (const o of servers) if (o.kind === 'InstanceSet') (o as unknown as { spec: Record<string, unknown> }).spec['spread'] = { memberClusters: ['prod-eu-central', 'prod-eu-west'] };
    maria = await startEngineEnv({ namespace: `e2e-spread-m-${stamp}`, objects: servers, secrets: { 'billing-db-admin': { username: USER, password: PASSWORD } } });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await maria?.stop();
    await spread?.stop();
    await local?.stop();
  });

  it('the shard in one member cluster gets a primary; the spread one gets none, and says why', async () => {
    const custom = spread.kc.makeApiClient(k8s.CustomObjectsApi);
    const set = (await custom.getNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: spread.namespace, plural: 'instancesets', name: SET })) as { spec: { spread?: { memberClusters: string[] } } };
    expect(set.spec.spread).toEqual({ memberClusters: ['prod-eu-central', 'prod-eu-west'] });

    const { primary } = await rolesSettled(local.core, local.namespace, SET, 2);
    expect((await role(primary)).role).toBe('master');

    const spreadPods = await allReady(spread.core, spread.namespace, SET, 2);
    // The same set, not spread, was bootstrapped within one or two probe periods (2 s): give the spread one 4.
    await sleep(8_000);
    expect(await labels(spread)).toEqual([undefined, undefined]);
    // Nothing was wired in the engines either: both are still fresh, unreplicated masters.
    for (const p of spreadPods) expect(await role(p)).toEqual({ role: 'master', replicas: 0 });

    const events = spread.kc.makeApiClient(k8s.EventsV1Api);
    const warning = await eventually('a WaitingForFederation Event', async () => {
      const l = await events.listNamespacedEvent({ namespace: spread.namespace });
      return l.items.find((e) => e.reason === 'WaitingForFederation' && e.regarding?.name === SET && e.type === 'Warning');
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(warning.note).toMatch(/prod-eu-central, prod-eu-west.*never promotes.*federation authority/);
    const condition = await eventually('the Primary condition', async () => {
      const s = (await custom.getNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: spread.namespace, plural: 'instancesets', name: SET })) as { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } };
      return s.status?.conditions?.find((c) => c.type === 'Primary');
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(condition).toMatchObject({ status: 'False', reason: 'WaitingForFederation' });
  });

  it('it labels a primary someone else made, and promotes no replica when that primary is killed', async () => {
    const [p0, p1] = await allReady(spread.core, spread.namespace, SET, 2);
    // Stand in for the federation authority: p1 follows p0.
    expect(await redis(ipOf(p1!)).replicaof(ipOf(p0!), '6379')).toBe('OK');
    const { primary } = await rolesSettled(spread.core, spread.namespace, SET, 2, 20_000);
    expect(primary.metadata?.name).toBe(p0!.metadata?.name);

    spread.kubelet.killProcess(p0!.metadata?.name ?? '', 'SIGKILL', { holdMs: 60_000 });
    // Several probe periods with the primary gone (failureThreshold 3 × 2 s): nobody is promoted.
    await sleep(10_000);
    expect((await role(p1!)).role).toBe('slave');
    const after = await pods(spread.core, spread.namespace, SET);
    expect(after.find((p) => p.metadata?.name === p1!.metadata?.name)?.metadata?.labels?.[LABELS.role]).toBe('secondary');
    expect(after.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary').map((p) => p.metadata?.name)).toEqual([p0!.metadata?.name]);
  });

  it('MariaDB: a spread set is not bootstrapped, and the primary someone else made is not failed over when killed', async () => {
    const ps = await allReady(maria.core, maria.namespace, MARIA, 3, 180_000);
    const ip = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
    const readOnly = async (p: k8s.V1Pod): Promise<{ ro: number; replicating: boolean }> => {
      const c = await mysql.createConnection({ host: ip(p), port: 3306, user: USER, password: PASSWORD, connectTimeout: 3_000 });
      try {
        const [[r]] = (await c.query('SELECT @@global.read_only AS ro')) as unknown as [[{ ro: number }]];
        const [rows] = (await c.query('SHOW SLAVE STATUS')) as unknown as [unknown[]];
        return { ro: Number(r.ro), replicating: rows.length > 0 };
      } finally {
        c.destroy();
      }
    };
    // Longer than the not-spread servers take to be bootstrapped and labelled (a few probe periods).
    await sleep(8_000);
    expect((await pods(maria.core, maria.namespace, MARIA)).map((p) => p.metadata?.labels?.[LABELS.role])).toEqual([undefined, undefined, undefined]);
    for (const p of ps) expect(await readOnly(p)).toEqual({ ro: 1, replicating: false });

    // Stand in for the federation authority: server-0 primary, the others follow it.
    const spec: EngineSpec = { type: 'mysql', version: '10.11', port: 3306, replication: { mode: 'semi-sync' } };
    const t = (p: k8s.V1Pod) => ({ podName: p.metadata?.name ?? '', host: ip(p), port: 3306, username: USER, password: PASSWORD });
    const driver = new MysqlDriver();
    try {
      await driver.promote(t(ps[0]!), spec);
      for (const r of ps.slice(1)) await driver.follow(t(r), t(ps[0]!), spec);
    } finally {
      await driver.close();
    }
    const { primary } = await rolesSettled(maria.core, maria.namespace, MARIA, 3, 30_000);
    expect(primary.metadata?.name).toBe(ps[0]!.metadata?.name);

    maria.kubelet.killProcess(ps[0]!.metadata?.name ?? '', 'SIGKILL', { holdMs: 60_000 });
    // failureThreshold 3 × periodSeconds 2: a set that is not spread fails over in ~6 s (fault-mysql-failover).
    await sleep(12_000);
    for (const r of ps.slice(1)) expect((await readOnly(r)).ro, `${r.metadata?.name} was made writable`).toBe(1);
    const after = await pods(maria.core, maria.namespace, MARIA);
    expect(after.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary').map((p) => p.metadata?.name)).toEqual([ps[0]!.metadata?.name]);
  });
});
