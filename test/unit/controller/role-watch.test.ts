// The role watch (controller/roles/role-watch.ts): the pure change test, and the
// probe loop with a fake engine driver and fake caches: a promotion between two rounds is
// relabelled within about one watch interval, not at the next period; with the watch off, at the
// period; an engine that stops answering starts no extra round (failover counts full rounds).
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RoleProbes } from '../../../controller/roles/loop.js';
import { roleChanged, seenRoles } from '../../../controller/roles/role-watch.js';
import { newControllerMemory, type ControllerContext } from '../../../controller/runtime/context.js';
import { ControllerMetrics } from '../../../controller/runtime/metrics.js';
import type { Engine, ProbeResult } from '../../../controller/engines/types.js';
import { LABELS, type InstanceSet, type KubeObject, type Role } from '../../../schemas/types/index.js';
import { FakeEngine } from './fake-engine.js';
import { instanceSet, observedPod } from './fixtures.js';

describe('roleChanged', () => {
  const up = (role?: Role): ProbeResult => ({ reachable: true, ...(role !== undefined ? { role } : {}) });
  const down: ProbeResult = { reachable: false, error: 'refused' };
  const seen = (...ps: Array<[string, ProbeResult]>) => seenRoles(ps.map(([podName, probe]) => ({ podName, probe })));

  it('names a pod whose engine answered both times with another role', () => {
    const last = seen(['r-0', up('primary')], ['r-1', up('secondary')]);
    expect(roleChanged(last, seen(['r-0', up('secondary')], ['r-1', up('primary')]))).toBe('r-0');
    expect(roleChanged(last, seen(['r-0', up('primary')], ['r-1', up('primary')]))).toBe('r-1');
    // answered without a role (a read-only MariaDB replicating from nobody) is a change too
    expect(roleChanged(last, seen(['r-0', up()], ['r-1', up('secondary')]))).toBe('r-0');
  });

  it('sees no change when nothing moved, before the first round, or for pods that did not answer or are new', () => {
    const last = seen(['r-0', up('primary')], ['r-1', up('secondary')], ['r-2', down]);
    expect(roleChanged(last, seen(['r-0', up('primary')], ['r-1', up('secondary')]))).toBeUndefined();
    expect(roleChanged(undefined, seen(['r-0', up('secondary')]))).toBeUndefined();
    // r-1 stopped answering, r-2 answers again, r-3 is new: none of that is a role change
    expect(roleChanged(last, seen(['r-0', up('primary')], ['r-1', down], ['r-2', up('primary')], ['r-3', up('primary')]))).toBeUndefined();
  });
});

function harness(watchMs: number) {
  const is: InstanceSet = instanceSet('r', {
    roles: [
      { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
      { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
    ],
    roleProbe: { periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3 },
  });
  const pods = new Map<string, KubeObject>();
  const engines = new FakeEngine();
  for (let i = 0; i < 3; i++) {
    const p = observedPod('r', `r-${i}`, { ready: true, role: i === 0 ? 'primary' : 'secondary' });
    (p['status'] as Record<string, unknown>)['podIP'] = `10.0.0.${i}`;
    pods.set(p.metadata.name, p);
    engines.servers.set(`10.0.0.${i}`, i === 0 ? { role: 'primary' } : { role: 'secondary', follows: '10.0.0.0' });
  }
  /** When each pod got each role label (ms since the harness started). */
  const labelled: Array<{ pod: string; role: string | undefined; at: number }> = [];
  const t0 = performance.now();
  const setLabel = (name: string, role: string | undefined): void => {
    const p = pods.get(name);
    if (p === undefined) return;
    const labels = { ...(p.metadata.labels ?? {}) };
    if (role === undefined) delete labels[LABELS.role];
    else labels[LABELS.role] = role;
    pods.set(name, { ...p, metadata: { ...p.metadata, labels } });
    labelled.push({ pod: name, role, at: performance.now() - t0 });
  };
  const podName = (path: string): string => path.split('/').pop() ?? '';
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const metrics = new ControllerMetrics(() => ({}));
  const ctx = {
    client: {
      kc,
      apply: async (path: string, body: KubeObject) => setLabel(podName(path), body.metadata.labels?.[LABELS.role]),
      mergePatch: async (path: string) => setLabel(podName(path), undefined),
    },
    caches: {
      instanceSets: { get: () => is, list: () => [is] },
      pods: { byLabel: () => [...pods.values()], get: (_ns: string, name: string) => pods.get(name) },
    },
    memory: newControllerMemory(),
    events: { emit: () => undefined },
    log: pino({ level: 'silent' }),
    metrics,
    now: () => Date.now(),
  } as unknown as ControllerContext;
  const probes = new RoleProbes(ctx, { watchMs });
  (probes as unknown as { engines: Map<string, Engine> }).engines.set('redis', engines);
  return { probes, engines, labelled, metrics, start: () => probes.start() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

/** Promotes r-1 (r-0 demoted first) right after a round and returns ms until r-1 is labelled primary. */
async function relabelAfterPromotion(h: ReturnType<typeof harness>): Promise<number> {
  h.start();
  const rounds = (): number => h.engines.probes;
  await until('first round', 2_000, () => rounds() >= 3);
  await sleep(50); // just after a round: the next one is ~2 s away
  // Every replica follows the new primary at once, as Sentinel repoints them.
  h.engines.servers.set('10.0.0.0', { role: 'secondary', follows: '10.0.0.1' });
  h.engines.servers.set('10.0.0.1', { role: 'primary' });
  h.engines.servers.set('10.0.0.2', { role: 'secondary', follows: '10.0.0.1' });
  const changed = performance.now();
  await until('r-1 labelled primary', 4_000, () => h.labelled.some((l) => l.pod === 'r-1' && l.role === 'primary'));
  return performance.now() - changed;
}

describe('RoleProbes with the role watch', () => {
  const running: RoleProbes[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });

  it('relabels a promotion between rounds within about one watch interval', async () => {
    const h = harness(50);
    running.push(h.probes);
    const ms = await relabelAfterPromotion(h);
    expect(ms).toBeLessThan(500);
    // the old primary's label went first, then the new one: never two primaries
    const order = h.labelled.map((l) => `${l.pod}=${l.role ?? '-'}`);
    expect(order.indexOf('r-0=secondary')).toBeLessThan(order.indexOf('r-1=primary'));
  });

  it('with the watch off, waits for the next round (the period)', async () => {
    const h = harness(0);
    running.push(h.probes);
    const ms = await relabelAfterPromotion(h);
    expect(ms).toBeGreaterThan(1_500);
  });

  it('starts no extra round when an engine stops answering', async () => {
    const h = harness(50);
    running.push(h.probes);
    h.start();
    await until('first round', 2_000, () => h.engines.probes >= 3);
    await sleep(50);
    const rounds = async (): Promise<number> => {
      const m = await h.metrics.roleProbeRound.get();
      return m.values.find((v) => v.metricName === 'dbtopo_role_probe_round_seconds_count')?.value ?? 0;
    };
    const c0 = await rounds();
    const writes = h.labelled.length;
    h.engines.servers.set('10.0.0.2', { role: 'down' });
    await sleep(1_200); // ~24 watch checks, still before the next round
    expect(await rounds()).toBe(c0);
    expect(h.labelled.length).toBe(writes);
  });
});
