// The role loop's round (controller/roles/round.ts) with an engine in memory: each state of
// decide.ts leads to its one operation, then a fresh snapshot, then labels — bootstrap, a fresh
// pod wired, split brain demoted, a lost primary failed over only after failureThreshold rounds
// and only where the engine fails over by the controller, a returning server fenced first.
import { describe, expect, it } from 'vitest';
import { bareRound, type BareShard } from '../../support/bare-shard.js';
import type { Role } from '../../../schemas/types/index.js';
import { FakeEngine, type FakeServer } from './fake-engine.js';

const host = (i: number) => `10.0.0.${i}`;

function shard(servers: FakeServer[], opts: { labels?: Array<Role | undefined>; failoverBy?: 'controller' | 'sentinel'; sentinelManaged?: boolean; threshold?: number } = {}) {
  const engine = new FakeEngine(opts.failoverBy ?? 'controller');
  servers.forEach((s, i) => engine.servers.set(host(i), s));
  const labels = new Map<string, Role>();
  (opts.labels ?? []).forEach((r, i) => r !== undefined && labels.set(`r-${i}`, r));
  const bare: BareShard = {
    engine,
    spec: { type: 'redis', port: 6379 } as BareShard['spec'],
    targets: servers.map((_, i) => ({ podName: `r-${i}`, host: host(i), port: 6379 })),
    labels,
    history: { history: new Map() },
    failureThreshold: opts.threshold ?? 3,
    probeTimeoutMs: 1_000,
    ...(opts.sentinelManaged !== undefined ? { sentinelManaged: opts.sentinelManaged } : {}),
  };
  const events: string[] = [];
  const round = async (intent = { switching: false }) => {
    const out = await bareRound(bare, intent);
    events.push(...out.events.map((e) => e.reason));
    return out;
  };
  const labelled = (): Record<string, Role> => Object.fromEntries([...labels].sort());
  return { engine, labels, labelled, events, round };
}

const primary: FakeServer = { role: 'primary' };
const replicaOf = (i: number): FakeServer => ({ role: 'secondary', follows: host(i) });

describe('role round', () => {
  it('Bootstrapping: a set nobody wired gets its lowest ordinal promoted, the others follow, then labels', async () => {
    const s = shard([{ role: 'unwired' }, { role: 'unwired' }, { role: 'unwired' }]);
    const out = await s.round();
    expect(out.ran).toEqual(['wire', 'settle']);
    expect(s.engine.ops).toEqual(['promote r-0', 'follow r-1 r-0', 'follow r-2 r-0']);
    expect(s.labelled()).toEqual({ 'r-0': 'primary', 'r-1': 'secondary', 'r-2': 'secondary' });
    expect((await s.round()).state).toBe('Healthy');
  });

  it('Degraded: a fresh pod that reports primary is wired to the labelled primary, never labelled primary', async () => {
    const s = shard([primary, replicaOf(0), primary], { labels: ['primary', 'secondary', undefined] });
    const out = await s.round();
    expect(out.ran).toEqual(['wire', 'settle']);
    expect(s.engine.ops).toEqual(['follow r-2 r-0']);
    expect(s.labelled()).toEqual({ 'r-0': 'primary', 'r-1': 'secondary', 'r-2': 'secondary' });
  });

  it('SplitBrain: two established claimants, no Sentinel: all but one demoted in the engine before any label', async () => {
    const s = shard([primary, { role: 'primary', follows: undefined, offset: 1 }, replicaOf(0)], { labels: ['primary', 'primary', 'secondary'] });
    const out = await s.round();
    // r-1 is kept (the most advanced); r-0 is demoted, then r-2, which followed r-0, is rewired.
    expect(out.ran).toEqual(['demote', 'wire', 'settle']);
    expect(s.engine.ops).toEqual(['demote r-0 r-1', 'follow r-2 r-1']);
    expect(s.events).toContain('SplitBrain');
    expect(s.engine.primaryHost()).toBe(host(1));
    expect(Object.values(s.labelled()).filter((r) => r === 'primary')).toHaveLength(1);
  });

  it('PrimaryLost: failover only after failureThreshold rounds, to the most advanced replica; then Healthy', async () => {
    const s = shard([primary, { ...replicaOf(0), offset: 5 }, { ...replicaOf(0), offset: 9 }], { labels: ['primary', 'secondary', 'secondary'], threshold: 3 });
    expect((await s.round()).state).toBe('Healthy');
    s.engine.servers.set(host(0), { role: 'down' });
    const states: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await s.round();
      states.push(`${out.state}:${out.ran.join('+')}`);
    }
    // Rounds 1 and 2 wait (1/3, 2/3 lost probes); round 3 fails over to r-2 (offset 9).
    expect(states.slice(0, 2)).toEqual(['PrimaryLost:settle', 'PrimaryLost:settle']);
    expect(states[2]).toMatch(/^.*:failover\+settle$/);
    expect(s.engine.ops).toContain('failover r-2');
    expect(s.labelled()['r-2']).toBe('primary');
    expect(s.labelled()['r-0']).toBeUndefined();
    expect(s.events).toContain('Failover');
  });

  it('an engine failed over by Sentinel is never failed over by the round', async () => {
    const s = shard([primary, replicaOf(0)], { labels: ['primary', 'secondary'], failoverBy: 'sentinel' });
    s.engine.servers.set(host(0), { role: 'down' });
    for (let i = 0; i < 6; i++) expect((await s.round()).ran).toEqual(['settle']);
    expect(s.engine.ops).toEqual([]);
  });

  it('a former primary back read-only and unwired is fenced onto the primary before it is labelled', async () => {
    const s = shard([{ role: 'unwired' }, primary, replicaOf(1)], { labels: [undefined, 'primary', 'secondary'] });
    const out = await s.round();
    // role-plan wires an unlabelled server that follows nobody; fencing (Engine.demote) covers
    // the case where it was labelled: both end with it following the primary, unlabelled primary never.
    expect(out.ran[0]).toMatch(/^(wire|fence)$/);
    expect(s.engine.servers.get(host(0))).toMatchObject({ role: 'secondary', follows: host(1) });
    expect(s.labelled()).toEqual({ 'r-0': 'secondary', 'r-1': 'primary', 'r-2': 'secondary' });
  });

  it('Switching: a switchover in progress keeps the round out of the engines', async () => {
    const s = shard([primary, replicaOf(0)], { labels: ['primary', 'secondary'] });
    const out = await s.round({ switching: true });
    expect(out).toMatchObject({ state: 'Switching', ran: [], unsettled: true });
    expect(s.engine.probes).toBe(0);
  });
});
