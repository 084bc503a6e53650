// decideRoles for a spread shard (spec.spread: servers in several member clusters): no member
// cluster's controller makes a primary on its own; labels still follow what the engines report.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideRoles } from '../../../controller/roles/role-plan.js';
import { member } from './fixtures.js';
import type { ProbeResult } from '../../../controller/engines/types.js';
import type { Role } from '../../../schemas/types/index.js';

const m = member;
const fresh = { reachable: true, role: 'primary' as const }; // a new Redis: master, nobody replicating
const withReplica = { reachable: true, role: 'primary' as const, replicas: 1 };
const readOnly = { reachable: true, readOnly: true }; // a new MariaDB: read-only, no role
const secondaryOf = (host: string) => ({ reachable: true, role: 'secondary' as const, following: { host, port: 6379, linkUp: true } });
const spread = { sentinelManaged: false, spread: { memberClusters: ['eu-central', 'eu-west'] } };

describe('decideRoles on a spread shard', () => {
  it('a fresh set is not bootstrapped: nothing promoted, wired or labelled, and it says it waits for the federation authority', () => {
    const local = decideRoles([m(0, fresh), m(1, fresh)], { sentinelManaged: false });
    expect(local.promote).toBe('r-0'); // the same pods in a set that is not spread
    for (const members of [[m(0, fresh), m(1, fresh)], [m(2, fresh)], [m(0, readOnly), m(1, readOnly)]]) {
      const d = decideRoles(members, spread);
      expect(d.promote).toBeUndefined();
      expect(d.follow).toEqual([]);
      expect(d.labels).toEqual([]);
      expect(d.primary).toBeUndefined();
      expect(d.waiting).toMatch(/spread over member clusters eu-central, eu-west.*never promotes.*federation authority/);
    }
  });

  it('a lone pod reporting primary with nobody replicating from it is not labelled primary', () => {
    const d = decideRoles([m(2, fresh)], spread);
    expect(d.labels).toEqual([]);
    expect(d.waiting).toMatch(/r-2 report primary/);
  });

  it('a primary someone else made (replicas connected, maybe in another member cluster) is labelled; nothing is wired here (the federation manager wires)', () => {
    const d = decideRoles([m(0, withReplica), m(1, fresh)], spread);
    expect(d.primary).toBe('r-0');
    expect(d.waiting).toBeUndefined();
    expect(d.promote).toBeUndefined();
    expect(d.follow).toEqual([]);
    expect(d.labels).toEqual([{ podName: 'r-0', role: 'primary' }]);
  });

  it("with the federation manager's choice published, only the chosen pod is ever labelled primary", () => {
    const chosen = (primary: string) => ({ sentinelManaged: false, spread: { memberClusters: ['eu-central', 'eu-west'], primary } });
    // Chosen here and primary in its engine: labelled, even before anybody replicates from it.
    expect(decideRoles([m(0, fresh), m(1, readOnly)], chosen('r-0'))).toMatchObject({ primary: 'r-0', labels: [{ podName: 'r-0', role: 'primary' }], follow: [] });
    // An old primary back from the dead (label kept, engine says primary, replicas even) while the
    // manager chose a pod in another member cluster: its label goes at once, nothing is wired.
    const back = decideRoles([m(0, withReplica, 'primary'), m(1, secondaryOf('10.9.0.2'))], chosen('r-7'));
    expect(back.primary).toBeUndefined();
    expect(back.labels).toEqual([{ podName: 'r-0', role: undefined }, { podName: 'r-1', role: 'secondary' }]);
    expect(back.follow).toEqual([]);
    expect(back.promote).toBeUndefined();
    // The chosen pod demoted meanwhile (secondary): it keeps no primary label.
    expect(decideRoles([m(0, secondaryOf('10.9.0.2'), 'primary')], chosen('r-0')).labels).toEqual([{ podName: 'r-0', role: 'secondary' }]);
  });

  it('replicas following a primary in another member cluster are labelled secondary; no primary label here', () => {
    const d = decideRoles([m(0, secondaryOf('10.9.0.2')), m(1, secondaryOf('10.9.0.2'))], spread);
    expect(d.labels).toEqual([
      { podName: 'r-0', role: 'secondary' },
      { podName: 'r-1', role: 'secondary' },
    ]);
    expect(d.primary).toBeUndefined();
    expect(d.promote).toBeUndefined();
    expect(d.follow).toEqual([]);
  });

  it('the primary lost: its label stays, no replica is promoted', () => {
    const d = decideRoles([m(0, { reachable: false, error: 'refused' }, 'primary'), m(1, secondaryOf('10.0.0.0'), 'secondary')], spread);
    expect(d.promote).toBeUndefined();
    expect(d.labels).toEqual([]);
    expect(d.waiting).toBeDefined();
  });

  it('property: whatever the engines report, a spread set never promotes nor wires, and labels primary only an established claimant or the chosen one', () => {
    const probe: fc.Arbitrary<ProbeResult | undefined> = fc.oneof(
      fc.constant(undefined),
      fc.constant({ reachable: false, error: 'x' }),
      fc.constant(readOnly),
      fc.record({ reachable: fc.constant(true), role: fc.constant('primary' as const), replicas: fc.option(fc.nat(2), { nil: undefined }) }).map((p) => (p.replicas === undefined ? { reachable: true, role: 'primary' as const } : p)),
      fc.nat(5).map((o) => secondaryOf(`10.0.0.${o}`)),
    );
    const label = fc.option(fc.constantFrom<Role>('primary', 'secondary'), { nil: undefined });
    fc.assert(
      fc.property(fc.array(fc.tuple(probe, label), { minLength: 1, maxLength: 4 }), (pods) => {
        const members = pods.map(([p, l], i) => m(i, p, l));
        const d = decideRoles(members, spread);
        expect(d.promote).toBeUndefined();
        for (const change of d.labels.filter((c) => c.role === 'primary')) {
          const x = members.find((y) => y.podName === change.podName)!;
          const followed = members.some((y) => y.probe?.following?.host === x.host);
          expect(x.probe?.role).toBe('primary');
          expect(x.label === 'primary' || (x.probe?.replicas ?? 0) > 0 || followed).toBe(true);
        }
        expect(d.follow).toEqual([]);
        // The manager's choice, published: nobody else is ever labelled primary.
        const c = decideRoles(members, { sentinelManaged: false, spread: { ...spread.spread, primary: 'r-1' } });
        for (const change of c.labels.filter((x) => x.role === 'primary')) expect(change.podName).toBe('r-1');
        expect(c.follow).toEqual([]);
        expect(c.promote).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
