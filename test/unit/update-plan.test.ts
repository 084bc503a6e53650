import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MemberUpdateStrategy, RoleDefinition } from '../../schemas/types/index.js';
import { isOutdated, planUpdate, resolveMaxUnavailable, type PlanPod } from '../../controller/update/plan.js';

const ROLES: RoleDefinition[] = [
  { name: 'primary', updatePriority: 2, participatesInQuorum: true, isExclusive: true },
  { name: 'secondary', updatePriority: 1, participatesInQuorum: true, isExclusive: false },
];
const OLD = 'old';
const NEW = 'new';

function pods(n: number, primary = 0): PlanPod[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `db-${i}`,
    revision: OLD,
    ready: true,
    role: i === primary ? 'primary' : 'secondary',
  }));
}

describe('planUpdate examples', () => {
  it('updates secondaries first, highest ordinal first, one at a time under Serial', () => {
    const plan = planUpdate({ pods: pods(3), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' });
    expect(plan).toMatchObject({ next: ['db-2'], done: false });
  });

  it('waits while an updated pod is not Ready or has no role', () => {
    const p = pods(3);
    p[2] = { ...p[2]!, revision: NEW, ready: false, role: undefined };
    const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Parallel', maxUnavailable: 3 });
    expect(plan.next).toEqual([]);
    expect(plan.waitingFor).toMatch(/db-2 is not Ready/);
    p[2] = { ...p[2]!, ready: true };
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' }).waitingFor).toMatch(
      /db-2 has no role/,
    );
  });

  it('asks for a switchover before the primary, then updates the old primary as a secondary', () => {
    const p = pods(3).map((x) => (x.role === 'secondary' ? { ...x, revision: NEW } : x));
    const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' });
    expect(plan.next).toEqual([]);
    expect(plan.switchoverBefore).toBe('db-0');
    expect(plan.switchoverCandidates).toEqual(['db-1', 'db-2']);
    // After the switchover db-1 is primary and db-0 an outdated secondary.
    p[0] = { ...p[0]!, role: 'secondary' };
    p[1] = { ...p[1]!, role: 'primary' };
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' })).toMatchObject({
      next: ['db-0'],
    });
  });

  it('updates a lone primary directly: there is no one to hand off to', () => {
    const plan = planUpdate({ pods: pods(1), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' });
    expect(plan).toMatchObject({ next: ['db-0'] });
    expect(plan.switchoverBefore).toBeUndefined();
  });

  it('never updates a spread shard\'s lone primary in place: it asks for the hand-over (the federation authority, to another member cluster)', () => {
    const plan = planUpdate({ pods: pods(1), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial', handOffOnly: true });
    expect(plan).toMatchObject({ next: [], done: false, switchoverBefore: 'db-0', switchoverCandidates: [] });
    expect(plan.waitingFor).toMatch(/switchover of primary db-0/);
    // Handed over (the pod here is a secondary now): it is replaced like any secondary.
    expect(planUpdate({ pods: pods(1, -1), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial', handOffOnly: true })).toMatchObject({ next: ['db-0'] });
  });

  it('Parallel takes secondaries up to maxUnavailable, never the primary with them', () => {
    const plan = planUpdate({ pods: pods(5), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Parallel', maxUnavailable: '60%' });
    expect(plan.next).toEqual(['db-4', 'db-3', 'db-2']);
    expect(plan.waitingFor).toMatch(/maxUnavailable 3/);
  });

  it('BestEffortParallel keeps a quorum majority available', () => {
    const plan = planUpdate({ pods: pods(5), updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'BestEffortParallel', maxUnavailable: 5 });
    expect(plan.next).toEqual(['db-4', 'db-3']);
    expect(plan.waitingFor).toMatch(/quorum of 3 of 5/);
  });

  it('replaces an already broken outdated pod even when the budget is used up', () => {
    const p = pods(3);
    p[1] = { ...p[1]!, ready: false };
    const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' });
    expect(plan.next).toEqual(['db-1']);
  });

  it('is done only when every pod is updated and Ready', () => {
    const p = pods(2).map((x) => ({ ...x, revision: NEW }));
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' }).done).toBe(true);
    p[0] = { ...p[0]!, ready: false };
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' }).done).toBe(false);
  });

  it('honours per-pod update revisions of instance templates', () => {
    const p: PlanPod[] = [
      { name: 'db-0', revision: 'a', updateRevision: 'a', ready: true, role: 'primary' },
      { name: 'db-1', revision: 'b', updateRevision: 'c', ready: true, role: 'secondary' },
    ];
    expect(planUpdate({ pods: p, updateRevision: 'x', roles: ROLES, memberUpdateStrategy: 'Serial' }).next).toEqual(['db-1']);
  });

  it('rolls sets without roles (sentinels, proxies) by ordinal, waiting only for readiness', () => {
    const p: PlanPod[] = [0, 1, 2, 3].map((i) => ({ name: `px-${i}`, revision: OLD, ready: true }));
    expect(planUpdate({ pods: p, updateRevision: NEW, memberUpdateStrategy: 'Parallel', maxUnavailable: 2 }).next).toEqual(['px-3', 'px-2']);
    p[3] = { ...p[3]!, revision: NEW };
    expect(planUpdate({ pods: p, updateRevision: NEW, memberUpdateStrategy: 'Serial' }).next).toEqual(['px-2']);
    p[3] = { ...p[3]!, ready: false };
    expect(planUpdate({ pods: p, updateRevision: NEW, memberUpdateStrategy: 'Serial' })).toMatchObject({ next: [], waitingFor: 'updated pod px-3 is not Ready yet' });
  });

  it('resolves maxUnavailable counts and percentages, at least 1', () => {
    expect(resolveMaxUnavailable(undefined, 10)).toBe(1);
    expect(resolveMaxUnavailable('25%', 10)).toBe(2);
    expect(resolveMaxUnavailable('1%', 10)).toBe(1);
    expect(resolveMaxUnavailable(0, 3)).toBe(1);
    expect(() => resolveMaxUnavailable('lots', 3)).toThrow(/percentage/);
  });
});

// ---- properties -------------------------------------------------------------------------------

const strategyArb = fc.constantFrom<MemberUpdateStrategy>('Serial', 'BestEffortParallel', 'Parallel');

/** A random observed state: n pods, one primary (or none), mixed revisions, readiness and roles. */
const stateArb = fc.integer({ min: 1, max: 7 }).chain((n) =>
  fc.record({
    pods: fc.tuple(
      fc.array(
        fc.record({
          revision: fc.constantFrom(OLD, NEW),
          ready: fc.boolean(),
          hasRole: fc.boolean(),
        }),
        { minLength: n, maxLength: n },
      ),
      fc.option(fc.integer({ min: 0, max: n - 1 }), { nil: undefined }),
    ),
    strategy: strategyArb,
    maxUnavailable: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constantFrom('25%', '50%', '100%')),
  }),
);

function toPods([raw, primary]: [Array<{ revision: string; ready: boolean; hasRole: boolean }>, number | undefined]): PlanPod[] {
  return raw.map((r, i) => ({
    name: `db-${i}`,
    revision: r.revision,
    ready: r.ready,
    role: i === primary ? 'primary' : r.hasRole ? 'secondary' : undefined,
  }));
}

describe('planUpdate properties', () => {
  it('only outdated pods, Serial at most one, primary alone and only when no secondary can take over', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const p = toPods(s.pods);
        const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: s.strategy, maxUnavailable: s.maxUnavailable });
        const byName = new Map(p.map((x) => [x.name, x]));
        for (const n of plan.next) expect(isOutdated(byName.get(n)!, NEW)).toBe(true);
        if (s.strategy === 'Serial') expect(plan.next.length).toBeLessThanOrEqual(1);
        const primary = p.find((x) => x.role === 'primary');
        if (primary && plan.next.includes(primary.name)) {
          expect(plan.next).toEqual([primary.name]);
          // Everyone else is updated and settled, and none of them could take the role.
          const others = p.filter((x) => x !== primary);
          expect(others.every((x) => x.revision === NEW && x.ready && x.role)).toBe(true);
          expect(others.some((x) => x.role === 'secondary')).toBe(false);
        }
        if (plan.switchoverBefore) {
          expect(plan.switchoverBefore).toBe(primary?.name);
          expect(plan.next).toEqual([]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never makes a Ready pod unavailable beyond maxUnavailable', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const p = toPods(s.pods);
        const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: s.strategy, maxUnavailable: s.maxUnavailable });
        const max = s.strategy === 'Serial' ? 1 : resolveMaxUnavailable(s.maxUnavailable, p.length);
        const down = new Set([...p.filter((x) => !x.ready).map((x) => x.name), ...plan.next]);
        const takesReady = plan.next.some((n) => p.find((x) => x.name === n)!.ready);
        if (takesReady) expect(down.size).toBeLessThanOrEqual(max);
        if (s.strategy === 'BestEffortParallel' && plan.next.some((n, i) => i > 0 && p.find((x) => x.name === n)!.role && p.find((x) => x.name === n)!.ready)) {
          const quorum = p.filter((x) => x.role);
          const quorumDown = quorum.filter((x) => down.has(x.name)).length;
          expect(quorum.length - quorumDown).toBeGreaterThanOrEqual(Math.floor(quorum.length / 2) + 1);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('stops while an updated pod is unsettled, and always makes progress otherwise', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const p = toPods(s.pods);
        const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: s.strategy, maxUnavailable: s.maxUnavailable });
        const unsettled = p.some((x) => x.revision === NEW && (!x.ready || !x.role));
        if (unsettled) expect(plan.next).toEqual([]);
        const allSettled = p.every((x) => x.ready && x.role);
        const outdated = p.some((x) => x.revision === OLD);
        if (allSettled && outdated) expect(plan.next.length > 0 || plan.switchoverBefore !== undefined).toBe(true);
        if (plan.next.length === 0 && !plan.done) expect(plan.waitingFor).toBeTruthy();
      }),
      { numRuns: 2000 },
    );
  });

  it('a whole rollout (pods come back Ready, switchovers move the role) ends updated, primary last, one primary', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), strategyArb, fc.integer({ min: 1, max: 7 }), fc.nat(), (n, strategy, maxU, seed) => {
        let p = pods(n, seed % n);
        const touched: string[] = [];
        let switchovers = 0;
        for (let step = 0; step < 4 * n + 4; step++) {
          const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: strategy, maxUnavailable: maxU });
          if (plan.done) break;
          if (plan.switchoverBefore) {
            const to = plan.switchoverCandidates![0]!;
            p = p.map((x) => (x.name === plan.switchoverBefore ? { ...x, role: 'secondary' } : x.name === to ? { ...x, role: 'primary' } : x));
            switchovers++;
            continue;
          }
          expect(plan.next.length).toBeGreaterThan(0);
          for (const name of plan.next) {
            // The pod being replaced is a primary only when nobody else could be.
            const pod = p.find((x) => x.name === name)!;
            if (pod.role === 'primary') expect(n === 1).toBe(true);
            touched.push(name);
          }
          p = p.map((x) => (plan.next.includes(x.name) ? { ...x, revision: NEW } : x));
        }
        expect(p.every((x) => x.revision === NEW)).toBe(true);
        expect(p.filter((x) => x.role === 'primary')).toHaveLength(1);
        expect(new Set(touched).size).toBe(n);
        expect(switchovers).toBe(n > 1 ? 1 : 0);
        // The pod that was primary at the start is the last one touched.
        expect(touched[touched.length - 1]).toBe(`db-${seed % n}`);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- replication facts (rule 1b) -------------------------------------------------------------

const UP = { replicating: true, caughtUp: true } as const;

describe('planUpdate waits for updated secondaries to replicate and catch up', () => {
  it('does not replace the next secondary while the replaced one has its link down or lags', () => {
    const p = pods(3);
    p[2] = { ...p[2]!, revision: NEW, replication: { replicating: false, caughtUp: false, detail: 'link down' } };
    const input = { pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' as const, replication: { primary: 'db-0' } };
    expect(planUpdate(input)).toMatchObject({ next: [], done: false, waitingFor: 'waiting for db-2 to catch up with db-0: link down' });
    p[2] = { ...p[2]!, replication: { replicating: true, caughtUp: false, detail: '812 transactions behind' } };
    expect(planUpdate(input).waitingFor).toBe('waiting for db-2 to catch up with db-0: 812 transactions behind');
    p[2] = { ...p[2]!, replication: UP };
    expect(planUpdate(input).next).toEqual(['db-1']);
  });

  it('does not switch over while an updated secondary lags; a secondary without a fact counts as unknown', () => {
    const p = pods(3).map((x) => (x.role === 'secondary' ? { ...x, revision: NEW, replication: UP } : x));
    p[1] = { ...p[1]!, replication: undefined };
    const input = { pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' as const, replication: {} };
    const plan = planUpdate(input);
    expect(plan.switchoverBefore).toBeUndefined();
    expect(plan.waitingFor).toBe('waiting for db-1 to catch up with the primary: replication state unknown');
    p[1] = { ...p[1]!, replication: UP };
    expect(planUpdate(input).switchoverBefore).toBe('db-0');
  });

  it('ignores outdated secondaries and sets without facts (no engine replication)', () => {
    const p = pods(3).map((x) => ({ ...x, replication: { replicating: false, caughtUp: false } }));
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial', replication: {} }).next).toEqual(['db-2']);
    p[2] = { ...p[2]!, revision: NEW };
    expect(planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: 'Serial' }).next).toEqual(['db-1']);
  });

  const factArb = fc.record({ replicating: fc.boolean(), caughtUp: fc.boolean() });

  it('property: with facts, nothing is touched and no switchover is asked while an updated secondary is not replicating and caught up', () => {
    fc.assert(
      fc.property(stateArb, fc.array(factArb, { minLength: 7, maxLength: 7 }), (s, facts) => {
        const p = toPods(s.pods).map((x, i) => ({ ...x, replication: facts[i]! }));
        const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: s.strategy, maxUnavailable: s.maxUnavailable, replication: { primary: 'db-0' } });
        // Only while something is left to update: a finished rollout does not wait for lag.
        const lagging = p.some((x) => x.revision === NEW && x.role === 'secondary' && !(x.replication.replicating && x.replication.caughtUp));
        if (lagging && p.some((x) => x.revision === OLD)) {
          expect(plan.next).toEqual([]);
          expect(plan.switchoverBefore).toBeUndefined();
          expect(plan.waitingFor).toMatch(/to catch up with db-0|waiting for the role labels|is not Ready|has no role|terminating/);
        }
        // Facts only ever hold an update back: without them the plan is at least as eager.
        const without = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: s.strategy, maxUnavailable: s.maxUnavailable });
        if (!lagging) expect(plan).toEqual(without);
        else expect(plan.next.length).toBeLessThanOrEqual(without.next.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a whole rollout where a replaced secondary needs some passes to catch up never touches a pod while one lags', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), strategyArb, fc.integer({ min: 1, max: 6 }), fc.nat(), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }), (n, strategy, maxU, seed, syncPasses) => {
        const first = seed % n;
        let p: PlanPod[] = pods(n, first).map((x) => ({ ...x, replication: UP }));
        // Passes each pod still needs after its replacement before its link is up and caught up.
        const pending = new Map<string, number>();
        let switchovers = 0;
        for (let step = 0; step < 12 * n + 12; step++) {
          const plan = planUpdate({ pods: p, updateRevision: NEW, roles: ROLES, memberUpdateStrategy: strategy, maxUnavailable: maxU, replication: { primary: p.find((x) => x.role === 'primary')?.name ?? '' } });
          if (plan.done) break;
          const lagging = [...pending.entries()].filter(([name, left]) => left > 0 && p.find((x) => x.name === name)!.role === 'secondary');
          if (plan.next.length > 0 || plan.switchoverBefore) expect(lagging).toEqual([]);
          if (plan.switchoverBefore) {
            const to = plan.switchoverCandidates![0]!;
            p = p.map((x) => (x.name === plan.switchoverBefore ? { ...x, role: 'secondary' } : x.name === to ? { ...x, role: 'primary' } : x));
            switchovers++;
          }
          for (const name of plan.next) pending.set(name, syncPasses[ordinalOfName(name) % 6]! + 1);
          p = p.map((x) => {
            if (plan.next.includes(x.name)) return { ...x, revision: NEW, replication: { replicating: false, caughtUp: false, detail: 'link down' } };
            const left = pending.get(x.name) ?? 0;
            if (left > 0) pending.set(x.name, left - 1);
            return left === 1 ? { ...x, replication: UP } : x;
          });
        }
        expect(p.every((x) => x.revision === NEW)).toBe(true);
        expect(switchovers).toBe(1);
      }),
      { numRuns: 500 },
    );
  });
});

function ordinalOfName(name: string): number {
  return Number(name.split('-').at(-1));
}
