import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideRoles } from '../../../controller/roles/role-plan.js';
import { member } from './fixtures.js';
import type { Role } from '../../../schemas/types/index.js';

const m = member;
const primary = { reachable: true, role: 'primary' as const };
const secondaryOf = (ordinal: number) => ({ reachable: true, role: 'secondary' as const, following: { host: `10.0.0.${ordinal}`, port: 6379, linkUp: true } });
const down = { reachable: false, error: 'refused' };
const opts = { sentinelManaged: false };

describe('decideRoles', () => {
  it('bootstraps a fresh set: lowest reachable ordinal is promoted, the others follow it, nothing labelled yet', () => {
    const d = decideRoles([m(1, primary), m(0, down), m(2, primary)], opts);
    expect(d.promote).toBe('r-1');
    expect(d.follow).toEqual([{ replica: 'r-2', primary: 'r-1' }]);
    expect(d.labels).toEqual([]);
  });

  it('labels a lone server that reports primary (standalone Redis) instead of bootstrapping it forever', () => {
    const d = decideRoles([m(0, primary)], opts);
    expect(d.promote).toBeUndefined();
    expect(d.labels).toEqual([{ podName: 'r-0', role: 'primary' }]);
    expect(d.primary).toBe('r-0');
    // a lone MariaDB starts read-only (no role): promoted first, labelled on the next round
    const fresh = decideRoles([m(0, { reachable: true })], opts);
    expect(fresh.promote).toBe('r-0');
    expect(fresh.labels).toEqual([]);
  });

  it('labels from what the engines report, the primary last', () => {
    const d = decideRoles([m(0, primary), m(1, secondaryOf(0)), m(2, secondaryOf(0))], opts);
    expect(d.labels).toEqual([
      { podName: 'r-1', role: 'secondary' },
      { podName: 'r-2', role: 'secondary' },
      { podName: 'r-0', role: 'primary' },
    ]);
    expect(d.promote).toBeUndefined();
    expect(d.follow).toEqual([]);
  });

  it('writes nothing when labels already match the engines', () => {
    const d = decideRoles([m(0, primary, 'primary'), m(1, secondaryOf(0), 'secondary')], opts);
    expect(d).toMatchObject({ labels: [], follow: [], warnings: [], primary: 'r-0' });
  });

  it('wires a fresh scaled-out pod to the labelled primary instead of calling it a second primary', () => {
    const d = decideRoles([m(0, primary, 'primary'), m(1, secondaryOf(0), 'secondary'), m(2, primary)], opts);
    expect(d.follow).toEqual([{ replica: 'r-2', primary: 'r-0' }]);
    expect(d.labels).toEqual([]);
    expect(d.warnings).toEqual([]);
  });

  it('after a failover removes the old primary label before labelling the new primary', () => {
    const d = decideRoles([m(0, down, 'primary'), m(1, primary, 'secondary'), m(2, secondaryOf(1), 'secondary')], { sentinelManaged: true });
    expect(d.labels).toEqual([
      { podName: 'r-0', role: undefined },
      { podName: 'r-1', role: 'primary' },
    ]);
  });

  it('the old primary that came back as a replica is relabelled secondary', () => {
    const d = decideRoles([m(0, secondaryOf(1), 'primary'), m(1, primary, 'secondary')], { sentinelManaged: true });
    expect(d.labels).toEqual([
      { podName: 'r-0', role: 'secondary' },
      { podName: 'r-1', role: 'primary' },
    ]);
  });

  it('two wired primaries without a guard: no new primary label, a warning', () => {
    const d = decideRoles([m(0, primary, 'primary'), m(1, primary, 'secondary'), m(2, secondaryOf(0), 'secondary')], opts);
    expect(d.labels.some((l) => l.role === 'primary')).toBe(false);
    expect(d.warnings[0]).toMatchObject({ reason: 'SplitBrain', message: expect.stringContaining('r-0, r-1 all report primary') });
    expect(d.primary).toBeUndefined();
  });

  it('two primaries under Sentinel: only the one Sentinel names is labelled primary', () => {
    const d = decideRoles([m(0, primary, 'primary'), m(1, primary, 'secondary')], { sentinelManaged: true, sentinelNamed: 'r-1' });
    expect(d.labels).toEqual([
      { podName: 'r-0', role: undefined },
      { podName: 'r-1', role: 'primary' },
    ]);
  });

  it('under Sentinel, a primary recreated at a new address is not labelled until Sentinel names it, then wired to the promoted replica', () => {
    // r-0 evicted and recreated on its claim: a master again, unlabelled, nobody following it; r-1
    // still follows r-0's old address (10.0.0.9), its link down, until Sentinel promotes it.
    const stale = { reachable: true, role: 'secondary' as const, following: { host: '10.0.0.9', port: 6379, linkUp: false } };
    const before = decideRoles([m(0, primary), m(1, stale, 'secondary')], { sentinelManaged: true });
    expect(before.primary).toBeUndefined();
    expect(before.labels).toEqual([]);
    expect(before.follow).toEqual([]);
    expect(before.warnings).toEqual([{ reason: 'WaitingForSentinel', message: expect.stringContaining('r-0 reports primary') }]);
    // Without Sentinel the engines' word stands (the controller's own fencing guards that case).
    expect(decideRoles([m(0, primary), m(1, stale, 'secondary')], opts).primary).toBe('r-0');
    // Sentinel names r-0's address (the same IP came back): it is the primary.
    expect(decideRoles([m(0, primary), m(1, stale, 'secondary')], { sentinelManaged: true, sentinelNamed: 'r-0' }).labels).toEqual([{ podName: 'r-0', role: 'primary' }]);
    // Sentinel promoted r-1: r-1 is labelled primary, r-0 made to follow it.
    const after = decideRoles([m(0, primary), m(1, primary, 'secondary')], { sentinelManaged: true, sentinelNamed: 'r-1' });
    expect(after.labels).toEqual([{ podName: 'r-1', role: 'primary' }]);
    expect(after.follow).toEqual([{ replica: 'r-0', primary: 'r-1' }]);
    // Before Sentinel answers, two claimants and no replica: nobody is labelled (a tie, as ever).
    const tie = decideRoles([m(0, primary), m(1, primary, 'secondary')], { sentinelManaged: true });
    expect(tie.primary).toBeUndefined();
    expect(tie.warnings).toEqual([{ reason: 'SplitBrain', message: expect.stringContaining('r-0, r-1 all report primary') }]);
    // With no replica answering Sentinel has nobody to promote: the recreated primary serves.
    expect(decideRoles([m(0, primary), m(1, down, 'secondary')], { sentinelManaged: true }).labels).toEqual([{ podName: 'r-0', role: 'primary' }]);
    // A claimant a replica follows, or that has replicas, is proven.
    expect(decideRoles([m(0, primary), m(1, secondaryOf(0), 'secondary')], { sentinelManaged: true }).primary).toBe('r-0');
    expect(decideRoles([m(0, { ...primary, replicas: 1 }), m(1, stale, 'secondary')], { sentinelManaged: true }).primary).toBe('r-0');
  });

  it('under Sentinel, a fresh scaled-out pod beside the labelled primary is wired without a warning', () => {
    const d = decideRoles([m(0, primary, 'primary'), m(1, secondaryOf(0), 'secondary'), m(2, primary)], { sentinelManaged: true });
    expect(d).toMatchObject({ primary: 'r-0', labels: [], follow: [{ replica: 'r-2', primary: 'r-0' }], warnings: [] });
  });

  it('repoints a replica following someone else; under Sentinel only one chained to another replica', () => {
    const members = [m(0, primary, 'primary'), m(1, secondaryOf(2), 'secondary'), m(2, secondaryOf(0), 'secondary')];
    expect(decideRoles(members, opts).follow).toEqual([{ replica: 'r-1', primary: 'r-0' }]);
    // Chained to a replica: Sentinel, which learns replicas from the primary's INFO, never sees r-1.
    expect(decideRoles(members, { sentinelManaged: true }).follow).toEqual([{ replica: 'r-1', primary: 'r-0' }]);
    // Following an address that is no replica (an old primary Sentinel is failing over from): Sentinel's job.
    const midFailover = [m(0, primary, 'primary'), m(1, secondaryOf(7), 'secondary'), m(2, secondaryOf(0), 'secondary')];
    expect(decideRoles(midFailover, { sentinelManaged: true }).follow).toEqual([]);
    expect(decideRoles(midFailover, opts).follow).toEqual([{ replica: 'r-1', primary: 'r-0' }]);
  });

  it('wires again a replica of the primary whose link stopped with no error, except under Sentinel', () => {
    const stopped = { reachable: true, role: 'secondary' as const, following: { host: '10.0.0.0', port: 6379, linkUp: false } };
    const members = [m(0, primary, 'primary'), m(1, stopped, 'secondary'), m(2, secondaryOf(0), 'secondary')];
    expect(decideRoles(members, opts).follow).toEqual([{ replica: 'r-1', primary: 'r-0' }]);
    expect(decideRoles(members, { sentinelManaged: true }).follow).toEqual([]);
    // A link that failed (a diverged replica) needs a rebuild, not START SLAVE every round.
    const failed = [m(0, primary, 'primary'), m(1, { ...stopped, error: 'Got fatal error 1236' }, 'secondary')];
    expect(decideRoles(failed, opts).follow).toEqual([]);
  });

  it('never ends with two primary labels after applying its changes (property)', () => {
    const probe = fc.oneof(
      fc.constant(down),
      fc.constant(primary),
      fc.integer({ min: 0, max: 3 }).map((o) => secondaryOf(o)),
    );
    const label = fc.option(fc.constantFrom<Role>('primary', 'secondary'), { nil: undefined });
    fc.assert(
      fc.property(fc.array(fc.tuple(probe, label), { minLength: 1, maxLength: 4 }), fc.boolean(), (spec, sentinel) => {
        // At most one primary label to start with (the invariant holds before).
        let seenPrimary = false;
        const members = spec.map(([p, l], i) => {
          const ok = l === 'primary' && seenPrimary ? 'secondary' : l;
          if (ok === 'primary') seenPrimary = true;
          return m(i, p, ok);
        });
        const d = decideRoles(members, { sentinelManaged: sentinel });
        const labels = new Map(members.map((x) => [x.podName, x.label]));
        // Apply in order, checking after each step.
        for (const change of d.labels) {
          labels.set(change.podName, change.role);
          expect([...labels.values()].filter((r) => r === 'primary').length).toBeLessThanOrEqual(1);
        }
        // A primary label is only written on a pod whose engine reports primary.
        for (const change of d.labels.filter((c) => c.role === 'primary')) {
          expect(members.find((x) => x.podName === change.podName)?.probe?.role).toBe('primary');
        }
      }),
    );
  });
});
