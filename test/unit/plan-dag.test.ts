import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../compiler/plan/plan.js';
import type { Plan, PlanObject } from '../../compiler/plan/model.js';
import { namespaceObject, noAcks, topology } from './plan-fixtures.js';

const crd = (env: string, member: string, version: string): PlanObject => ({
  env,
  memberCluster: member,
  object: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'instancesets.dbtopo.dev', labels: { v: version } } },
});

/** Ids in plan order with their wave, and a helper to assert "a happens before b". */
function order(plan: Plan) {
  const wave = new Map(plan.actions.map((a) => [a.id, a.wave]));
  return {
    ids: plan.actions.map((a) => a.id),
    before(a: string, b: string): void {
      expect(wave.get(a), `${a} is in the plan`).toBeDefined();
      expect(wave.get(b), `${b} is in the plan`).toBeDefined();
      expect(wave.get(a)!).toBeLessThan(wave.get(b)!);
    },
  };
}

describe('plan DAG', () => {
  it('orders a role-affecting update: secondaries, switchover, primary; scale-out before them', () => {
    const plan = buildPlan(topology({ name: 't', replicas: 2, image: 'redis:7.2.4' }), topology({ name: 't', replicas: 3, image: 'redis:7.2.5' }), noAcks);
    expect(plan.actions.map((a) => a.type)).toEqual(['apply', 'scale-out', 'update-secondaries', 'switchover', 'update-primary']);
    expect(plan.waves).toHaveLength(5);
    const o = order(plan);
    o.before('prod/member-a/t/scale-out', 'prod/member-a/t/update-secondaries');
    o.before('prod/member-a/t/switchover', 'prod/member-a/t/update-primary');
  });

  it('applies CRDs before everything else in a member cluster, and namespaces before their topologies', () => {
    const base = [crd('prod', 'member-a', '1')];
    const head = [crd('prod', 'member-a', '2'), namespaceObject('prod', 'member-a', 'db'), ...topology({ name: 't' })];
    const plan = buildPlan(base, head, noAcks);
    const o = order(plan);
    o.before('prod/member-a/_cluster/apply-crds', 'prod/member-a/ns:db/create-namespace');
    o.before('prod/member-a/ns:db/create-namespace', 'prod/member-a/t/apply');
    expect(plan.waves[0]).toEqual(['prod/member-a/_cluster/apply-crds']);
  });

  it('runs the canary member cluster (first in environment order) before the others', () => {
    const members = ['member-b', 'member-a', 'member-c'];
    const base = members.flatMap((m) => topology({ name: 't', member: m, replicas: 2 }));
    const head = members.flatMap((m) => topology({ name: 't', member: m, replicas: 3 }));
    const plan = buildPlan(base, head, { ...noAcks, memberOrder: new Map([['prod', members]]) });
    const o = order(plan);
    o.before('prod/member-b/t/scale-out', 'prod/member-a/t/apply');
    o.before('prod/member-b/t/scale-out', 'prod/member-c/t/apply');
    // the non-canary clusters run side by side
    const wave = (id: string) => plan.actions.find((a) => a.id === id)!.wave;
    expect(wave('prod/member-a/t/scale-out')).toBe(wave('prod/member-c/t/scale-out'));
  });

  it('keeps environments independent', () => {
    const base = [...topology({ name: 't', env: 'dev', replicas: 2 }), ...topology({ name: 't', env: 'prod', replicas: 2 })];
    const head = [...topology({ name: 't', env: 'dev', replicas: 3 }), ...topology({ name: 't', env: 'prod', replicas: 3 })];
    const plan = buildPlan(base, head, noAcks);
    expect(plan.actions.every((a) => a.after.every((p) => p.startsWith(`${a.env}/`)))).toBe(true);
  });

  it('deletes an acknowledged topology last and its namespace after it; forbidden changes are not scheduled', () => {
    const base = [namespaceObject('prod', 'member-a', 'db'), ...topology({ name: 'gone' })];
    const acked = buildPlan(base, [], { ...noAcks, acknowledgements: { delete: ['gone'], migrate: [] } });
    expect(acked.forbidden).toEqual([]);
    order(acked).before('prod/member-a/gone/delete', 'prod/member-a/ns:db/delete-namespace');
    const refused = buildPlan(base, [], noAcks);
    expect(refused.forbidden.length).toBeGreaterThan(0);
    expect(refused.actions.map((a) => a.type)).toEqual(['delete-namespace']);
  });

  it('gives every action a wave after all of its predecessors', () => {
    const base = ['a', 'b', 'c'].flatMap((n) => topology({ name: n, replicas: 2 }));
    const head = ['a', 'b', 'c'].flatMap((n) => topology({ name: n, replicas: n === 'b' ? 1 : 4, image: n === 'c' ? 'redis:8' : 'redis:7.2.4' }));
    const plan = buildPlan(base, head, noAcks);
    const byId = new Map(plan.actions.map((a) => [a.id, a]));
    for (const a of plan.actions) for (const p of a.after) expect(byId.get(p)!.wave).toBeLessThan(a.wave);
    expect(plan.waves.flat().sort()).toEqual(plan.actions.map((a) => a.id).sort());
  });
});
