// Redis + 3 Sentinels (the rendered prod sessions-cache) under faults, on the real control plane
// with the test kubelet and the controller: (a) the primary frozen with SIGSTOP, then resumed;
// (d) its process killed; (b) the primary pod drained (evicted: the admission guard, in force here
// as in every e2e test, refuses a plain delete); (c) every server killed at once. A writer behind
// the `-primary` Service runs through each fault (SET + WAIT 1: acknowledged when a replica has it). Each case
// ends with exactly one pod labelled primary, the Service's EndpointSlice holding exactly that
// pod, every acknowledged write on it, and prints the time until the primary served again.
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../schemas/types/index.js';
import { eventually } from '../cluster/helpers.js';
import { allReady, drainPrimary, loadRendered, onePrimaryServed, pods, sentinelsReady, startEngineEnv, watchPrimaryLabels, type EngineEnv } from './engines-helpers.js';
import { missingRedisKeys, settleAndCountLost, startRedisWriter, type Writer } from './writers.js';

const NS = `fault-redis-${Date.now().toString(36)}`;
const SERVER = 'sessions-cache-server';
const SENTINEL = 'sessions-cache-sentinel';
const MASTER = 'sessions-cache';
const PASSWORD = `pw-${process.pid}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Redis + Sentinel faults under the controller', () => {
  let env: EngineEnv;
  let sentinelIps: string[] = [];
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const nameOf = (p: k8s.V1Pod): string => p.metadata?.name ?? '';

  const replicationInfo = async (host: string): Promise<string> => {
    const c = new Redis({ host, port: 6379, password: PASSWORD, maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 1_000, lazyConnect: true });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return String(await c.info('replication'));
    } finally {
      c.disconnect();
    }
  };

  /** Another pod labelled primary than `old` (by name, or by uid when the pod was recreated). */
  const nextPrimary = async (oldName: string, timeoutMs: number): Promise<k8s.V1Pod> =>
    await eventually('another pod labelled primary', async () => {
      const p = (await pods(env.core, NS, SERVER)).find((x) => x.metadata?.labels?.[LABELS.role] === 'primary');
      return p !== undefined && nameOf(p) !== oldName ? p : undefined;
    }, { timeoutMs, intervalMs: 100 });

  /** Stops the writer, checks one served primary that has every acknowledged write; returns it. */
  const finish = async (w: Writer, prefix: string, label: string, t0: number): Promise<k8s.V1Pod> => {
    const primary = await onePrimaryServed(env, SERVER, 3, 120_000);
    // Right after a crash the label can still name a server whose process is being restarted:
    // ask it (bounded) until it answers, then it must say master.
    const info = await eventually('the primary answering INFO', async () => await replicationInfo(ipOf(primary)).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 200 });
    expect(info).toMatch(/role:master/);
    const { report: r, missing, servedAgainAt: served } = await settleAndCountLost(w, async (acked) => await missingRedisKeys(ipOf(primary), PASSWORD, prefix, acked), { faultAt: t0 });
    console.log(
      `[fault-redis] ${label}: primary serving acknowledged writes again after ${served === undefined ? 'never' : `${(served - t0).toFixed(0)} ms`}; ` +
        `writer ${r.acked.length} acknowledged / ${r.failures} failed, longest gap ${r.longestGapMs.toFixed(0)} ms; lost ${missing.length}; primary now ${nameOf(primary)}`,
    );
    if (missing.length > 0) {
      // What each server and Sentinel saw: the way to tell which replica Sentinel promoted and why.
      for (const p of await pods(env.core, NS, SERVER)) {
        console.warn(`--- ${nameOf(p)} ${(await replicationInfo(ipOf(p)).catch((e: unknown) => String(e))).replace(/\r?\n/g, ' ')}\n${env.kubelet.engineLog(nameOf(p), 30)}`);
      }
      for (const p of await pods(env.core, NS, SENTINEL)) console.warn(`--- ${nameOf(p)}\n${env.kubelet.engineLog(nameOf(p), 30)}`);
    }
    expect(r.acked.length).toBeGreaterThan(0);
    expect(served).toBeDefined();
    expect(missing).toEqual([]);
    return primary;
  };

  /**
   * The frame of every case: a served primary that every Sentinel can fail over, a watcher (never
   * two primary labels) and a writer running from 1 s before the fault (`fault(old, writer, t0)`)
   * to its end; `cleanup` undoes what the fault left behind if it failed half-way.
   */
  const underFault = async (prefix: string, fault: (old: k8s.V1Pod, w: Writer, t0: number) => Promise<void>, cleanup?: () => void): Promise<void> => {
    const old = await onePrimaryServed(env, SERVER, 3, 120_000);
    await sentinelsReady(sentinelIps, MASTER, ipOf(old), 2);
    const watch = watchPrimaryLabels(env.core, NS, SERVER);
    const w = startRedisWriter(env.kc, NS, `${SERVER}-primary`, PASSWORD, prefix);
    try {
      await sleep(1_000);
      await fault(old, w, performance.now());
    } finally {
      cleanup?.();
      await w.stop();
      const seen = await watch.stop();
      expect(seen.maxPrimaries).toBe(1);
    }
  };

  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-identity/sessions-cache', 'db-identity', NS),
      secrets: { 'sessions-cache-auth': { password: PASSWORD } },
    });
    await allReady(env.core, NS, SERVER, 3, 180_000);
    sentinelIps = (await allReady(env.core, NS, SENTINEL, 3, 180_000)).map(ipOf);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('(a) primary frozen (SIGSTOP): Sentinel fails over, labels move; resumed (SIGCONT) it rejoins as a replica', async () => {
    let frozen: string | undefined;
    await underFault('a:', async (old, w, t0) => {
      env.kubelet.killProcess(nameOf(old), 'SIGSTOP');
      frozen = nameOf(old);
      const next = await nextPrimary(nameOf(old), 60_000);
      const relabelledAt = performance.now();
      const relabelMs = relabelledAt - t0;
      await eventually('writes acknowledged by the new primary', async () => w.firstAckAfter(relabelledAt), { timeoutMs: 30_000, intervalMs: 100 });
      env.kubelet.killProcess(nameOf(old), 'SIGCONT');
      frozen = undefined;
      const resumedAt = performance.now();
      await eventually(`${nameOf(old)} a replica of ${nameOf(next)}`, async () => {
        const info = await replicationInfo(ipOf(old)).catch(() => '');
        return info.includes('role:slave') && info.includes(`master_host:${ipOf(next)}`) ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 200 });
      console.log(`[fault-redis] (a) SIGSTOP ${nameOf(old)} → ${nameOf(next)} labelled primary after ${relabelMs.toFixed(0)} ms; SIGCONT → old primary a replica after ${(performance.now() - resumedAt).toFixed(0)} ms`);
      const primary = await finish(w, 'a:', '(a) SIGSTOP', t0);
      expect(nameOf(primary)).toBe(nameOf(next));
      const old2 = (await pods(env.core, NS, SERVER)).find((p) => nameOf(p) === nameOf(old));
      expect(old2?.metadata?.labels?.[LABELS.role]).toBe('secondary');
    }, () => {
      if (frozen !== undefined) env.kubelet.killProcess(frozen, 'SIGCONT');
    });
  }, 180_000);

  it('(d) primary process killed (SIGKILL, restarted 15 s later): Sentinel fails over; the restarted server rejoins as a replica', async () => {
    await underFault('d:', async (old, w, t0) => {
      // Held down past Sentinel's down-after (5 s) and the failover, like a crash-looping container.
      env.kubelet.killProcess(nameOf(old), 'SIGKILL', { holdMs: 15_000 });
      const next = await nextPrimary(nameOf(old), 60_000);
      const relabelMs = performance.now() - t0;
      await eventually(`${nameOf(old)} restarted as a replica of ${nameOf(next)}`, async () => {
        const info = await replicationInfo(ipOf(old)).catch(() => '');
        return info.includes('role:slave') && info.includes(`master_host:${ipOf(next)}`) ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 200 });
      console.log(`[fault-redis] (d) SIGKILL ${nameOf(old)} → ${nameOf(next)} labelled primary after ${relabelMs.toFixed(0)} ms; restarted old primary a replica after ${(performance.now() - t0).toFixed(0)} ms`);
      const primary = await finish(w, 'd:', '(d) SIGKILL of the primary', t0);
      expect(nameOf(primary)).toBe(nameOf(next));
    });
  }, 180_000);

  it('(b) primary pod drained (a plain delete refused by the guard, then evicted): exactly one primary again; after a failover the recreated pod rejoins as a secondary', async () => {
    await underFault('b:', async (old, w) => {
      // timed from the eviction's acceptance: a budget may hold it a while first (evictPod)
      const t0 = await drainPrimary(env, nameOf(old));
      // The recreated pod has a new uid; wait until it is Ready and the roles settle.
      await eventually(`${nameOf(old)} recreated and Ready`, async () => {
        const p = (await pods(env.core, NS, SERVER)).find((x) => nameOf(x) === nameOf(old));
        return p !== undefined && p.metadata?.uid !== old.metadata?.uid && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      const recreatedMs = performance.now() - t0;
      const primary = await finish(w, 'b:', '(b) pod eviction', t0);
      const info = await replicationInfo(ipOf((await pods(env.core, NS, SERVER)).find((p) => nameOf(p) === nameOf(old))!));
      console.log(`[fault-redis] (b) evicted ${nameOf(old)}: recreated and Ready after ${recreatedMs.toFixed(0)} ms; primary ${nameOf(old)} → ${nameOf(primary)}`);
      // Sentinel fails over only when the pod is away longer than down-after-milliseconds (5 s);
      // the test kubelet recreates it in ~4 s, so the recreated pod often is the primary again
      // (booting from its AOF, which holds every acknowledged write).
      if (nameOf(primary) !== nameOf(old)) {
        // Sentinel failed over: the recreated pod must be a replica of the new primary.
        expect(info).toMatch(/role:slave/);
        expect(info).toContain(`master_host:${ipOf(primary)}`);
        const o = (await pods(env.core, NS, SERVER)).find((p) => nameOf(p) === nameOf(old));
        expect(o?.metadata?.labels?.[LABELS.role]).toBe('secondary');
      }
    });
  }, 180_000);

  it('(c) every server killed at once (SIGKILL): restarted, exactly one primary, acknowledged writes present', async () => {
    await underFault('c:', async (old, w, t0) => {
      const before = await pods(env.core, NS, SERVER);
      const restarts = (p: k8s.V1Pod): number => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
      for (const p of before) env.kubelet.killProcess(nameOf(p), 'SIGKILL');
      // Judge the roles only once the kubelet has restarted every server: before that the labels
      // still describe the processes that were just killed.
      await eventually('every server restarted', async () => {
        const now = await pods(env.core, NS, SERVER);
        return before.every((b) => now.some((p) => nameOf(p) === nameOf(b) && restarts(p) > restarts(b))) ? true : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      const primary = await finish(w, 'c:', '(c) crash of all servers', t0);
      console.log(`[fault-redis] (c) primary ${nameOf(old)} → ${nameOf(primary)}`);
      // The servers restart as masters (no replicaof in their config); the label holders must
      // become replicas of the primary in the engines too.
      const others = (await pods(env.core, NS, SERVER)).filter((p) => nameOf(p) !== nameOf(primary));
      const t1 = performance.now();
      for (const p of others) {
        await eventually(`${nameOf(p)} a replica of ${nameOf(primary)}`, async () => {
          const info = await replicationInfo(ipOf(p)).catch(() => '');
          return info.includes('role:slave') && info.includes(`master_host:${ipOf(primary)}`) ? true : undefined;
        }, { timeoutMs: 60_000, intervalMs: 200 });
      }
      console.log(`[fault-redis] (c) secondaries replicating in the engines ${(performance.now() - t0).toFixed(0)} ms after the crash (${(performance.now() - t1).toFixed(0)} ms after the roles settled)`);
    });
  }, 180_000);
});
