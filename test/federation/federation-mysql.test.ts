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
//     new primary; no acknowledged commit is lost;
//   - a partition between the member clusters' pod subnets, healed later: the manager (outside
//     both) still reaches the primary, nothing fails over, the primary acknowledges no commit while
//     its acknowledging replica (in the other member cluster) is cut off, and none acknowledged is
//     lost; the shard's status turns Degraded, saying commits wait for an acknowledgement;
//   - a rolling update across both member clusters: the secondaries of both member clusters
//     replaced first, then one switchover (across member clusters when the primary is alone in
//     its own), then the old primary; the order is recorded and checked;
//   - the same with the manager, as a child process, SIGKILLed 10 times during the update, one of
//     the kills in the hand-over.
// Every scenario prints its duration, the time until one healthy primary serves again, and the
// commits acknowledged / lost.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederationManager, type RunningFederationManager } from '../../controller/federation/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { allReady, loadRendered, serviceAddresses } from '../e2e/engines-helpers.js';
import { missingMysqlRows, overlappingPrimaries, startMysqlWriter } from '../e2e/writers.js';
import { ensureControllerBuilt } from '../e2e/controller-helpers.js';
import { createRenderedFederation, killWatch, managerChildren, nextKillInstant, planOrder, podsEverywhere as podsEverywhere_, rollingOrderProblem, rolloutInPlanTerms, shardStatus, timedOrder, watchRollout } from './federation-helpers.js';
import { FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const SET = 'payments-db-server';
const NS = `fed-mysql-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const AUTH = { user: 'dbadmin', password: `pw-${process.pid}` };
// Applications write with an account of their own: the admin account (the controller's and the
// manager's) has READ_ONLY ADMIN, so read_only and the switchover's fence do not stop its writes
// and a client using it commits on a demoted old primary (errant transactions: it cannot replicate).
const APP = { user: 'app', password: `app-${process.pid}` };
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
  const startManager = async (): Promise<RunningFederationManager> =>
    await startFederationManager({ kubeconfig: env.federation.kubeconfigPath, secretsNamespace: FEDERATION_NAMESPACE, namespace: NS, periodMs: 500, log: makeLogger(process.env['DBTOPO_E2E_DEBUG'] !== undefined ? 'info' : 'warn') });

  async function podsEverywhere(): Promise<Array<{ member: string; pod: k8s.V1Pod }>> {
    const out = await podsEverywhere_(env, SET);
    for (const { pod } of out) if (pod.status?.podIP) ips.set(pod.metadata?.name ?? '', pod.status.podIP);
    return out;
  }

  /** Most servers writable (read_only off) at one instant, polled every 200 ms. */
  function watchWritable(): { stop(): Promise<number> } {
    let most = 0;
    let on = true;
    // Pod addresses change when pods are replaced: refreshed in the background (a frozen API server must not slow the polls).
    let refreshing: Promise<unknown> | undefined;
    const loop = (async () => {
      while (on) {
        refreshing ??= podsEverywhere().catch(() => undefined).finally(() => (refreshing = undefined));
        const writable = await Promise.all([...ips.values()].map(async (ip) => (await query<{ ro: number }>(ip, 'SELECT @@global.read_only AS ro').then((r) => (Number(r[0]?.ro) === 0 ? 1 : 0), () => 0))));
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

  /** Exactly one primary label across the member clusters, on `primary`, and every member cluster's -primary Service pointing at it. */
  async function onePrimaryEverywhere(primary: string): Promise<void> {
    await eventually(`exactly one primary label, on ${primary}`, async () => {
      const all = await podsEverywhere();
      const p = all.filter((x) => x.pod.metadata?.labels?.[LABELS.role] === 'primary').map((x) => x.pod.metadata?.name);
      return all.length === 3 && p.length === 1 && p[0] === primary ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    for (const m of [WEST, CENTRAL]) {
      await eventually(`${m} -primary → ${primary}`, async () => {
        const a = await serviceAddresses(env.member(m).kc, NS, `${SET}-primary`);
        return a.length === 1 && a[0] === ips.get(primary) ? true : undefined;
      }, { timeoutMs: 20_000, intervalMs: 250 });
    }
  }

  /** Waits (bounded) for the shard's state Healthy (with `primary` when given); the timeout says what the Federation said last. */
  async function healthy(what: string, primary: string | undefined, timeoutMs: number): Promise<NonNullable<Awaited<ReturnType<typeof fedShard>>>> {
    let last: Awaited<ReturnType<typeof fedShard>>;
    try {
      return await eventually(what, async () => {
        last = await fedShard();
        return last?.state === 'Healthy' && last.primary !== undefined && (primary === undefined || last.primary.pod === primary) ? last : undefined;
      }, { timeoutMs, intervalMs: 250 });
    } catch (err) {
      throw new Error(`${String(err)}; the Federation last said: ${JSON.stringify(last ?? {}).slice(0, 1500)}`);
    }
  }

  async function table(name: string): Promise<string> {
    const p = (await fedShard())?.primary?.pod ?? '';
    await query(ips.get(p)!, `CREATE TABLE IF NOT EXISTS pay.${name} (id INT PRIMARY KEY)`);
    return `pay.${name}`;
  }

  /** The change Git brings to both member clusters (as Argo CD syncs it): a new pod template. */
  async function changeTemplate(value: string): Promise<void> {
    for (const m of [WEST, CENTRAL]) {
      await env.member(m).kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
        { group: 'dbtopo.dev', version: 'v1alpha1', namespace: NS, plural: 'instancesets', name: SET, body: { spec: { template: { metadata: { annotations: { 'dbtopo.dev/test-rollout': value } } } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
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
    manager = await startManager();
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
    await query(ips.get(`${SET}-0`)!, `CREATE USER IF NOT EXISTS ${APP.user} IDENTIFIED BY '${APP.password}'`);
    await query(ips.get(`${SET}-0`)!, `GRANT SELECT, INSERT ON pay.* TO ${APP.user}`);
    process.stderr.write(`[federation] MariaDB bootstrap: one healthy primary across 2 member clusters in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  });

  it('a partition between the member clusters\' pod subnets, healed later: no failover, no commit acknowledged while the acknowledging replica is cut off (the status says commits wait), none lost', async () => {
    const t0 = performance.now();
    expect((await fedShard())?.primary?.pod).toBe(`${SET}-0`);
    const [tc, tw] = [await table('part_c'), await table('part_w')];
    const writer = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, APP, tc, { semiSync: true });
    const writerW = startMysqlWriter(env.member(WEST).kc, NS, `${SET}-primary`, APP, tw, { semiSync: true });
    await eventually('commits acknowledged', async () => (writer.firstAckAfter(0) !== undefined && writerW.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const watch = watchWritable();
    const primariesSeen = new Set<string>();
    const states = new Set<string>();
    // MariaDB reports no replica lag while the acknowledging replica is cut off (it receives
    // nothing); the status says so from the commits waiting on the primary.
    let stalledAt: number | undefined;
    let stalledSaid = '';
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const x = await fedShard().catch(() => undefined);
        if (x?.primary?.pod !== undefined) primariesSeen.add(x.primary.pod);
        if (x?.state !== undefined) states.add(x.state);
        if (x?.state === 'Degraded' && stalledAt === undefined && /semi-sync acknowledgement/.test(x.message ?? '')) {
          stalledAt = performance.now();
          stalledSaid = x.message ?? '';
        }
        await sleep(250);
      }
    })();
    const cut = performance.now();
    env.partition(WEST, CENTRAL);
    let healed = Infinity;
    try {
      // The primary's only acknowledging replica (payments-db-server-2, the other member cluster)
      // is cut off; its local replica does not acknowledge: commits wait, none is acknowledged.
      await sleep(10_000);
    } finally {
      env.heal();
      healed = performance.now();
    }
    const ackedDuring = [writer, writerW].map((w) => w.firstAckAfter(cut + 1_000)).filter((t): t is number => t !== undefined && t < healed);
    await healthy('Healthy again', `${SET}-0`, 60_000);
    const servedAt = await eventually('commits acknowledged again', async () => {
      const a = writer.firstAckAfter(healed);
      const b = writerW.firstAckAfter(healed);
      return a !== undefined && b !== undefined ? Math.min(a, b) : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    await onePrimaryEverywhere(`${SET}-0`);
    polling = false;
    await poll;
    const report = await writer.stop();
    const reportW = await writerW.stop();
    const most = await watch.stop();
    const lost = [...(await missingMysqlRows(ips.get(`${SET}-0`)!, AUTH, tc, report.acked)), ...(await missingMysqlRows(ips.get(`${SET}-0`)!, AUTH, tw, reportW.acked))];
    process.stderr.write(
      `[federation] MariaDB pod-subnet partition for ${((healed - cut) / 1000).toFixed(1)} s: primaries recorded ${[...primariesSeen].join(', ')}, states ${[...states].join(', ')}${stalledAt !== undefined ? ` (Degraded ${((stalledAt - cut) / 1000).toFixed(1)} s after the cut: ${stalledSaid})` : ''}; commits acknowledged during it: ${ackedDuring.length}; acknowledged again ${((servedAt - healed) / 1000).toFixed(1)} s after the heal; ${report.acked.length + reportW.acked.length} acknowledged, ${lost.length} lost, ${report.failures + reportW.failures} refused or failed; scenario ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    expect([...primariesSeen], 'a failover during the partition').toEqual([`${SET}-0`]);
    expect(stalledAt, `the status said commits wait for an acknowledgement (states ${[...states].join(', ')})`).toBeDefined();
    expect(stalledAt! - cut, 'Degraded within 6 s of the cut').toBeLessThan(6_000);
    expect(ackedDuring, 'a commit acknowledged while the acknowledging replica was cut off').toEqual([]);
    expect(most, 'two servers writable at once').toBeLessThanOrEqual(1);
    expect(overlappingPrimaries([report, reportW])).toBeUndefined();
    expect(lost, 'acknowledged commits lost').toEqual([]);
  });

  it('the primary member cluster lost, then back: failover to the other member cluster, no acknowledged commit lost', async () => {
    const writer = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, APP, 'pay.w', { semiSync: true });
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
    const settled = await healthy('Healthy with the primary in prod-eu-central', `${SET}-2`, 120_000);
    expect(settled.primary?.memberCluster).toBe(CENTRAL);
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
  /**
   * A rolling update across both member clusters with a client writing in each (`kills`: the
   * manager, a child process, SIGKILLed that many times while it runs: right after a step, 1–3 s
   * after the last kill, and one in the hand-over: nextKillInstant). Checks the order rule, one primary at the end with every -primary Service on it, never
   * two servers writable at once, no acknowledged commit lost.
   */
  async function rollingUpdate(value: string, kills: number): Promise<void> {
    if (kills > 0) {
      const b = performance.now();
      ensureControllerBuilt(); // dist/controller/main.js for the children: a build when the sources are newer
      process.stderr.write(`[federation] manager binary ready in ${((performance.now() - b) / 1000).toFixed(1)} s\n`);
    }
    const t0 = performance.now();
    if (kills === 0) manager ??= await startManager();
    const before = await healthy('Healthy before the update', undefined, 60_000);
    await podsEverywhere();
    const tag = `roll${value}`;
    const [tc, tw] = [await table(`${tag}_c`), await table(`${tag}_w`)];
    const writerC = startMysqlWriter(env.member(CENTRAL).kc, NS, `${SET}-primary`, APP, tc, { semiSync: true });
    const writerW = startMysqlWriter(env.member(WEST).kc, NS, `${SET}-primary`, APP, tw, { semiSync: true });
    await eventually('commits acknowledged', async () => (writerC.firstAckAfter(0) !== undefined && writerW.firstAckAfter(0) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const watch = watchWritable();
    const rollout = await watchRollout(env, 'payments-db', SET);
    expect(rollout.oldPrimary).toBe(before.primary!.pod);
    const children = kills > 0 ? managerChildren(env, NS) : undefined;
    if (children !== undefined) {
      await manager?.stop();
      manager = undefined;
      children.spawn();
    }
    const started = performance.now();
    await changeTemplate(value);
    let killed = 0;
    let killedBeforeDone = 0;
    const killTimes: number[] = [];
    const killWhy: string[] = [];
    let record: Awaited<ReturnType<typeof rollout.stop>> | undefined;
    const killAt = killWatch([rollout]);
    try {
      for (; killed < kills; killed++) {
        // Right after a step (a replacement, the record moved) or 1–3 s after the last kill;
        // until one kill fell in the hand-over, and while it is next, at the hand-over; the last
        // kill waits for it if none did (nextKillInstant).
        const why = await nextKillInstant(killAt, killWhy.includes('hand-over') ? 'no' : killed === kills - 1 ? 'wait' : 'if-next');
        if (rollout.replaced() < 3) killedBeforeDone++;
        killTimes.push(performance.now());
        killWhy.push(why);
        await children!.killAll();
        children!.spawn();
      }
      await eventually('every pod replaced, one primary, Healthy', async () => {
        const x = await fedShard();
        return rollout.replaced() === 3 && x?.state === 'Healthy' ? true : undefined;
      }, { timeoutMs: 240_000, intervalMs: 500 });
    } catch (err) {
      record = await rollout.stop();
      throw new Error(`${String(err)}; order: ${record.order.join(', ')}; Federation: ${JSON.stringify((await fedShard().catch(() => undefined)) ?? {}).slice(0, 1500)}`);
    } finally {
      record ??= await rollout.stop();
      await children?.killAll();
    }
    const done = performance.now();
    manager ??= await startManager();
    const after = (await fedShard())!;
    await podsEverywhere();
    await onePrimaryEverywhere(after.primary!.pod);
    const reportC = await writerC.stop();
    const reportW = await writerW.stop();
    const most = await watch.stop();
    const p = ips.get(after.primary!.pod)!;
    const lost = [...(await missingMysqlRows(p, AUTH, tc, reportC.acked)), ...(await missingMysqlRows(p, AUTH, tw, reportW.acked))];
    const gap = Math.max(reportC.longestGapMs, reportW.longestGapMs);
    process.stderr.write(
      `[federation] MariaDB rolling update across member clusters${kills > 0 ? ` with the manager SIGKILLed ${killed} times (${killedBeforeDone} before the last pod was replaced; at ${killTimes.map((t, i) => `+${((t - started) / 1000).toFixed(1)}${killWhy[i] === 'step' ? '*' : killWhy[i] === 'hand-over' ? '!' : ''}`).join(', ')} s, * after a step, ! in a hand-over)` : ''} in ${((done - started) / 1000).toFixed(1)} s: ${timedOrder(record, started)}; longest stretch without an acknowledged commit ${(gap / 1000).toFixed(1)} s; ${reportC.acked.length + reportW.acked.length} acknowledged, ${lost.length} lost, ${reportC.failures + reportW.failures} refused or failed; scenario ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    expect(rollingOrderProblem(record.order, rollout.pods, rollout.oldPrimary, { exactlyOneSwitchover: kills === 0 })).toBeUndefined();
    if (kills === 0) {
      // The recorded order, step by step, is the plan's DAG for the same change (dbtopo plan's code).
      const withTemplateChange = (o: k8s.KubernetesObject): k8s.KubernetesObject => {
        if (o.kind !== 'InstanceSet' || o.metadata?.name !== SET) return o;
        const c = structuredClone(o) as k8s.KubernetesObject & { spec: { template: { metadata?: { annotations?: Record<string, string> } } } };
        c.spec.template.metadata = { ...c.spec.template.metadata, annotations: { ...c.spec.template.metadata?.annotations, 'dbtopo.dev/test-rollout': value } };
        return c;
      };
      const fed = loadRendered('prod/_federation/db-payments/payments-db', 'db-payments', NS).find((o) => o.kind === 'Federation')!;
      const planned = planOrder('payments-db', new Map([WEST, CENTRAL].map((m) => [m, servers(m)])), fed, withTemplateChange);
      expect(planned).toEqual([`update-secondaries@${WEST}`, `update-secondaries@${CENTRAL}`, 'switchover@_federation', 'update-primary@_federation']);
      const { recorded, expected } = rolloutInPlanTerms(record.order, rollout.memberOf, rollout.oldPrimary, planned);
      expect(recorded, record.order.join(', ')).toEqual(expected);
    }
    expect(after.primary!.pod).not.toBe(rollout.oldPrimary);
    // status.step said what ran while it ran (kubectl get dbfed: STEP, STATE).
    if (kills === 0) expect(record.steps.some((x) => x.endsWith(' Running')), record.steps.join(', ')).toBe(true);
    expect(most, 'two servers writable at once').toBeLessThanOrEqual(1);
    if (kills > 0) expect(killWhy.filter((w) => w === 'hand-over').length, `kills in a hand-over (${killWhy.join(', ')})`).toBeGreaterThanOrEqual(1);
    expect(overlappingPrimaries([reportC, reportW])).toBeUndefined();
    expect(lost, 'acknowledged commits lost').toEqual([]);
  }

  it('a rolling update across member clusters: the secondaries of both first, then one switchover, then the old primary', async () => {
    await rollingUpdate('1', 0);
  });

  it('the manager SIGKILLed 10 times during a rolling update across member clusters: the order kept, one primary, no acknowledged commit lost', async () => {
    await rollingUpdate('2', 10);
  });
});
