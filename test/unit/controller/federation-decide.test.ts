// decideFederatedShard (controller/federation/decide.ts): the federation manager's one decision
// for a spread shard, case by case and as a property over random status sets: it never makes a
// second primary while the recorded one, or any established one, acts as primary.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideFederatedShard, established, recordRound, replicasRequired, type FedMember, type FedShardSnapshot, type RecordedPrimary } from '../../../controller/federation/decide.js';
import type { ProbeResult } from '../../../controller/engines/types.js';
import type { ProbeHistory } from '../../../controller/roles/failover.js';

const CLUSTER = (i: number): string => (i < 2 ? 'west' : 'central');
const host = (i: number): string => `10.244.${i < 2 ? 1 : 2}.${10 + i}`;
const down: ProbeResult = { reachable: false, error: 'connect ECONNREFUSED' };
const fresh: ProbeResult = { reachable: true, role: 'primary', replicas: 0, offset: 0 };
const primary = (replicas: number, offset = 100): ProbeResult => ({ reachable: true, role: 'primary', replicas, offset });
const replica = (of: number, offset = 100, linkUp = true): ProbeResult => ({ reachable: true, role: 'secondary', offset, following: { host: host(of), port: 6379, linkUp } });

const member = (i: number, probe: ProbeResult | undefined): FedMember => ({
  memberCluster: CLUSTER(i),
  podName: `s-${i}`,
  ordinal: i,
  target: { podName: `s-${i}`, host: host(i), port: 6379 },
  ...(probe !== undefined ? { probe } : {}),
});

/** Runs `rounds` rounds of the same probes through one history, as the manager does, and returns the last decision. */
function decide(probes: Array<ProbeResult | undefined>, recorded?: number, rounds = 1, extra: Partial<FedShardSnapshot> = {}) {
  const history: ProbeHistory = { history: new Map() };
  const members = probes.map((p, i) => member(i, p));
  const rec: RecordedPrimary | undefined = recorded !== undefined ? { memberCluster: CLUSTER(recorded), pod: `s-${recorded}` } : undefined;
  let d;
  for (let r = 0; r < rounds; r++) {
    const watched = recordRound(history, members, rec, 3);
    d = decideFederatedShard({ members, expectedPods: probes.length, ...(rec !== undefined ? { recorded: rec } : {}), failureThreshold: 3, history, watched, ...extra });
  }
  return d!;
}

describe('decideFederatedShard', () => {
  it('bootstraps a fresh shard at its lowest global ordinal once every server answers, in whichever member cluster it is', () => {
    expect(decide([fresh, fresh, fresh])).toMatchObject({ state: 'Bootstrapping', op: { kind: 'bootstrap', primary: 's-0', follow: ['s-1', 's-2'] }, primary: 's-0' });
    expect(decide([fresh, down, fresh])).toMatchObject({ state: 'Waiting', op: { kind: 'none' } });
    expect(decide([fresh, fresh, fresh].slice(0, 2), undefined, 1, { expectedPods: 3 })).toMatchObject({ state: 'Waiting' });
  });

  it('is Healthy when the recorded primary leads and every server replicates from it', () => {
    expect(decide([primary(2), replica(0), replica(0)], 0)).toMatchObject({ state: 'Healthy', op: { kind: 'none' }, primary: 's-0' });
  });

  it('reports a replica the primary has not heard from for over 3 s as cut off (a partition), and touches nothing', () => {
    const links = (lag: number): ProbeResult => ({ ...primary(2), replicaLinks: [{ host: host(1), port: 6379, lagSeconds: 0 }, { host: host(2), port: 6379, lagSeconds: lag }] });
    expect(decide([links(1), replica(0), replica(0)], 0)).toMatchObject({ state: 'Healthy' });
    expect(decide([links(9), replica(0), replica(0)], 0)).toMatchObject({ state: 'Degraded', op: { kind: 'none', reason: expect.stringMatching(/has not heard from s-2 for over 3 s/) }, primary: 's-0' });
  });

  it('MariaDB semi-sync: only replicas outside the primary\'s member cluster acknowledge commits', () => {
    const sided = (p: ProbeResult, acks: boolean): ProbeResult => ({ ...p, semiSyncReplicaSide: acks });
    // s-0 (west) primary: s-1 (west) must not acknowledge, s-2 (central) must.
    expect(decide([primary(2), sided(replica(0), false), sided(replica(0), true)], 0, 1, { semiSync: true })).toMatchObject({ state: 'Healthy' });
    expect(decide([primary(2), sided(replica(0), true), sided(replica(0), true)], 0, 1, { semiSync: true })).toMatchObject({
      state: 'Degraded',
      op: { kind: 'wire', primary: 's-0', follow: ['s-1'], reason: expect.stringMatching(/s-1 acknowledge semi-sync commits where they must not/) },
    });
    // s-2 (central) primary: both west replicas acknowledge.
    expect(decide([sided(replica(2), false), sided(replica(2), true), primary(2)], 2, 1, { semiSync: true })).toMatchObject({ op: { kind: 'wire', follow: ['s-0'] } });
    // Not semi-sync: the side is not looked at.
    expect(decide([primary(2), sided(replica(0), true), sided(replica(0), false)], 0)).toMatchObject({ state: 'Healthy' });
  });

  it('MariaDB semi-sync: a commit that waits over 3 s for an acknowledgement (its acknowledging replicas cut off) is Degraded, touching nothing', () => {
    const waiting = (ms: number): ProbeResult => ({ ...primary(2), semiSyncPrimarySide: true, commitWaitMs: ms });
    const sided = (p: ProbeResult, acks: boolean): ProbeResult => ({ ...p, semiSyncReplicaSide: acks });
    const run = (ms: number) => decide([waiting(ms), sided(replica(0), false), sided(replica(0), true)], 0, 1, { semiSync: true });
    // A commit in flight (waiting a few ms, or up to the bound) is the normal case.
    expect(run(0)).toMatchObject({ state: 'Healthy' });
    expect(run(3_000)).toMatchObject({ state: 'Healthy' });
    expect(run(4_250)).toMatchObject({
      state: 'Degraded',
      op: { kind: 'none', reason: expect.stringMatching(/commits on s-0 have waited 4\.3 s for a semi-sync acknowledgement: no replica outside west acknowledges/) },
      primary: 's-0',
    });
  });

  it('rolling update: the primary is handed over only once every secondary, in every member cluster, is updated', () => {
    const run = (outdated: Array<boolean | undefined>, offsets = [300, 200, 250]) => {
      const history: ProbeHistory = { history: new Map() };
      const members = [primary(2, offsets[0]), replica(0, offsets[1]), replica(0, offsets[2])].map((p, i) => ({ ...member(i, p), ...(outdated[i] !== undefined ? { outdated: outdated[i] } : {}) }));
      const rec = { memberCluster: 'west', pod: 's-0' };
      return decideFederatedShard({ members, expectedPods: 3, recorded: rec, failureThreshold: 3, history, watched: recordRound(history, members, rec, 3) });
    };
    expect(run([false, false, false])).toMatchObject({ state: 'Healthy' });
    expect(run([true, true, false])).toMatchObject({ state: 'Updating', op: { kind: 'none', reason: expect.stringMatching(/waiting for s-1 to be updated/) }, primary: 's-0' });
    // A member cluster whose controller has not observed the new spec yet: unknown, so it waits.
    expect(run([true, false, undefined])).toMatchObject({ state: 'Updating', op: { kind: 'none' } });
    // Every secondary updated: hand over to the most advanced (s-2, in the other member cluster).
    expect(run([true, false, false])).toMatchObject({ state: 'Updating', op: { kind: 'switchover', from: 's-0', to: 's-2' }, primary: 's-2' });
    // The new primary updated, the old one (now a secondary) not yet: nothing to do but wait for it.
    expect(run([false, true, false])).toMatchObject({ state: 'Updating', op: { kind: 'none' }, primary: 's-0' });
  });

  it('Redis: the primary needs one more connected replica than its own member cluster has connected (so one is elsewhere)', () => {
    const withLinks = (...of: number[]): ProbeResult => ({ ...primary(of.length), replicaLinks: of.map((i) => ({ host: host(i), port: 6379, lagSeconds: 0 })) });
    const ms = (p: ProbeResult) => [member(0, p), member(1, replica(0)), member(2, replica(0))];
    expect(replicasRequired(ms(withLinks(1, 2)), ms(withLinks(1, 2))[0]!)).toBe(2); // s-1 local + one remote
    expect(replicasRequired(ms(withLinks(2)), ms(withLinks(2))[0]!)).toBe(1); // s-1 being replaced: still one remote needed
    expect(replicasRequired(ms(primary(0)), ms(primary(0))[0]!)).toBeUndefined();
    // Primary s-2 alone in central: any one replica is remote.
    const c = [member(0, replica(2)), member(1, replica(2)), member(2, withLinks(0, 1))];
    expect(replicasRequired(c, c[2]!)).toBe(1);
  });

  it('wires a replica that follows another server or whose link stopped, and a fresh MariaDB (no role)', () => {
    expect(decide([primary(1), replica(2), replica(0)], 0)).toMatchObject({ state: 'Degraded', op: { kind: 'wire', primary: 's-0', follow: ['s-1'] } });
    expect(decide([primary(1), replica(0, 100, false), replica(0)], 0)).toMatchObject({ op: { kind: 'wire', follow: ['s-1'] } });
    expect(decide([primary(1), { reachable: true, readOnly: true, offset: 0 }, replica(0)], 0)).toMatchObject({ op: { kind: 'wire', follow: ['s-1'] } });
  });

  it('demotes every other claimant of primary in the engine while the recorded primary leads (an old primary back, a fresh Redis)', () => {
    expect(decide([primary(1), replica(0), fresh], 0)).toMatchObject({ state: 'SplitBrain', op: { kind: 'demote', keep: 's-0', demote: ['s-2'] } });
    expect(decide([primary(0), primary(1), replica(1)], 1)).toMatchObject({ op: { kind: 'demote', keep: 's-1', demote: ['s-0'] } });
  });

  it('fails over only after failureThreshold lost probes in a row, to the replica that received most, in any member cluster', () => {
    expect(decide([down, replica(0, 100), replica(0, 200)], 0, 2)).toMatchObject({ state: 'Degraded', op: { kind: 'none' }, primary: 's-0' });
    expect(decide([down, replica(0, 100), replica(0, 200)], 0, 3)).toMatchObject({ state: 'FailingOver', op: { kind: 'failover', candidate: 's-2', others: ['s-1'] }, primary: 's-2' });
    // What the replicas received (MariaDB's relay log) wins over what they applied.
    expect(decide([down, replica(0, 100), replica(0, 200)], 0, 3, { received: new Map([['s-1', 300], ['s-2', 200]]) })).toMatchObject({ op: { kind: 'failover', candidate: 's-1' } });
    expect(decide([down, down, down], 0, 5)).toMatchObject({ op: { kind: 'none' } });
  });

  it('finishes its own recorded decision after a restart cut it off, and never starts a second one', () => {
    // Recorded s-2 (written before the engines moved), but s-2 still follows the lost s-0.
    expect(decide([down, replica(0), replica(0)], 2)).toMatchObject({ state: 'FailingOver', op: { kind: 'failover', candidate: 's-2', others: ['s-1'] } });
    // Promoted but nobody follows it yet: the same decision, now only wiring.
    expect(decide([down, replica(0), fresh], 2)).toMatchObject({ op: { kind: 'wire', primary: 's-2', follow: ['s-1'] } });
  });

  it('adopts an established primary it did not record (someone moved it, or the status was lost), touching no engine', () => {
    expect(decide([replica(2), replica(2), primary(2)], 0)).toMatchObject({ op: { kind: 'adopt', primary: 's-2' }, primary: 's-2' });
    expect(decide([down, replica(2), primary(1)], 0)).toMatchObject({ op: { kind: 'adopt', primary: 's-2' } });
    expect(decide([primary(2), replica(0), replica(0)])).toMatchObject({ op: { kind: 'adopt', primary: 's-0' } });
  });

  it('with nothing recorded and two established primaries, keeps the most advanced and demotes the other', () => {
    expect(decide([primary(1, 50), replica(0), primary(0, 90)].map((p, i) => (i === 2 ? { ...p, replicas: 1 } : p)))).toMatchObject({ state: 'SplitBrain', op: { kind: 'demote', keep: 's-2', demote: ['s-0'] } });
  });

  describe('leaving pods (an ordinal moving between member clusters: its old and new pod share a name)', () => {
    // Ordinal 1 moves from west to central: s-1@west is the old pod (leaving), s-1 the new one.
    const at = (i: number, cluster: string, probe: ProbeResult, leaving = false): FedMember => {
      const h = `10.244.${cluster === 'west' ? 1 : 2}.${10 + i}`;
      const key = leaving ? `s-${i}@${cluster}` : `s-${i}`;
      return { memberCluster: cluster, podName: key, ...(leaving ? { pod: `s-${i}`, leaving: true } : {}), ordinal: i, target: { podName: key, host: h, port: 6379 }, probe };
    };
    const follow = (cluster: string, i: number, offset = 100): ProbeResult => ({ reachable: true, role: 'secondary', offset, following: { host: `10.244.${cluster === 'west' ? 1 : 2}.${10 + i}`, port: 6379, linkUp: true } });
    const run = (members: FedMember[], recorded: RecordedPrimary | undefined, rounds = 1, extra: Partial<FedShardSnapshot> = {}) => {
      const history: ProbeHistory = { history: new Map() };
      let d;
      for (let r = 0; r < rounds; r++) {
        const watched = recordRound(history, members, recorded, 3);
        d = decideFederatedShard({ members, expectedPods: 3, ...(recorded !== undefined ? { recorded } : {}), failureThreshold: 3, history, watched, ...extra });
      }
      return d!;
    };

    it('the new pod (a fresh Redis claiming primary) is demoted under the recorded primary, which may be the leaving pod; the leaving pod is not counted as expected', () => {
      const rec = { memberCluster: 'west', pod: 's-1@west' };
      const d = run([at(0, 'west', follow('west', 1)), at(1, 'west', primary(2), true), at(1, 'central', fresh), at(2, 'central', follow('west', 1))], rec);
      expect(d).toMatchObject({ state: 'SplitBrain', op: { kind: 'demote', keep: 's-1@west', demote: ['s-1'] }, primary: 's-1@west' });
      expect(run([at(0, 'west', follow('west', 1)), at(1, 'west', primary(3), true), at(1, 'central', follow('west', 1)), at(2, 'central', follow('west', 1))], rec)).toMatchObject({ state: 'Healthy', primary: 's-1@west' });
      // the new pod not there yet: one pod short, though four... three pods answer
      expect(run([at(0, 'west', follow('west', 1)), at(1, 'west', primary(2), true), at(2, 'central', follow('west', 1))], rec)).toMatchObject({ state: 'Degraded', op: { kind: 'none', reason: expect.stringMatching(/1 pod\(s\) missing/) } });
    });

    it('never bootstraps, fails over to, or hands an update over to a leaving pod', () => {
      expect(run([at(0, 'west', fresh, true), at(0, 'central', fresh), at(1, 'west', fresh), at(2, 'central', fresh)], undefined)).toMatchObject({ state: 'Bootstrapping', op: { kind: 'bootstrap', primary: 's-0' } });
      // the recorded primary s-0 is lost; the leaving s-1@west received most, s-2 is promoted
      const lost = run([at(0, 'central', down), at(1, 'west', follow('central', 0, 900), true), at(1, 'central', follow('central', 0, 100)), at(2, 'central', follow('central', 0, 200))], { memberCluster: 'central', pod: 's-0' }, 3);
      expect(lost).toMatchObject({ state: 'FailingOver', op: { kind: 'failover', candidate: 's-2' } });
      expect((lost.op as { others: string[] }).others).toContain('s-1@west');
      // rolling update: the leaving pod (no revision: it is not in spec) does not hold the update back nor takes the primary over
      const upd = (m: FedMember, outdated: boolean | undefined): FedMember => ({ ...m, ...(outdated !== undefined ? { outdated } : {}) });
      const d = run([upd(at(0, 'central', primary(3)), true), upd(at(1, 'west', follow('central', 0, 999), true), undefined), upd(at(1, 'central', follow('central', 0)), false), upd(at(2, 'central', follow('central', 0)), false)], { memberCluster: 'central', pod: 's-0' });
      expect(d).toMatchObject({ state: 'Updating', op: { kind: 'switchover', from: 's-0' } });
      expect((d.op as { to: string }).to).not.toBe('s-1@west');
    });
  });

  it('never makes a second primary while the recorded one, or any established one, acts as primary (property)', () => {
    const probe = fc.oneof(
      fc.constant(down),
      fc.constant(fresh),
      fc.record({ replicas: fc.integer({ min: 0, max: 2 }), offset: fc.integer({ min: 0, max: 300 }) }).map((r) => primary(r.replicas, r.offset)),
      fc.record({ of: fc.integer({ min: 0, max: 3 }), offset: fc.integer({ min: 0, max: 300 }), up: fc.boolean() }).map((r) => replica(r.of, r.offset, r.up)),
      fc.constant<ProbeResult>({ reachable: true, readOnly: true, offset: 0 }),
    );
    fc.assert(
      fc.property(fc.array(probe, { minLength: 2, maxLength: 4 }), fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), fc.integer({ min: 1, max: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (probes, recorded, rounds, leavingFlags) => {
        const rec = recorded !== undefined && recorded < probes.length ? recorded : undefined;
        // Some pods leaving (keyed <pod>@<memberCluster>, as gather.ts names them): never promoted, unless it is the record being carried out.
        const leaving = (i: number): boolean => leavingFlags[i] === true;
        const members = probes.map((p, i) => {
          const m = member(i, p);
          return leaving(i) ? { ...m, podName: `s-${i}@${m.memberCluster}`, pod: `s-${i}`, leaving: true, target: { ...m.target!, podName: `s-${i}@${m.memberCluster}` } } : m;
        });
        const history: ProbeHistory = { history: new Map() };
        const recorded_ = rec !== undefined ? { memberCluster: CLUSTER(rec), pod: members[rec]!.podName } : undefined;
        let d: ReturnType<typeof decideFederatedShard> | undefined;
        for (let r = 0; r < rounds; r++) {
          const watched = recordRound(history, members, recorded_, 3);
          d = decideFederatedShard({ members, expectedPods: members.filter((m) => m.leaving !== true).length, ...(recorded_ !== undefined ? { recorded: recorded_ } : {}), failureThreshold: 3, history, watched });
        }
        if (d === undefined) return;
        const keyOfIndex = (i: number): string => members[i]!.podName;
        const promotedLeaving = d.op.kind === 'bootstrap' ? d.op.primary : d.op.kind === 'failover' ? d.op.candidate : undefined;
        if (promotedLeaving !== undefined && promotedLeaving.includes('@')) expect(rec !== undefined && promotedLeaving === keyOfIndex(rec), `${promotedLeaving} (leaving) promoted`).toBe(true);
        if (d.op.kind === 'switchover') expect(d.op.to.includes('@'), `${d.op.to} (leaving) takes the primary over`).toBe(false);
        const promoted = d.op.kind === 'bootstrap' ? d.op.primary : d.op.kind === 'failover' ? d.op.candidate : undefined;
        if (promoted !== undefined) {
          // The recorded primary does not act as primary, and no other engine is an established primary.
          if (rec !== undefined && keyOfIndex(rec) !== promoted) expect(probes[rec]?.reachable === true && probes[rec]?.role === 'primary').toBe(false);
          for (const m of members) if (m.podName !== promoted) expect(established(m, members), `${m.podName} is an established primary while ${promoted} is promoted`).toBe(false);
        }
        // The recorded primary, while it acts as primary, is never demoted.
        if (d.op.kind === 'demote' && rec !== undefined && probes[rec]?.reachable === true && probes[rec]?.role === 'primary') expect(d.op.demote).not.toContain(keyOfIndex(rec));
        // At most one primary is published.
        if (d.primary !== undefined) expect(members.some((m) => m.podName === d.primary)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
