import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideFailover, type MemberHistory } from '../../../controller/roles/failover.js';
import { clientSessionsToKill } from '../../../controller/engines/mysql/fence.js';
import { chooseSurvivor, type SplitBrainMember } from '../../../controller/engines/splitbrain.js';
import type { ProbeResult } from '../../../controller/engines/types.js';
import { chooseCandidate } from '../../../controller/update/candidate.js';

const t = (i: number) => ({ podName: `db-${i}`, host: `10.0.0.${i}`, port: 3306 });
const down: ProbeResult = { reachable: false, error: 'connect ECONNREFUSED' };
const primary = (offset = 10): ProbeResult => ({ reachable: true, role: 'primary', offset, readOnly: false });
/** Restarted or recreated: read-only, replicating from nobody, no role. */
const unwired = (offset: number): ProbeResult => ({ reachable: true, offset, readOnly: true });
const replica = (offset: number, of = 0, linkUp = true): ProbeResult => ({
  reachable: true,
  role: 'secondary',
  offset,
  readOnly: true,
  following: { host: t(of).host, port: 3306, linkUp },
});

describe('decideFailover', () => {
  it('does nothing while a primary answers', () => {
    const members: MemberHistory[] = [
      { target: t(0), probes: [down, down, primary()] },
      { target: t(1), probes: [replica(5)] },
    ];
    expect(decideFailover({ members, failureThreshold: 3, labelledPrimary: 'db-0' })).toMatchObject({ action: 'none' });
  });

  it('waits until the primary failed failureThreshold probes in a row', () => {
    const members: MemberHistory[] = [
      { target: t(0), probes: [primary(), down, down] },
      { target: t(1), probes: [replica(5), replica(5), replica(5)] },
    ];
    const d = decideFailover({ members, failureThreshold: 3, labelledPrimary: 'db-0' });
    expect(d).toEqual({ action: 'wait', reason: 'db-0 failed 2/3 probes' });
  });

  it('promotes the replica that received most, ties to the lowest ordinal', () => {
    const members: MemberHistory[] = [
      { target: t(0), probes: [down, down, down] },
      { target: t(1), probes: [replica(7)], received: 9 },
      { target: t(2), probes: [replica(8)], received: 9 },
      { target: t(3), probes: [replica(8)], received: 8 },
    ];
    const d = decideFailover({ members, failureThreshold: 3, labelledPrimary: 'db-0' });
    expect(d).toMatchObject({ action: 'promote', candidate: 'db-1', lostPrimary: 'db-0' });
  });

  it('counts what the lost primary had when last probed and no candidate received (async loses it)', () => {
    const members: MemberHistory[] = [
      { target: t(0), probes: [primary(217), down, down, down] },
      { target: t(1), probes: [replica(200)], received: 202 },
      { target: t(2), probes: [replica(199)], received: 201 },
    ];
    const d = decideFailover({ members, failureThreshold: 3, labelledPrimary: 'db-0' });
    expect(d).toMatchObject({ action: 'promote', candidate: 'db-1', unreceived: 15 });
    expect(d.reason).toContain('db-0 was last seen at position 217: at least 15 transaction(s)');
    // Everything the primary was seen with reached a replica: nothing is reported lost.
    const caughtUp = members.map((m) => (m.target.podName === 'db-1' ? { ...m, received: 217 } : m));
    const c = decideFailover({ members: caughtUp, failureThreshold: 3, labelledPrimary: 'db-0' });
    expect(c).toMatchObject({ action: 'promote', candidate: 'db-1' });
    expect(c).not.toHaveProperty('unreceived');
  });

  it('never promotes an unreachable replica, and waits when none is reachable', () => {
    const members: MemberHistory[] = [
      { target: t(0), probes: [down, down] },
      { target: t(1), probes: [down], received: 100 },
    ];
    expect(decideFailover({ members, failureThreshold: 2, labelledPrimary: 'db-0' })).toEqual({
      action: 'wait',
      reason: 'no reachable replica to promote',
    });
  });

  it('re-promotes a restarted primary (read-only, unwired) that is ahead of every replica; on a tie a replica wins', () => {
    const members = (oldPos: number): MemberHistory[] => [
      { target: t(0), probes: [down, down, unwired(oldPos)] },
      { target: t(1), probes: [replica(7), replica(7), replica(7)], received: 8 },
      { target: t(2), probes: [down, down, replica(6)], received: 6 },
    ];
    expect(decideFailover({ members: members(9), failureThreshold: 3, labelledPrimary: 'db-0' })).toMatchObject({ action: 'promote', candidate: 'db-0', lostPrimary: 'db-0' });
    expect(decideFailover({ members: members(8), failureThreshold: 3, labelledPrimary: 'db-0' })).toMatchObject({ action: 'promote', candidate: 'db-1' });
  });

  it('never promotes an unwired server that is not the lost primary unless it beats a reachable replica', () => {
    const fresh: MemberHistory[] = [
      { target: t(0), probes: [down, down, down] },
      { target: t(1), probes: [unwired(50)] },
    ];
    expect(decideFailover({ members: fresh, failureThreshold: 3, labelledPrimary: 'db-0' })).toMatchObject({ action: 'wait' });
    const ahead: MemberHistory[] = [...fresh, { target: t(2), probes: [replica(3)], received: 4 }];
    expect(decideFailover({ members: ahead, failureThreshold: 3, labelledPrimary: 'db-0' })).toMatchObject({ action: 'promote', candidate: 'db-1' });
  });

  it('property: a promote decision names a reachable replica or read-only unwired server with the highest position', () => {
    const probeArb = fc.oneof(
      fc.constant(down),
      fc.nat(100).map((o) => primary(o)),
      fc.nat(100).map((o) => unwired(o)),
      fc.tuple(fc.nat(100), fc.boolean()).map(([o, up]) => replica(o, 0, up)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ probes: fc.array(probeArb, { minLength: 0, maxLength: 5 }), received: fc.option(fc.nat(100), { nil: undefined }) }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.option(fc.nat(4), { nil: undefined }),
        (raw, k, labelled) => {
          const members: MemberHistory[] = raw.map((m, i) => ({ target: t(i), probes: m.probes, ...(m.received !== undefined ? { received: m.received } : {}) }));
          const labelledPrimary = labelled !== undefined && labelled < members.length ? `db-${labelled}` : undefined;
          const d = decideFailover({ members, failureThreshold: k, ...(labelledPrimary ? { labelledPrimary } : {}) });
          const anyPrimaryNow = members.some((m) => m.probes.at(-1)?.role === 'primary' && m.probes.at(-1)?.reachable);
          if (anyPrimaryNow) expect(d.action).toBe('none');
          if (d.action !== 'promote') return;
          const c = members.find((m) => m.target.podName === d.candidate)!;
          const cl = c.probes.at(-1);
          expect(cl?.reachable).toBe(true);
          // The lost primary only when it came back read-only and unwired.
          if (d.candidate === labelledPrimary || cl?.role !== 'secondary') expect([cl?.readOnly, cl?.role, cl?.following]).toEqual([true, undefined, undefined]);
          const pos = (m: MemberHistory) => m.received ?? m.probes.at(-1)?.offset ?? -1;
          for (const m of members) {
            const last = m.probes.at(-1);
            const candidate = last?.reachable === true && ((last.role === 'secondary' && m.target.podName !== labelledPrimary) || (last.role === undefined && last.following === undefined));
            if (candidate) expect(pos(m)).toBeLessThanOrEqual(pos(c));
          }
          // The watched primary failed k probes in a row.
          const lost = members.find((m) => m.target.podName === labelledPrimary);
          if (lost) {
            expect(lost.probes.length).toBeGreaterThanOrEqual(k);
            expect(lost.probes.slice(-k).every((p) => !(p.reachable && p.role === 'primary'))).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('chooseCandidate', () => {
  const replicas = [
    { target: t(1), probe: replica(5) },
    { target: t(2), probe: replica(9) },
    { target: t(3), probe: replica(99, 0, false) },
    { target: t(4), probe: replica(99, 1) },
  ];
  it('takes the most advanced replica with a live link to this primary', () => {
    expect(chooseCandidate(t(0), replicas).podName).toBe('db-2');
    expect(chooseCandidate(t(0), replicas, 'any').podName).toBe('db-2');
  });
  it('honours a named candidate and explains a bad one', () => {
    expect(chooseCandidate(t(0), replicas, 'db-1').podName).toBe('db-1');
    expect(() => chooseCandidate(t(0), replicas, 'db-3')).toThrow(/not a healthy replica of db-0; wait until its link is up/);
    expect(() => chooseCandidate(t(0), replicas, 'db-8')).toThrow(/choose one of db-1, db-2, db-3, db-4/);
    expect(() => chooseCandidate(t(0), [])).toThrow(/no healthy replica of db-0/);
  });
});

describe('chooseSurvivor', () => {
  const m = (i: number, probe: ProbeResult, labelledPrimary = false): SplitBrainMember => ({ target: t(i), probe, labelledPrimary });
  it('is undefined without two claimants', () => {
    expect(chooseSurvivor([m(0, primary()), m(1, replica(3))])).toBeUndefined();
    expect(chooseSurvivor([m(0, primary()), m(1, { ...primary(), reachable: false })])).toBeUndefined();
  });
  it('keeps the labelled one, else Sentinel’s, else the most advanced, else the lowest ordinal', () => {
    expect(chooseSurvivor([m(0, primary(50)), m(1, primary(1), true)])).toMatchObject({ keep: 'db-1', demote: ['db-0'] });
    expect(chooseSurvivor([m(0, primary(50)), m(1, primary(1))], { host: t(1).host, port: 3306 })).toMatchObject({ keep: 'db-1' });
    expect(chooseSurvivor([m(0, primary(5)), m(1, primary(50)), m(2, primary(50))])).toMatchObject({ keep: 'db-1', demote: ['db-0', 'db-2'] });
    const d = chooseSurvivor([m(2, primary(5)), m(1, primary(5))])!;
    expect(d.keep).toBe('db-1');
    expect(d.reason).toMatch(/db-2 and db-1 all report primary; keeping db-1/);
  });
  it('with two labelled claimants falls through to the next rule', () => {
    expect(chooseSurvivor([m(0, primary(5), true), m(1, primary(6), true)])).toMatchObject({ keep: 'db-1' });
  });
});

describe('clientSessionsToKill', () => {
  it('spares our session, the admin account and server threads', () => {
    const rows = [
      { ID: 1, USER: 'system user', COMMAND: 'Daemon' },
      { ID: 5, USER: 'root', COMMAND: 'Query' },
      { ID: 6, USER: 'app', COMMAND: 'Query' },
      { ID: 7, USER: 'app', COMMAND: 'Sleep' },
      { ID: 8, USER: 'repl', COMMAND: 'Binlog Dump GTID' },
      { ID: 9, USER: 'app', COMMAND: 'Query' },
    ];
    expect(clientSessionsToKill(rows, 9, 'root')).toEqual([6, 7]);
  });
});
