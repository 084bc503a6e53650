// Faults in the middle of rolling updates: (a) the controller killed, (b) the API server
// restarted. The rendered prod sessions-cache
// (3 Redis servers + 3 Sentinels) on the real control plane with the test kubelet; the controller
// runs as a child process (node dist/controller/main.js, as in a pod) and is SIGKILLed at random
// moments of template rollouts, KILLS times in all, then started again. A watcher samples the
// pods every 100 ms (never two primary labels, never a fourth pod); a writer behind the
// `-primary` Service counts acknowledged writes (SET + WAIT 1) missing at the end: none may be.
// After each rollout the set converges: every pod
// on the new revision, Ready, one primary, the engines agreeing.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATIONS, LABELS } from '../../schemas/types/index.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { eventually } from '../cluster/helpers.js';
import { ControllerChildren, ensureControllerBuilt } from './controller-helpers.js';
import { allReady, loadRendered, onePrimaryServed, pods, startEngineEnv, watchPrimaryLabels, type EngineEnv } from './engines-helpers.js';
import { patchTemplate as patchInstanceSetTemplate, revisionMark, rollOutAcrossApiServerRestart, setStatus, waitConverged, type RevisionMark } from './rollout-helpers.js';
import { missingRedisKeys, settleAndCountLost, startRedisWriter } from './writers.js';

const NS = `fault-upd-${Date.now().toString(36)}`;
const SET = 'sessions-cache-server';
const PASSWORD = `pw-${process.pid}`;
const KILLS = 20;
const KILLS_PER_ROLLOUT = 4;

describe('controller killed in the middle of rolling updates', () => {
  let env: EngineEnv;
  let client: KubeClient;
  let controllers: ControllerChildren;
  const revisions = async (): Promise<RevisionMark> => await revisionMark(env, client, SET);
  /** role and, on a replica, replica-priority, as the engine reports them ("slave/100"). */
  const engineRole = async (ip: string): Promise<string> => {
    const r = new Redis({ host: ip, port: 6379, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const info = String(await r.info('replication'));
      const role = /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
      return role === 'slave' ? `${role}/${/slave_priority:(\d+)/.exec(info)?.[1] ?? '?'}` : role;
    } finally {
      r.disconnect();
    }
  };

  /** Status, pods with their engines' view and the set's last Events: what a rollout that did not converge waited for. */
  const describeSet = async (): Promise<string> => {
    const ps = await pods(env.core, NS, SET);
    const lines = await Promise.all(ps.map(async (p) => `${p.metadata?.name} rev ${p.metadata?.labels?.[LABELS.revision]} role ${p.metadata?.labels?.[LABELS.role]} engine ${await engineRole(p.status?.podIP ?? '').catch((e: unknown) => String(e))}`));
    return `status ${JSON.stringify(await setStatus(client, NS, SET))}\n${lines.join('\n')}\n${await eventsAround(Date.now() - 120_000, Date.now())}`;
  };
  /** The rollout converged (rollout-helpers' waitConverged), all three pods on one revision: one template. */
  const converged = async (before: RevisionMark, what: string, timeoutMs = 120_000): Promise<void> => {
    await waitConverged(env, client, SET, 3, before, what, timeoutMs, describeSet);
    expect(new Set((await pods(env.core, NS, SET)).map((p) => p.metadata?.labels?.[LABELS.revision])).size).toBe(1);
  };
  /** The namespace's Events between two wall-clock times (ms), oldest first: for a failure message. */
  const eventsAround = async (fromMs: number, toMs: number): Promise<string> => {
    const list = (await client.get(`/apis/events.k8s.io/v1/namespaces/${NS}/events`)) as unknown as { items?: Array<{ eventTime?: string; reason?: string; note?: string; regarding?: { name?: string } }> };
    return (list.items ?? [])
      .map((e) => ({ t: Date.parse(e.eventTime ?? ''), line: `${e.eventTime} ${e.regarding?.name ?? ''} ${e.reason ?? ''}: ${e.note ?? ''}` }))
      .filter((e) => e.t >= fromMs && e.t <= toMs)
      .sort((a, b) => a.t - b.t)
      .map((e) => e.line)
      .join('\n');
  };
  const patchTemplate = async (value: string): Promise<void> => await patchInstanceSetTemplate(client, NS, SET, value);

  beforeAll(async () => {
    ensureControllerBuilt();
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-identity/sessions-cache', 'db-identity', NS),
      secrets: { 'sessions-cache-auth': { password: PASSWORD } },
      inProcessController: false,
    });
    client = new KubeClient(env.kc);
    controllers = new ControllerChildren(env.controllerKubeconfig, NS);
    await controllers.start();
    await allReady(env.core, NS, SET, 3, 180_000);
    await allReady(env.core, NS, 'sessions-cache-sentinel', 3, 180_000);
  }, 360_000);
  afterAll(async () => {
    await controllers?.killAll();
    client?.close();
    await env?.stop();
  });

  it(`converges after each of ${KILLS} kills mid-rollout; never two primary labels, never an extra pod, no acknowledged write lost`, async () => {
    await onePrimaryServed(env, SET, 3, 120_000);
    const watch = watchPrimaryLabels(env.core, NS, SET);
    const writer = startRedisWriter(env.kc, NS, `${SET}-primary`, PASSWORD, 'k:');
    const testStart = performance.now();
    const names = new Set<string>();
    let seen = { maxPrimaries: 0, maxPods: 0, polls: 0 };
    let kills = { killedAfter: [] as number[], killedAt: [] as number[], convergeMs: [] as number[] };
    try {
      kills = await controllers.killDuringRollouts(KILLS, KILLS_PER_ROLLOUT, async (rollout) => {
        const before = await revisions();
        await patchTemplate(`${Date.now()}-${rollout}`);
        return {
          converged: async () => await converged(before, `rollout ${rollout}`),
          // The engines agree with the labels, and no replica was left unelectable
          // (replica-priority 0) by a switchover the kill cut off.
          check: async () => {
            const primary = await onePrimaryServed(env, SET, 3, 30_000);
            for (const p of await pods(env.core, NS, SET)) {
              names.add(p.metadata?.name ?? '');
              const want = p.metadata?.name === primary.metadata?.name ? 'master' : 'slave/100';
              await eventually(`${p.metadata?.name} is ${want} in the engine`, async () => ((await engineRole(p.status?.podIP ?? '').catch(() => '')) === want ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
            }
          },
        };
      });
    } finally {
      seen = await watch.stop();
    }
    const { killedAfter, killedAt, convergeMs } = kills;
    const primary = await onePrimaryServed(env, SET, 3, 60_000);
    const { report, missing } = await settleAndCountLost(writer, async (acked) => await missingRedisKeys(primary.status?.podIP ?? '', PASSWORD, 'k:', acked), { settleMs: 10_000 });
    const sorted = [...convergeMs].sort((a, b) => a - b);
    console.log(
      `[fault-update] ${killedAfter.length} SIGKILLs of the controller at ${killedAfter.join(',')} ms into ${convergeMs.length} rollouts; ` +
        `rollout converged after the last restart: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms, max ${Math.max(...convergeMs).toFixed(0)} ms; ` +
        `watcher ${seen.polls} polls, max primaries ${seen.maxPrimaries}, max pods ${seen.maxPods}; writer ${report.acked.length} acknowledged / ${report.failures} failed, ` +
        `longest gap ${report.longestGapMs.toFixed(0)} ms, lost ${missing.length}`,
    );
    expect(killedAfter.length).toBe(KILLS);
    expect(seen.maxPrimaries).toBe(1);
    expect(seen.maxPods).toBe(3);
    expect([...names].sort()).toEqual([`${SET}-0`, `${SET}-1`, `${SET}-2`]);
    if (missing.length > 0) {
      // Where the lost writes sit in time, and what the controller did around then.
      const at = (id: number): number => report.ackTimes[report.acked.indexOf(id)] ?? NaN;
      const from = at(missing[0]!);
      const to = at(missing.at(-1)!);
      console.warn(`[fault-update] ${missing.length} acknowledged writes lost, acked ${(from - testStart).toFixed(0)}–${(to - testStart).toFixed(0)} ms into the test; kills at ${killedAt.map((k) => (k - testStart).toFixed(0)).join(',')} ms`);
      console.warn(await eventsAround(performance.timeOrigin + from - 15_000, performance.timeOrigin + to + 15_000));
    }
    expect(missing).toEqual([]);
  }, 420_000);

  it('a replica-priority an interrupted switchover left at 0 is restored by the running controller, as noted on the pod', async () => {
    const primary = await onePrimaryServed(env, SET, 3, 60_000);
    const replica = (await pods(env.core, NS, SET)).find((p) => p.metadata?.name !== primary.metadata?.name)!;
    const name = replica.metadata?.name ?? '';
    // What a switchover does before it makes a replica unelectable — and then the controller dies.
    await client.mergePatch(resourcePath('Pod', NS, name), { metadata: { annotations: { [ANNOTATIONS.restoreReplicaPriority]: '100' } } }, 'e2e');
    const r = new Redis({ host: replica.status?.podIP ?? '', port: 6379, password: PASSWORD, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    r.on('error', () => undefined);
    try {
      await r.config('SET', 'replica-priority', '0');
    } finally {
      r.disconnect();
    }
    const t0 = performance.now();
    await eventually(`${name} electable again and the note gone`, async () => {
      const p = await env.core.readNamespacedPod({ namespace: NS, name });
      const noted = p.metadata?.annotations?.[ANNOTATIONS.restoreReplicaPriority] !== undefined;
      return !noted && (await engineRole(replica.status?.podIP ?? '')) === 'slave/100' ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    console.log(`[fault-update] noted replica-priority restored on ${name} after ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('converges when the API server is restarted in the middle of a rolling update', async () => {
    const before = await revisions();
    const old = await onePrimaryServed(env, SET, 3, 120_000);
    const watch = watchPrimaryLabels(env.core, NS, SET);
    const writer = startRedisWriter(env.kc, NS, `${SET}-primary`, PASSWORD, 'r:');
    let seen = { maxPrimaries: 0, maxPods: 0, polls: 0 };
    let downMs = 0;
    let rolledMs = 0;
    try {
      // Restart once the rollout is under way: the first pod was replaced.
      ({ downMs, rolledMs } = await rollOutAcrossApiServerRestart(env, SET, async () => await patchTemplate(`${Date.now()}-apiserver`), async () => await converged(before, 'rollout across an API server restart', 150_000)));
    } finally {
      seen = await watch.stop();
    }
    const primary = await onePrimaryServed(env, SET, 3, 60_000);
    const { report, missing } = await settleAndCountLost(writer, async (acked) => await missingRedisKeys(primary.status?.podIP ?? '', PASSWORD, 'r:', acked), { settleMs: 10_000 });
    console.log(
      `[fault-update] API server restarted mid-rollout: down ${downMs.toFixed(0)} ms; rollout converged ${rolledMs.toFixed(0)} ms after the patch; primary ${old.metadata?.name} → ${primary.metadata?.name}; ` +
        `watcher max primaries ${seen.maxPrimaries}, max pods ${seen.maxPods}; writer ${report.acked.length} acknowledged / ${report.failures} failed, longest gap ${report.longestGapMs.toFixed(0)} ms, lost ${missing.length}`,
    );
    expect(seen.maxPrimaries).toBe(1);
    expect(seen.maxPods).toBe(3);
    expect(missing).toEqual([]);
  }, 300_000);
});
