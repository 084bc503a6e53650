// Semi-sync MariaDB (the rendered prod orders-db: 3 servers, no Sentinel, roleProbe every 2 s,
// failureThreshold 3) under faults, on the real control plane with the test kubelet and the
// controller: (1) the primary frozen with SIGSTOP, resumed later; (2) the primary pod drained
// (evicted: the admission guard, in force here, refuses a plain delete); (3) every mariadbd SIGKILLed at once; (6) the primary's mariadbd SIGKILLed, back 15 s later. A writer behind the `-primary` Service (an application
// account, not the controller's READ_ONLY ADMIN one) counts a commit as acknowledged only when
// semi-sync was on after it returned (a replica has it). Each case ends with exactly one pod
// labelled primary, the Service's EndpointSlice holding exactly that pod, every acknowledged
// commit on it, a 100 ms watcher that never saw two primary labels, and prints the time until
// the primary served acknowledged commits again. Then, with the controller as a child process
// (node dist/controller/main.js): (4) the controller SIGKILLed 20 times in the middle of rolling
// updates, (5) the API server restarted in the middle of one; each rollout converges.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../schemas/types/index.js';
import { KubeClient } from '../../controller/runtime/kube.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { ControllerChildren, ensureControllerBuilt } from './controller-helpers.js';
import { allReady, drainPrimary, loadRendered, onePrimaryServed, pods, startEngineEnv, watchPrimaryLabels, type EngineEnv } from './engines-helpers.js';
import { ADMIN_USER, createAppAccount, createTable, engineState, gtidSeq, mysqlFaultEvents, type MysqlAuth } from './mysql-fault-helpers.js';
import { patchTemplate as patchInstanceSetTemplate, revisionMark, rollOutAcrossApiServerRestart, setStatus, waitConverged, type RevisionMark } from './rollout-helpers.js';
import { missingMysqlRows, settleAndCountLost, startMysqlWriter, type Writer } from './writers.js';

const NS = `fault-mysql-${Date.now().toString(36)}`;
const SET = 'orders-db-server';
const ADMIN: MysqlAuth = { user: ADMIN_USER, password: `pw-${process.pid}` };
const APP: MysqlAuth = { user: 'app', password: `app-${process.pid}` };
const TABLE = 'faults.w';

/** Waits (bounded) until the writer's commits are acknowledged: right after a fault the replicas may still be reconnecting. */
async function acknowledging(w: Writer): Promise<void> {
  const from = performance.now();
  await eventually('acknowledged commits before the fault', async () => (w.firstAckAfter(from) !== undefined && w.firstAckAfter(from + 500) !== undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
}

describe('semi-sync MariaDB faults under the controller', () => {
  let env: EngineEnv;
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const nameOf = (p: k8s.V1Pod): string => p.metadata?.name ?? '';
  const podNamed = async (name: string): Promise<k8s.V1Pod | undefined> => (await pods(env.core, NS, SET)).find((p) => nameOf(p) === name);
  /** A writer into a table of its own (`faults.<name>`), created on `primary` first. */
  const writer = async (primary: k8s.V1Pod, name: string): Promise<{ w: Writer; table: string }> => {
    const table = `faults.${name}`;
    await createTable(ipOf(primary), ADMIN, table);
    return { w: startMysqlWriter(env.kc, NS, `${SET}-primary`, APP, table, { semiSync: true }), table };
  };

  /** One served primary, writable in the engine, with every acknowledged commit; prints the figures. */
  const finish = async (w: Writer, table: string, label: string, t0: number): Promise<k8s.V1Pod> => {
    // Right after a crash the label can still name a server that restarted read-only: wait (bounded)
    // until the labelled, served primary is the writable primary in the engine too.
    const primary = await eventually('a served primary that is writable in the engine', async () => {
      const p = await onePrimaryServed(env, SET, 3, 60_000);
      const st = await engineState(ipOf(p), ADMIN).catch(() => undefined);
      return st?.readOnly === false && st.masterHost === '' ? p : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const { report: r, missing, servedAgainAt } = await settleAndCountLost(w, async (acked) => await missingMysqlRows(ipOf(primary), ADMIN, table, acked), { faultAt: t0 });
    console.log(
      `[fault-mysql] ${label}: primary serving acknowledged commits again after ${servedAgainAt === undefined ? 'never' : `${(servedAgainAt - t0).toFixed(0)} ms`}; ` +
        `writer ${r.acked.length} acknowledged / ${r.failures} failed, longest gap ${r.longestGapMs.toFixed(0)} ms (last error: ${r.lastError ?? 'none'}); lost ${missing.length}; primary now ${nameOf(primary)}`,
    );
    expect(r.acked.length).toBeGreaterThan(0);
    expect(servedAgainAt).toBeDefined();
    expect(missing).toEqual([]);
    return primary;
  };

  /** `pod` is read-only in the engine, labelled secondary and replicates from `primary`. */
  const replicaOf = async (podName: string, primary: k8s.V1Pod, timeoutMs: number): Promise<void> => {
    await eventually(`${podName} a read-only replica of ${nameOf(primary)}`, async () => {
      const p = await podNamed(podName);
      if (p === undefined || p.metadata?.labels?.[LABELS.role] !== 'secondary') return undefined;
      const s = await engineState(ipOf(p), ADMIN).catch(() => undefined);
      return s?.readOnly === true && s.masterHost === ipOf(primary) && s.ioRunning && s.sqlRunning ? true : undefined;
    }, { timeoutMs, intervalMs: 250 });
  };

  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-commerce/orders-db', 'db-commerce', NS),
      secrets: { 'orders-db-admin': { username: ADMIN.user, password: ADMIN.password } },
    });
    await allReady(env.core, NS, SET, 3, 180_000);
    const primary = await onePrimaryServed(env, SET, 3, 120_000);
    await createAppAccount(ipOf(primary), ADMIN, APP, TABLE);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  /**
   * The frame of cases (1)–(3): a served primary with both replicas following it, a watcher (never
   * two primary labels) and a writer on table `name` acknowledging before `fault(old, w, table, t0)`;
   * `cleanup` undoes what the fault left behind if it failed half-way.
   */
  const underFault = async (name: string, fault: (old: k8s.V1Pod, w: Writer, table: string, t0: number) => Promise<void>, cleanup?: () => void): Promise<void> => {
    const old = await onePrimaryServed(env, SET, 3, 120_000);
    for (const p of await pods(env.core, NS, SET)) if (nameOf(p) !== nameOf(old)) await replicaOf(nameOf(p), old, 60_000);
    const watch = watchPrimaryLabels(env.core, NS, SET);
    const { w, table } = await writer(old, name);
    try {
      await acknowledging(w);
      await fault(old, w, table, performance.now());
    } finally {
      cleanup?.();
      await w.stop();
      const seen = await watch.stop();
      expect(seen.firstDouble ?? 'never two primary labels').toBe('never two primary labels');
      expect(seen.maxPrimaries).toBe(1);
    }
  };

  it('(2) primary pod drained (a plain delete refused by the guard, then evicted): exactly one primary again; the recreated pod rejoins as a secondary', async () => {
    await underFault('w2', async (old, w, table) => {
      // timed from the eviction's acceptance: a budget may hold it a while first (evictPod)
      const t0 = await drainPrimary(env, nameOf(old));
      await eventually(`${nameOf(old)} recreated and Ready`, async () => {
        const p = await podNamed(nameOf(old));
        return p !== undefined && p.metadata?.uid !== old.metadata?.uid && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      const recreatedMs = performance.now() - t0;
      const primary = await finish(w, table, '(2) pod eviction', t0);
      if (nameOf(primary) !== nameOf(old)) await replicaOf(nameOf(old), primary, 60_000);
      console.log(`[fault-mysql] (2) evicted ${nameOf(old)}: recreated and Ready after ${recreatedMs.toFixed(0)} ms; primary ${nameOf(old)} → ${nameOf(primary)}; recreated pod a replica after ${(performance.now() - t0).toFixed(0)} ms\n  ${(await mysqlFaultEvents(env)).join('\n  ')}`);
      for (const p of await pods(env.core, NS, SET)) if (nameOf(p) !== nameOf(primary)) await replicaOf(nameOf(p), primary, 30_000);
    });
  }, 180_000);

  it('(3) every mariadbd killed at once (SIGKILL): restarted, exactly one primary, the most advanced, every acknowledged commit present', async () => {
    await underFault('w3', async (old, w, table, t0) => {
      const before = await pods(env.core, NS, SET);
      const restarts = (p: k8s.V1Pod): number => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
      for (const p of before) env.kubelet.killProcess(nameOf(p), 'SIGKILL');
      // Judge the roles only once every server was restarted: before that the labels describe the killed processes.
      await eventually('every server restarted', async () => {
        const now = await pods(env.core, NS, SET);
        return before.every((b) => now.some((p) => nameOf(p) === nameOf(b) && restarts(p) > restarts(b))) ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      const primary = await finish(w, table, '(3) crash of every server', t0);
      const others = (await pods(env.core, NS, SET)).filter((p) => nameOf(p) !== nameOf(primary));
      for (const p of others) await replicaOf(nameOf(p), primary, 60_000);
      // The most advanced: no other server holds a transaction the primary lacks.
      const mine = gtidSeq((await engineState(ipOf(primary), ADMIN)).gtid);
      const theirs = await Promise.all(others.map(async (p) => gtidSeq((await engineState(ipOf(p), ADMIN)).gtid)));
      console.log(`[fault-mysql] (3) primary ${nameOf(old)} → ${nameOf(primary)} (gtid seq ${mine}; others ${theirs.join(', ')}); secondaries replicating ${(performance.now() - t0).toFixed(0)} ms after the crash\n  ${(await mysqlFaultEvents(env)).join('\n  ')}`);
      for (const s of theirs) expect(s).toBeLessThanOrEqual(mine);
    });
  }, 180_000);
  it('(6) primary mariadbd killed (SIGKILL, restarted 15 s later): failover after failureThreshold probes; the restarted server is fenced, never labelled primary', async () => {
    await underFault('w6', async (old, w, table, t0) => {
      // Held down past the failover, like a crash-looping container; it restarts read-only.
      env.kubelet.killProcess(nameOf(old), 'SIGKILL', { holdMs: 15_000 });
      const next = await eventually('another pod labelled primary', async () => {
        const p = (await pods(env.core, NS, SET)).find((x) => x.metadata?.labels?.[LABELS.role] === 'primary');
        return p !== undefined && nameOf(p) !== nameOf(old) ? p : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      const relabelMs = performance.now() - t0;
      const primary = await finish(w, table, '(6) SIGKILL of the primary', t0);
      expect(nameOf(primary)).toBe(nameOf(next));
      // Back after 15 s: read-only, never primary; a replica of the new primary unless a commit it
      // wrote to its binlog as it died is in no other one (then it stays fenced: rebuild it).
      const back = await eventually(`${nameOf(old)} back read-only`, async () => {
        const s = await engineState(ipOf(old), ADMIN).catch(() => undefined);
        return s?.readOnly === true && s.masterHost === ipOf(next) && ((s.ioRunning && s.sqlRunning) || s.lastError !== '') ? s : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      expect((await podNamed(nameOf(old)))?.metadata?.labels?.[LABELS.role]).not.toBe('primary');
      console.log(`[fault-mysql] (6) SIGKILL ${nameOf(old)} → ${nameOf(next)} labelled primary after ${relabelMs.toFixed(0)} ms; old primary back read-only after ${(performance.now() - t0).toFixed(0)} ms, ${back.lastError === '' ? 'a replica' : `fenced (${back.lastError})`}`);
    });
  }, 180_000);

  // Last: the resumed old primary may keep a transaction nobody else has and stay fenced.
  it('(1) primary frozen (SIGSTOP): failover after failureThreshold probes; resumed (SIGCONT) it is fenced, never labelled primary again', async () => {
    let frozen: string | undefined;
    await underFault('w1', async (old, w, table, t0) => {
      env.kubelet.killProcess(nameOf(old), 'SIGSTOP');
      frozen = nameOf(old);
      const next = await eventually('another pod labelled primary', async () => {
        const p = (await pods(env.core, NS, SET)).find((x) => x.metadata?.labels?.[LABELS.role] === 'primary');
        return p !== undefined && nameOf(p) !== nameOf(old) ? p : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      const relabelMs = performance.now() - t0;
      console.log(`[fault-mysql] (1) SIGSTOP ${nameOf(old)} → ${nameOf(next)} labelled primary after ${relabelMs.toFixed(0)} ms`);
      await eventually('commits acknowledged by the new primary', async () => w.firstAckAfter(t0 + relabelMs), { timeoutMs: 30_000, intervalMs: 100 });
      // Frozen longer than rpl_semi_sync_master_timeout (10 s): a commit it held when frozen times out at once on resume.
      await sleep(Math.max(0, 11_000 - (performance.now() - t0)));
      env.kubelet.killProcess(nameOf(old), 'SIGCONT');
      frozen = undefined;
      const resumedAt = performance.now();
      // Fenced: read-only in the engine and not labelled primary; it rejoins when it holds no transaction the new primary lacks.
      await eventually(`${nameOf(old)} read-only again`, async () => {
        const s = await engineState(ipOf(old), ADMIN).catch(() => undefined);
        return s?.readOnly === true ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      const fencedMs = performance.now() - resumedAt;
      // Either it replicates from the new primary, or it cannot (a commit it ran when frozen or on
      // resume is in no other binlog: error 1236) and stays read-only with the error showing.
      const rejoined = await eventually(`${nameOf(old)} a replica of ${nameOf(next)} or fenced with a replication error`, async () => {
        const p = await podNamed(nameOf(old));
        const s = await engineState(ipOf(old), ADMIN).catch(() => undefined);
        if (p === undefined || s === undefined || !s.readOnly || s.masterHost !== ipOf(next)) return undefined;
        if (s.ioRunning && s.sqlRunning && p.metadata?.labels?.[LABELS.role] === 'secondary') return 'rejoined as a replica';
        return s.lastError !== '' ? `stays fenced (replication error: ${s.lastError})` : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      console.log(`[fault-mysql] (1) SIGSTOP ${nameOf(old)} → ${nameOf(next)} labelled primary after ${relabelMs.toFixed(0)} ms; SIGCONT after ${(resumedAt - t0).toFixed(0)} ms → read-only ${fencedMs.toFixed(0)} ms later, ${rejoined}\n  ${(await mysqlFaultEvents(env)).join('\n  ')}`);
      const primary = await finish(w, table, '(1) SIGSTOP/SIGCONT', t0);
      expect(nameOf(primary)).toBe(nameOf(next));
      expect((await podNamed(nameOf(old)))?.metadata?.labels?.[LABELS.role]).not.toBe('primary');
      expect((await engineState(ipOf(old), ADMIN)).readOnly).toBe(true);
    }, () => {
      if (frozen !== undefined) env.kubelet.killProcess(frozen, 'SIGCONT');
    });
  }, 180_000);

});

describe('semi-sync MariaDB: faults in the middle of rolling updates (controller as a child process)', () => {
  const NS2 = `fault-mysql-upd-${Date.now().toString(36)}`;
  const KILLS = 20;
  const KILLS_PER_ROLLOUT = 5;
  let env: EngineEnv;
  let client: KubeClient;
  let controllers: ControllerChildren;
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const nameOf = (p: k8s.V1Pod): string => p.metadata?.name ?? '';
  /** Where a rollout starts: the set's updateRevision and each pod's (server-2 has an instance template of its own). */
  const revisions = async (): Promise<RevisionMark> => await revisionMark(env, client, SET);
  const converged = async (before: RevisionMark, what: string, timeoutMs = 150_000): Promise<void> => await waitConverged(env, client, SET, 3, before, what, timeoutMs, describeSet);
  /** Status, pods and the set's last Events: what a rollout that did not converge was waiting for. */
  const describeSet = async (): Promise<string> => {
    const ps = await pods(env.core, NS2, SET);
    const lines = await Promise.all(ps.map(async (p) => {
      const s = await engineState(ipOf(p), ADMIN).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      return `${nameOf(p)} rev ${p.metadata?.labels?.[LABELS.revision]} role ${p.metadata?.labels?.[LABELS.role]} ready ${ready} engine ${JSON.stringify(s)}`;
    }));
    const events = (await env.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: NS2 })).items
      .sort((a, b) => String(a.eventTime ?? a.metadata?.creationTimestamp ?? '').localeCompare(String(b.eventTime ?? b.metadata?.creationTimestamp ?? '')))
      .slice(-15)
      .map((e) => `${e.regarding?.name} ${e.reason}: ${e.note ?? ''}`);
    return `status ${JSON.stringify(await setStatus(client, NS2, SET))}\n${lines.join('\n')}\n${events.join('\n')}`;
  };
  /** The engines agree with the labels: the primary writable and unwired, the others read-only replicas of it. */
  const enginesAgree = async (): Promise<k8s.V1Pod> => {
    const primary = await onePrimaryServed(env, SET, 3, 60_000);
    for (const p of await pods(env.core, NS2, SET)) {
      const isPrimary = nameOf(p) === nameOf(primary);
      await eventually(`${nameOf(p)} ${isPrimary ? 'writable primary' : `replica of ${nameOf(primary)}`} in the engine`, async () => {
        const s = await engineState(ipOf(p), ADMIN).catch(() => undefined);
        if (s === undefined) return undefined;
        return (isPrimary ? !s.readOnly && s.masterHost === '' : s.readOnly && s.masterHost === ipOf(primary) && s.ioRunning && s.sqlRunning) ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200 });
    }
    return primary;
  };
  const patchTemplate = async (value: string): Promise<void> => await patchInstanceSetTemplate(client, NS2, SET, value);
  /** A writer into a table of its own (its ids start at 1), created on `primary` first. */
  const writer = async (primary: k8s.V1Pod, table: string): Promise<Writer> => {
    await createTable(ipOf(primary), ADMIN, table);
    return startMysqlWriter(env.kc, NS2, `${SET}-primary`, APP, table, { semiSync: true });
  };

  beforeAll(async () => {
    ensureControllerBuilt();
    env = await startEngineEnv({
      namespace: NS2,
      objects: loadRendered('prod/prod-eu-west/db-commerce/orders-db', 'db-commerce', NS2),
      secrets: { 'orders-db-admin': { username: ADMIN.user, password: ADMIN.password } },
      inProcessController: false,
    });
    client = new KubeClient(env.kc);
    controllers = new ControllerChildren(env.controllerKubeconfig, NS2);
    await controllers.start();
    await allReady(env.core, NS2, SET, 3, 180_000);
    await createAppAccount(ipOf(await enginesAgree()), ADMIN, APP, TABLE);
  }, 360_000);
  afterAll(async () => {
    await controllers?.killAll();
    client?.close();
    await env?.stop();
  });

  it(`(4) controller SIGKILLed ${KILLS} times mid-rollout: converges each time, never two primary labels, no acknowledged commit lost`, async () => {
    const first = await enginesAgree();
    const watch = watchPrimaryLabels(env.core, NS2, SET);
    const w = await writer(first, 'faults.w4');
    await acknowledging(w);
    let seen: Awaited<ReturnType<ReturnType<typeof watchPrimaryLabels>['stop']>> = { maxPrimaries: 0, maxPods: 0, polls: 0 };
    let kills = { killedAfter: [] as number[], convergeMs: [] as number[] };
    try {
      kills = await controllers.killDuringRollouts(KILLS, KILLS_PER_ROLLOUT, async (rollout) => {
        const before = await revisions();
        await patchTemplate(`${Date.now()}-${rollout}`);
        return { converged: async () => await converged(before, `rollout ${rollout}`), check: async () => void (await enginesAgree()) };
      });
    } finally {
      seen = await watch.stop();
    }
    const { killedAfter, convergeMs } = kills;
    const primary = await enginesAgree();
    const { report, missing } = await settleAndCountLost(w, async (acked) => await missingMysqlRows(ipOf(primary), ADMIN, 'faults.w4', acked), { settleMs: 15_000 });
    const sorted = [...convergeMs].sort((a, b) => a - b);
    console.log(
      `[fault-mysql] (4) ${killedAfter.length} SIGKILLs of the controller at ${killedAfter.join(',')} ms into ${convergeMs.length} rollouts; ` +
        `converged after the last restart: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms, max ${Math.max(...convergeMs).toFixed(0)} ms; ` +
        `watcher ${seen.polls} polls, max primaries ${seen.maxPrimaries}, max pods ${seen.maxPods}; writer ${report.acked.length} acknowledged / ${report.failures} failed, ` +
        `longest gap ${report.longestGapMs.toFixed(0)} ms, lost ${missing.length}\n  ${(await mysqlFaultEvents(env)).join('\n  ')}`,
    );
    expect(killedAfter.length).toBe(KILLS);
    expect(seen.firstDouble ?? 'never two primary labels').toBe('never two primary labels');
    expect(seen.maxPods).toBe(3);
    expect(report.acked.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  }, 600_000);

  it('(5) API server restarted in the middle of a rolling update: converges, one primary label, no acknowledged commit lost', async () => {
    const before = await revisions();
    const old = await enginesAgree();
    const watch = watchPrimaryLabels(env.core, NS2, SET);
    const w = await writer(old, 'faults.w5');
    await acknowledging(w);
    let seen: Awaited<ReturnType<ReturnType<typeof watchPrimaryLabels>['stop']>> = { maxPrimaries: 0, maxPods: 0, polls: 0 };
    let downMs = 0;
    let rolledMs = 0;
    try {
      ({ downMs, rolledMs } = await rollOutAcrossApiServerRestart(env, SET, async () => await patchTemplate(`${Date.now()}-apiserver`), async () => await converged(before, 'rollout across an API server restart', 150_000)));
    } finally {
      seen = await watch.stop();
    }
    const primary = await enginesAgree();
    const { report, missing } = await settleAndCountLost(w, async (acked) => await missingMysqlRows(ipOf(primary), ADMIN, 'faults.w5', acked), { settleMs: 15_000 });
    console.log(
      `[fault-mysql] (5) API server restarted mid-rollout: down ${downMs.toFixed(0)} ms; rollout converged ${rolledMs.toFixed(0)} ms after the patch; primary ${nameOf(old)} → ${nameOf(primary)}; ` +
        `watcher max primaries ${seen.maxPrimaries}, max pods ${seen.maxPods}; writer ${report.acked.length} acknowledged / ${report.failures} failed, longest gap ${report.longestGapMs.toFixed(0)} ms (last error: ${report.lastError ?? 'none'}), lost ${missing.length}`,
    );
    expect(seen.firstDouble ?? 'never two primary labels').toBe('never two primary labels');
    expect(seen.maxPods).toBe(3);
    expect(report.acked.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  }, 300_000);
});
