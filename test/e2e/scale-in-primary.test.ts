// The pod holding the primary is never removed as the primary (controller/reconcile/instanceset/
// plan.ts): on the rendered semi-sync MariaDB orders-db (3 servers, real mariadbd through the test
// kubelet, the admission guard in force), (1) offlineInstances names the primary and (2) a scale-in
// would remove the pod holding the primary. Each time the controller switches over to a
// pod that stays first and removes the pod only once it is a secondary. A 100 ms watcher checks
// that no pod was ever terminating while labelled primary and never two primaries; a semi-sync
// writer behind the -primary Service runs throughout and loses no acknowledged commit.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSwitchover } from '../../compiler/cli/switchover.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually, testKubeconfigs } from '../cluster/helpers.js';
import { allReady, loadRendered, onePrimaryServed, pods, startEngineEnv, type EngineEnv } from './engines-helpers.js';
import { ADMIN_USER, createAppAccount, createTable, type MysqlAuth } from './mysql-fault-helpers.js';
import { eventReasons } from './rollout-helpers.js';
import { missingMysqlRows, settleAndCountLost, startMysqlWriter } from './writers.js';

const NS = `scalein-${Date.now().toString(36)}`;
const SET = 'orders-db-server';
const ADMIN: MysqlAuth = { user: ADMIN_USER, password: `pw-${process.pid}` };
const APP: MysqlAuth = { user: 'app', password: `app-${process.pid}` };

let env: EngineEnv;
let client: KubeClient;
const nameOf = (p: k8s.V1Pod): string => p.metadata?.name ?? '';
const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';

/** Samples every pod of the set (terminating ones too) every 100 ms: what a removal looked like. */
/**
 * Watches the set's pods (a watch, not a poll: the test kubelet confirms a deletion within
 * milliseconds, so a poll can miss a pod's last state): every pod deleted, with the role label it
 * carried when its deletion began (deletionTimestamp set, or the DELETED event for an immediate
 * delete), and the most pods labelled primary at once.
 */
function watchRemovals(): { stop(): Promise<{ deletedAsPrimary: string[]; maxPrimaries: number; deleted: string[] }> } {
  const seen = { deletedAsPrimary: [] as string[], maxPrimaries: 0, deleted: [] as string[] };
  const live = new Map<string, string | undefined>(); // name@uid → role, of pods not being deleted
  const removed = (id: string, role: string | undefined): void => {
    live.delete(id);
    if (seen.deleted.includes(id)) return;
    seen.deleted.push(id);
    if (role === 'primary') seen.deletedAsPrimary.push(id);
  };
  const onEvent = (type: string, p: k8s.V1Pod): void => {
    const id = `${nameOf(p)}@${p.metadata?.uid}`;
    const role = p.metadata?.labels?.[LABELS.role];
    if (type === 'DELETED' || p.metadata?.deletionTimestamp !== undefined) removed(id, role);
    else live.set(id, role);
    seen.maxPrimaries = Math.max(seen.maxPrimaries, [...live.values()].filter((r) => r === 'primary').length);
  };
  let stopping = false;
  let failed: unknown;
  const started = new k8s.Watch(env.kc)
    .watch(`/api/v1/namespaces/${NS}/pods`, { labelSelector: `${LABELS.instanceSet}=${SET}` }, onEvent, (err) => {
      if (!stopping) failed ??= err ?? 'the server closed it';
    });
  return {
    stop: async () => {
      stopping = true;
      (await started).abort();
      // A watch that ended on its own missed events: the test must not pass on a partial view.
      if (failed !== undefined) throw new Error(`pod watch ended early: ${String(failed)}`);
      return seen;
    },
  };
}

/** Changes the spec as the GitOps sync would. */
async function patchSpec(spec: Record<string, unknown>): Promise<void> {
  await client.mergePatch(resourcePath('InstanceSet', NS, SET), { spec }, 'dbtopo-test');
}

/** Runs `change` with a writer and the watcher; returns the primary after, checked for lost commits. */
async function underChange(table: string, change: (primary: k8s.V1Pod) => Promise<string>, live: number): Promise<{ before: string; after: string; seen: Awaited<ReturnType<ReturnType<typeof watchRemovals>['stop']>> }> {
  const primary = await onePrimaryServed(env, SET, 3, 120_000);
  await createTable(ipOf(primary), ADMIN, table);
  const w = startMysqlWriter(env.kc, NS, `${SET}-primary`, APP, table, { semiSync: true });
  const watch = watchRemovals();
  let seen: Awaited<ReturnType<ReturnType<typeof watchRemovals>['stop']>>;
  let after: k8s.V1Pod;
  const t0 = performance.now();
  try {
    await eventually('acknowledged commits before the change', async () => (w.firstAckAfter(t0) !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    const removed = await change(primary);
    await eventually(`${removed} gone`, async () => ((await env.core.listNamespacedPod({ namespace: NS, labelSelector: `${LABELS.instanceSet}=${SET}` })).items.some((p) => nameOf(p) === removed) ? undefined : true), { timeoutMs: 120_000, intervalMs: 250 }).catch(async (err: unknown) => {
      const labels = (await env.core.listNamespacedPod({ namespace: NS, labelSelector: `${LABELS.instanceSet}=${SET}` })).items.map((p) => `${nameOf(p)}=${p.metadata?.labels?.[LABELS.role] ?? '-'}`);
      throw new Error(`${err instanceof Error ? err.message : String(err)}; pods ${labels.join(' ')}; events:\n  ${(await eventReasons(env, SET)).join('\n  ')}`);
    });
    after = await onePrimaryServed(env, SET, live, 60_000);
  } finally {
    seen = await watch.stop();
  }
  const { report, missing } = await settleAndCountLost(w, async (acked) => await missingMysqlRows(ipOf(after), ADMIN, table, acked), { settleMs: 5_000 });
  console.log(`[scale-in-primary] ${table}: primary ${nameOf(primary)} → ${nameOf(after)} in ${(performance.now() - t0).toFixed(0)} ms; removed ${seen.deleted.join(', ')}; writer ${report.acked.length} acknowledged / ${report.failures} failed, longest gap ${report.longestGapMs.toFixed(0)} ms; lost ${missing.length}`);
  expect(report.acked.length).toBeGreaterThan(0);
  expect(missing).toEqual([]);
  return { before: nameOf(primary), after: nameOf(after), seen };
}

beforeAll(async () => {
  env = await startEngineEnv({
    namespace: NS,
    objects: loadRendered('prod/prod-eu-west/db-commerce/orders-db', 'db-commerce', NS),
    secrets: { 'orders-db-admin': { username: ADMIN.user, password: ADMIN.password } },
  });
  client = new KubeClient(env.kc);
  await allReady(env.core, NS, SET, 3, 180_000);
  await createAppAccount(ipOf(await onePrimaryServed(env, SET, 3, 120_000)), ADMIN, APP, 'scalein.w');
}, 300_000);
afterAll(async () => {
  client?.close();
  await env?.stop();
});

describe('the primary is moved away before its pod is removed', () => {
  it('(1) offlineInstances names the primary: switchover to a pod that stays, then the pod goes as a secondary', async () => {
    const r = await underChange('scalein.w1', async (primary) => {
      await patchSpec({ offlineInstances: [nameOf(primary)] });
      return nameOf(primary);
    }, 2);
    expect(r.after).not.toBe(r.before);
    expect(r.seen.deleted.map((d) => d.split('@')[0])).toEqual([r.before]);
    expect(r.seen.deletedAsPrimary).toEqual([]);
    expect(r.seen.maxPrimaries).toBe(1);
    const events = await eventReasons(env, SET);
    expect(events.filter((e) => e.includes(`before removing ${r.before}`))).toEqual([expect.stringMatching(/^Switchover: moving the primary away from/)]);
    // back to three: the offline pod returns (as a secondary; the primary stays where it went)
    await patchSpec({ offlineInstances: [] });
    await allReady(env.core, NS, SET, 3, 120_000);
    expect(nameOf(await onePrimaryServed(env, SET, 3, 120_000))).toBe(r.after);
  }, 300_000);

  it('(2) scale-in that would remove the primary: switchover first, then 3 → 2 removes it as a secondary', async () => {
    // orders-db pins its heterogeneous "reporting" instance to ordinal 2, so 3 → 2 removes the
    // default template's highest ordinal, 1: make that the primary first.
    const highest = `${SET}-1`;
    if (nameOf(await onePrimaryServed(env, SET, 3, 60_000)) !== highest) {
      const lines: string[] = [];
      // an engineer's dbtopo switchover (the guard lets anyone file the request annotation)
      const code = await runSwitchover(SET, { to: highest, namespace: NS, kubeconfig: testKubeconfigs()['member-a']!, timeout: '90' }, (l) => lines.push(l));
      expect(code, lines.join('\n')).toBe(0);
    }
    const r = await underChange('scalein.w2', async () => {
      await patchSpec({ replicas: 2 });
      return highest;
    }, 2);
    expect(r.before).toBe(highest);
    expect(r.after).not.toBe(highest);
    expect(r.seen.deleted.map((d) => d.split('@')[0])).toEqual([highest]);
    expect(r.seen.deletedAsPrimary).toEqual([]);
    expect(r.seen.maxPrimaries).toBe(1);
    expect((await pods(env.core, NS, SET)).map(nameOf)).toEqual([`${SET}-0`, `${SET}-2`]);
  }, 300_000);
});
