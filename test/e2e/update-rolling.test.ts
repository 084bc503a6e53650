// Rolling update end to end: a template change on a 3-member MariaDB (billing-db) and a 3-member
// Redis + Sentinel (sessions-cache) from the rendered prod manifests, on a real control plane
// with the test kubelet and the controller. Secondaries are replaced first, then the primary
// hands its role off (switchover) and is replaced last; Events say what happens. The rendered
// admission guard is in force: the objects come as the GitOps sync, the controller acts as its
// ServiceAccount, and its whole rollout and switchover pass the guard untouched.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { runSwitchover } from '../../compiler/cli/switchover.js';
import { eventually, testKubeconfigs } from '../cluster/helpers.js';
import { GUARD_ANNOTATIONS, LABELS, type InstanceSetStatus } from '../../schemas/types/index.js';
import { allReady, loadRendered, pods, rolesSettled, startEngineEnv, type EngineEnv } from './engines-helpers.js';
import { eventReasons, rollOut } from './rollout-helpers.js';

/** Polls the InstanceSet's Updated condition (every 250 ms) and keeps each distinct message. */
function watchUpdatedCondition(env: EngineEnv, set: string): { messages: string[]; stop: () => Promise<void> } {
  const client = new KubeClient(env.kc);
  const messages: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped && i < 2_000; i++) {
      const is = (await client.get(resourcePath('InstanceSet', env.namespace, set)).catch(() => undefined)) as { status?: { conditions?: Array<{ type: string; message?: string }> } } | undefined;
      const m = is?.status?.conditions?.find((c) => c.type === 'Updated')?.message;
      if (m !== undefined && messages.at(-1) !== m) messages.push(m);
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  return {
    messages,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * With the admission guard in force (startEngineEnv's default): the controller has marked the
 * primary, and only it, prevent-delete; deleting it as anyone else (here the GitOps identity the
 * test acts as) is refused by the guard's primary-protected rule.
 */
async function expectGuardedPrimary(env: EngineEnv, set: string): Promise<void> {
  const primary = await eventually('only the primary marked prevent-delete', async () => {
    const ps = await pods(env.core, env.namespace, set);
    const marked = ps.filter((p) => p.metadata?.annotations?.[GUARD_ANNOTATIONS.preventDelete] === 'true').map((p) => p.metadata?.name);
    const primaries = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary').map((p) => p.metadata?.name);
    return marked.length === 1 && primaries.length === 1 && marked[0] === primaries[0] ? marked[0] : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 });
  await expect(env.core.deleteNamespacedPod({ namespace: env.namespace, name: primary ?? '' })).rejects.toThrow(/dbtopo guard \[primary-protected\]/);
}

function check(r: Awaited<ReturnType<typeof rollOut>>, label: string, events: string[]): void {
  console.log(`[update-rolling] ${label}: rollout ${r.ms} ms; order ${r.replaced.map((x) => `${x.pod}(${x.roleWhenDeleted ?? 'none'} @${x.atMs} ms)`).join(' → ')}; primary ${r.primaryBefore} → ${r.primaryAfter}`);
  console.log(`[update-rolling] ${label} events:\n  ${events.filter((e) => /Switchover|RollingUpdate|UpdateWaiting/.test(e)).join('\n  ')}`);
  // Secondaries first; the pod that was primary is replaced last, and only after it handed off
  // its role. The controller's RollingUpdate Events name the role the pod had when it was deleted
  // (our 200 ms polling may not have seen the relabel that happened just before).
  expect(r.replaced.map((x) => x.pod).at(-1)).toBe(r.primaryBefore);
  expect(r.replaced.slice(0, -1).every((x) => x.roleWhenDeleted === 'secondary')).toBe(true);
  const updates = events.filter((e) => e.startsWith('RollingUpdate'));
  expect(updates).toHaveLength(3);
  for (const e of updates) expect(e).toMatch(/^RollingUpdate: replacing secondary /);
  expect(updates.some((e) => e.includes(`replacing secondary ${r.primaryBefore}:`))).toBe(true);
  expect(r.primaryAfter).not.toBe(r.primaryBefore);
  expect(events.some((e) => e.startsWith(`SwitchoverDone: primary moved from ${r.primaryBefore} `))).toBe(true);
}

describe('rolling update of a 3-member MariaDB', () => {
  const NS = `upd-mysql-${Date.now().toString(36)}`;
  let env: EngineEnv;
  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-central/db-billing/billing-db', 'db-billing', NS),
      secrets: { 'billing-db-admin': { username: 'dbadmin', password: `pw-${process.pid}` } },
    });
    await allReady(env.core, NS, 'billing-db-server', 3, 180_000);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('replaces the secondaries first, switches over, replaces the old primary last', async () => {
    const watcher = watchUpdatedCondition(env, 'billing-db-server');
    let r;
    try {
      r = await rollOut(env, 'billing-db-server', 3, 240_000);
    } finally {
      await watcher.stop();
    }
    check(r, 'mariadb', await eventReasons(env, 'billing-db-server'));
    await expectGuardedPrimary(env, 'billing-db-server');
    // Status says why the rollout waits while it runs, and nothing once every pod is updated.
    console.log(`[update-rolling] mariadb Updated condition messages seen:\n  ${watcher.messages.join('\n  ')}`);
    expect(watcher.messages.some((m) => /^\d\/3 pods at the update revision/.test(m))).toBe(true);
    await eventually('Updated condition gone after the rollout', async () => {
      const is = (await new KubeClient(env.kc).get(resourcePath('InstanceSet', NS, 'billing-db-server'))) as { status?: { conditions?: Array<{ type: string }> } };
      return is.status?.conditions?.some((c) => c.type === 'Updated') === false ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  }, 300_000);

  it('dbtopo switchover --to moves the primary to the named pod and waits for status.primary', async () => {
    const { primary, secondaries } = await rolesSettled(env.core, NS, 'billing-db-server', 3, 60_000);
    const to = secondaries[0]!.metadata!.name!;
    const lines: string[] = [];
    const started = Date.now();
    const code = await runSwitchover('billing-db-server', { to, namespace: NS, kubeconfig: testKubeconfigs()['member-a']!, timeout: '90' }, (l) => lines.push(l));
    console.log(`[update-rolling] dbtopo switchover ${primary.metadata!.name} → ${to}: exit ${code} after ${Date.now() - started} ms\n  ${lines.join('\n  ')}`);
    expect(code).toBe(0);
    const after = await rolesSettled(env.core, NS, 'billing-db-server', 3, 30_000);
    expect(after.primary.metadata!.name).toBe(to);
    // The request annotation is consumed.
    const client = new KubeClient(env.kc);
    const is = (await client.get(resourcePath('InstanceSet', NS, 'billing-db-server'))) as { metadata: { annotations?: Record<string, string> } };
    expect(is.metadata.annotations?.['dbtopo.dev/switchover']).toBeUndefined();
    // The durable record: from, to, why, Succeeded; the old primary is status.lastPrimary.
    const status = await eventually('status.switchover Succeeded and status.lastPrimary', async () => {
      const s = ((await client.get(resourcePath('InstanceSet', NS, 'billing-db-server'))) as { status?: InstanceSetStatus }).status;
      return s?.switchover?.phase === 'Succeeded' && s.lastPrimary !== undefined ? s : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    client.close();
    console.log(`[update-rolling] status.switchover ${JSON.stringify(status.switchover)}; lastPrimary ${status.lastPrimary}`);
    expect(status.switchover).toMatchObject({ from: primary.metadata!.name, to, phase: 'Succeeded', reason: 'requested by annotation', message: expect.stringMatching(/primary moved from/) });
    expect(Date.parse(status.switchover!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(status.switchover!.startedAt));
    expect(status.lastPrimary).toBe(primary.metadata!.name);
    expect(status.primary).toBe(to);
  }, 120_000);

  it('a Running switchover record no controller stands behind (it died mid-way) is settled from the labels', async () => {
    const { primary, secondaries } = await rolesSettled(env.core, NS, 'billing-db-server', 3, 60_000);
    // As the controller's ServiceAccount (the guard lets only it write status): what a controller
    // killed between writing "Running" and moving the engines leaves behind.
    const asController = new k8s.KubeConfig();
    asController.loadFromFile(env.controllerKubeconfig);
    const client = new KubeClient(asController);
    const path = resourcePath('InstanceSet', NS, 'billing-db-server', 'status');
    const startedAt = new Date().toISOString();
    await client.mergePatch(path, { status: { switchover: { from: primary.metadata!.name, to: secondaries[0]!.metadata!.name, phase: 'Running', reason: 'requested by annotation', startedAt } } }, 'test-dead-controller');
    const s = await eventually('the orphaned record settled', async () => {
      const st = ((await client.get(resourcePath('InstanceSet', NS, 'billing-db-server'))) as { status?: InstanceSetStatus }).status;
      const settled = st?.switchover?.startedAt === startedAt && st.switchover.phase !== 'Running';
      // the condition follows in the same reconcile's status write
      return settled && (st.switchover?.phase !== 'Failed' || st.conditions?.some((c) => c.type === 'SwitchoverFailed')) ? st : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    client.close();
    console.log(`[update-rolling] orphaned record settled: ${JSON.stringify(s.switchover)}`);
    // The primary never moved: Failed, interrupted, and a SwitchoverFailed condition says so.
    expect(s.switchover).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/interrupted.*on billing-db-server-/) });
    expect(s.conditions?.find((c) => c.type === 'SwitchoverFailed')).toMatchObject({ status: 'True' });
    expect(s.primary).toBe(primary.metadata!.name);
  }, 90_000);
});

describe('rolling update of a 3-member Redis with Sentinel', () => {
  const NS = `upd-redis-${Date.now().toString(36)}`;
  let env: EngineEnv;
  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-identity/sessions-cache', 'db-identity', NS),
      secrets: { 'sessions-cache-auth': { password: `pw-${process.pid}` } },
    });
    await allReady(env.core, NS, 'sessions-cache-server', 3, 180_000);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('replaces the secondaries first, switches over through Sentinel, replaces the old primary last', async () => {
    const r = await rollOut(env, 'sessions-cache-server', 3, 240_000);
    check(r, 'redis+sentinel', await eventReasons(env, 'sessions-cache-server'));
    await expectGuardedPrimary(env, 'sessions-cache-server');
  }, 300_000);
});
