// The role loop's round (controller/roles/round.ts) with an engine in memory: each state of
// decide.ts leads to its one operation, then a fresh snapshot, then labels — bootstrap, a fresh
// pod wired, split brain demoted, a lost primary failed over only after failureThreshold rounds
// and only where the engine fails over by the controller, a returning server fenced first.
import { describe, expect, it } from 'vitest';
import { bareRound, type BareShard } from '../../support/bare-shard.js';
import type { Role } from '../../../schemas/types/index.js';
import { decideSwitchover, type ShardSnapshot } from '../../../controller/roles/decide.js';
import { requestRecord, USER_REQUEST } from '../../../controller/reconcile/instanceset/switchover-record.js';
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
  const round = async (intent: Parameters<typeof bareRound>[1] = { switching: false }) => {
    const out = await bareRound(bare, intent);
    events.push(...out.events.map((e) => e.reason));
    return out;
  };
  const labelled = (): Record<string, Role> => Object.fromEntries([...labels].sort());
  return { engine, labels, labelled, events, round, bare };
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

  it('Switching: a Requested switchover is carried out by the round, recorded Running then Succeeded, and relabelled in the same round', async () => {
    const s = shard([primary, { ...replicaOf(0), offset: 3 }, { ...replicaOf(0), offset: 7 }], { labels: ['primary', 'secondary', 'secondary'] });
    const request = requestRecord('r-0', undefined, 'before updating r-0', Date.parse('2026-12-03T04:00:00Z'));
    const out = await s.round({ switching: false, switchover: request });
    expect(out.ran).toEqual(['switchover', 'settle']);
    expect(s.engine.ops).toContain('switchover r-0 r-2'); // the most advanced linked replica
    expect(s.bare.records!.map((r) => r.phase)).toEqual(['Running', 'Succeeded']);
    expect(s.bare.records![1]).toMatchObject({ from: 'r-0', startedAt: request.startedAt, message: expect.stringMatching(/primary moved from r-0 to r-2/) });
    expect(s.labelled()).toEqual({ 'r-0': 'secondary', 'r-1': 'secondary', 'r-2': 'primary' });
    expect(s.events.filter((e) => e.startsWith('Switchover'))).toEqual(['Switchover', 'SwitchoverDone']);
  });

  it("Switching: Sentinel's NOGOODSLAVE leaves an update's request Requested with why, one Event, and the next round carries it out", async () => {
    const s = shard([primary, replicaOf(0)], { labels: ['primary', 'secondary'] });
    s.engine.switchoverError = 'NOGOODSLAVE No suitable replica to promote';
    const request = requestRecord('r-0', 'r-1', 'before updating r-0', Date.parse('2026-12-03T04:00:00Z'));
    const first = await s.round({ switching: false, switchover: request });
    expect(first).toMatchObject({ state: 'Switching', unsettled: true });
    expect(s.bare.records!.map((r) => r.phase)).toEqual(['Running', 'Requested']);
    expect(s.bare.records![1]!.message).toBe('NOGOODSLAVE No suitable replica to promote');
    expect(s.labelled()).toEqual({ 'r-0': 'primary', 'r-1': 'secondary' });
    const second = await s.round({ switching: false, switchover: s.bare.records![1]! });
    expect(second.ran).toEqual(['switchover', 'settle']);
    expect(s.bare.records!.at(-1)?.phase).toBe('Succeeded');
    expect(s.labelled()).toEqual({ 'r-0': 'secondary', 'r-1': 'primary' });
    expect(s.events.filter((e) => e === 'UpdateWaiting')).toHaveLength(1);
  });

  it('Switching: a request from a stale label is resolved from the engines, without a switchover', async () => {
    // r-1 already is the primary in the engines; the labels still say r-0.
    const s = shard([replicaOf(1), primary], { labels: ['primary', 'secondary'] });
    const stale = requestRecord('r-0', undefined, 'before updating r-0', Date.parse('2026-12-03T04:00:00Z'));
    const out = await s.round({ switching: false, switchover: stale });
    expect(out.ran).toEqual(['resolve', 'settle']);
    expect(s.engine.ops.some((o) => o.startsWith('switchover'))).toBe(false);
    expect(s.bare.records).toEqual([expect.objectContaining({ phase: 'Succeeded', message: expect.stringMatching(/already is r-1/) })]);
    expect(s.labelled()).toEqual({ 'r-0': 'secondary', 'r-1': 'primary' });
    // Asked to move it to r-0 while the engines have it on r-1, from r-0: refused, says why.
    const s2 = shard([replicaOf(1), primary, replicaOf(1)], { labels: ['primary', 'secondary', 'secondary'] });
    await s2.round({ switching: false, switchover: requestRecord('r-0', 'r-2', USER_REQUEST, Date.parse('2026-12-03T04:00:00Z')) });
    expect(s2.bare.records).toEqual([expect.objectContaining({ phase: 'Failed', message: expect.stringMatching(/primary is r-1 in the engines, not r-0/) })]);
    expect(s2.events).toContain('SwitchoverFailed');
  });

  it("decideSwitchover: an update's request waits for a replica linked to the primary; a user's is tried at once", () => {
    const p = { podName: 'r-0', ordinal: 0, host: host(0), port: 6379, label: 'primary' as const, probe: { reachable: true, role: 'primary' as const } };
    const linkDown = { podName: 'r-1', ordinal: 1, host: host(1), port: 6379, label: 'secondary' as const, probe: { reachable: true, role: 'secondary' as const, following: { host: host(0), port: 6379, linkUp: false } } };
    const snap = (members: ShardSnapshot['members']): ShardSnapshot => ({ members, targets: new Map(), sentinelManaged: true, failoverBy: 'sentinel', failureThreshold: 3 });
    const at = Date.parse('2026-12-03T04:00:00Z');
    expect(decideSwitchover(snap([p, linkDown]), requestRecord('r-0', undefined, 'before updating r-0', at))).toBeUndefined();
    expect(decideSwitchover(snap([p, linkDown]), requestRecord('r-0', undefined, USER_REQUEST, at))?.kind).toBe('switchover');
    const linked = { ...linkDown, probe: { ...linkDown.probe, following: { ...linkDown.probe.following, linkUp: true } } };
    expect(decideSwitchover(snap([p, linked]), requestRecord('r-0', undefined, 'before updating r-0', at))?.kind).toBe('switchover');
    // two claimants (a failover half done): wait for the guard, never switch over from one of them
    expect(decideSwitchover(snap([p, { ...linked, probe: { reachable: true, role: 'primary' } }]), requestRecord('r-0', undefined, USER_REQUEST, at))).toBeUndefined();
    expect(decideSwitchover({ ...snap([p, linked]), spread: { memberClusters: ['a', 'b'] } }, requestRecord('r-0', undefined, USER_REQUEST, at))).toMatchObject({ kind: 'resolve', phase: 'Failed' });
    expect(decideSwitchover(snap([p, linked]), requestRecord('r-0', 'r-9', USER_REQUEST, at))).toMatchObject({ kind: 'resolve', phase: 'Failed', message: 'r-9 is not a pod of this set' });
  });
});
