// The plan DAG of a spread topology (servers in several member clusters, one primary per shard,
// compiler/rollout/spread-steps.ts): one chain across the member clusters — the canary's
// secondaries, then the others', ONE switchover and the old primary's update at `_federation`
// scope, scale-out before scale-in, an ordinal moved between member clusters as `move-ordinal` —
// on the compiler's real output for a topology spread over three member clusters.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile.js';
import { parseSources, type SourceFile } from '../../compiler/load/index.js';
import { buildActions } from '../../compiler/plan/dag.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import type { ActionType, ClassifiedChange, Plan, PlanAction, PlanObject } from '../../compiler/plan/model.js';
import { spreadSteps } from '../../compiler/rollout/spread-steps.js';
import { validate } from '../../compiler/validate/index.js';
import { noAcks } from './plan-fixtures.js';

const ENV = `name: prod
memberClusters:
  - name: west
    destination: { server: https://west.example.com }
    zones: [w1]
  - name: central
    destination: { server: https://central.example.com }
    zones: [c1]
  - name: north
    destination: { server: https://north.example.com }
    zones: [n1]
namespace: db-{team}
argocd: { repoURL: https://git.example.com/gitops.git }
`;
const SPREAD = `name: cache
team: web
engine: redis
mode: replication
version: 7.2.4
replicas: 3
sentinel: { replicas: 3, quorum: 2 }
placement: { memberClusters: [central, west, north] }
`;
const ORDER = ['west', 'central', 'north'];

const objs = (text: string): PlanObject[] => {
  const files: SourceFile[] = [{ path: 'envs/prod.yaml', text: ENV }, { path: 'topologies/cache.yaml', text }];
  return compileModel(validate(parseSources(files)), {}).files.map((f) => ({ env: f.env, memberCluster: f.memberCluster, ...(f.topology !== undefined ? { topology: f.topology } : {}), object: f.object }));
};
const plan = (base: string, head: string): Plan => buildPlan(objs(base), objs(head), { ...noAcks, memberOrder: new Map([['prod', ORDER]]) });
const step = (a: PlanAction): string => `${a.type}@${a.memberCluster}`;
/** The topology's actions as one chain: each after the one before it (and in a later wave). */
function chainOf(p: Plan): string[] {
  const mine = p.actions.filter((a) => a.topology === 'cache' && !(a.memberCluster === '_federation' && a.type === 'apply'));
  for (let i = 1; i < mine.length; i++) {
    expect(mine[i]!.after, `${mine[i]!.id} after ${mine[i - 1]!.id}`).toContain(mine[i - 1]!.id);
    expect(mine[i]!.wave).toBeGreaterThan(mine[i - 1]!.wave);
  }
  return mine.map(step);
}

describe('plan DAG of a spread topology', () => {
  it('a version change: secondaries in the canary, then in the others, ONE switchover, then the old primary (wherever it runs)', () => {
    const p = plan(SPREAD, SPREAD.replace('7.2.4', '7.2.5'));
    const chain = chainOf(p);
    expect(chain.filter((s) => /^(update-secondaries|switchover|update-primary)@/.test(s))).toEqual([
      'update-secondaries@west',
      'update-secondaries@central',
      'update-secondaries@north',
      'switchover@_federation',
      'update-primary@_federation',
    ]);
    // No member cluster switches over on its own.
    expect(p.actions.filter((a) => a.type === 'switchover').map((a) => a.id)).toEqual(['prod/_federation/cache/switchover']);
    const primary = p.actions.find((a) => a.type === 'update-primary')!;
    expect(primary.note).toMatch(/whichever member cluster/);
    // Its objects: every member cluster's server set (the one holding the old primary is known at run time only).
    expect(new Set(primary.objects.map((k) => k.split('|')[1]))).toEqual(new Set(ORDER));
  });

  it('is the order spreadSteps gives (one source of truth with the federation manager)', () => {
    const p = plan(SPREAD, SPREAD.replace('7.2.4', '7.2.5'));
    const chain = chainOf(p);
    const perMember = new Map<string, Set<PlanAction['type']>>();
    for (const a of p.actions) if (a.topology === 'cache' && a.memberCluster !== '_federation') perMember.set(a.memberCluster, (perMember.get(a.memberCluster) ?? new Set()).add(a.type));
    expect(chain).toEqual(spreadSteps({ memberOrder: ORDER, perMember, switchover: true }).map((s) => s.id));
  });

  it('a scale-out that moves global ordinals between member clusters: scale-outs, then move-ordinal, then scale-ins', () => {
    const p = plan(SPREAD, SPREAD.replace('replicas: 3\n', 'replicas: 5\n'));
    const chain = chainOf(p);
    const at = (s: string): number => chain.indexOf(s);
    const outs = chain.filter((s) => s.startsWith('scale-out@'));
    const ins = chain.filter((s) => s.startsWith('scale-in@'));
    expect(outs.length).toBeGreaterThan(0);
    expect(ins.length).toBeGreaterThan(0);
    expect(at('move-ordinal@_federation')).toBeGreaterThan(Math.max(...outs.map(at)));
    expect(at('move-ordinal@_federation')).toBeLessThan(Math.min(...ins.map(at)));
    const move = p.actions.find((a) => a.type === 'move-ordinal')!;
    // The compiler's placement for 5 servers moves ordinal 1 west → central and 2 north → west.
    expect(move.note).toMatch(/cache-server ordinal 1: west → central; cache-server ordinal 2: north → west/);
    expect(new Set(move.objects.map((k) => k.split('|')[1]))).toEqual(new Set(['west', 'central', 'north']));
    // Canary first within each phase.
    expect(outs).toEqual([...outs].sort((a, b) => ORDER.indexOf(a.split('@')[1]!) - ORDER.indexOf(b.split('@')[1]!)));
  });

  it('a scale-in that moves ordinals: the move before any scale-in, nothing scheduled twice, no cycle', () => {
    const p = plan(SPREAD.replace('replicas: 3\n', 'replicas: 4\n'), SPREAD);
    const chain = chainOf(p);
    expect(chain.indexOf('move-ordinal@_federation')).toBeLessThan(chain.indexOf('scale-in@west'));
    expect(new Set(chain).size).toBe(chain.length);
  });

  it('the Federation object goes before the chain', () => {
    const p = plan(SPREAD, SPREAD.replace('replicas: 3\n', 'replicas: 5\n'));
    const fed = p.actions.find((a) => a.id === 'prod/_federation/cache/apply')!;
    for (const a of p.actions.filter((x) => x.topology === 'cache' && x !== fed)) expect(a.wave).toBeGreaterThan(fed.wave);
  });
});

describe('plan DAG of a spread topology: no cycle with the canary rule', () => {
  const change = (memberCluster: string, kind: string, name: string, type: ClassifiedChange['type'], cls: ClassifiedChange['class'], extra: Partial<ClassifiedChange> = {}): ClassifiedChange => ({
    key: `prod|${memberCluster}|${kind}|${name}`, env: 'prod', memberCluster, apiVersion: 'v1', kind, name, type, class: cls,
    verdict: { class: cls, rule: 'test', reason: 'test' }, fields: [], ...extra,
  });
  const spreadSet = { apiVersion: 'dbtopo.dev/v1alpha1', kind: 'InstanceSet', metadata: { name: 'cache-server' }, spec: { replicas: 2, spread: { memberClusters: ['west', 'central'] }, roles: [{ name: 'primary' }] } };
  const updated = (m: string) => change(m, 'InstanceSet', 'cache-server', 'changed', 'role-affecting', {
    namespace: 'db', topology: 'cache', base: spreadSet, head: spreadSet,
    fields: [{ path: '/spec/template', segments: ['spec', 'template'], op: 'replace', class: 'role-affecting', rule: 'pod-template', reason: 'r' }],
  });

  it('a namespace deleted in the canary after the spread chain, a CRD changed in the other member cluster', () => {
    const { actions } = buildActions([
      updated('west'),
      updated('central'),
      change('west', 'ConfigMap', 'cache-extra', 'removed', 'scale-in', { namespace: 'db', topology: 'cache' }),
      change('west', 'Namespace', 'db', 'removed', 'scale-in'),
      change('central', 'CustomResourceDefinition', 'instancesets.dbtopo.dev', 'changed', 'safe'),
    ], { memberOrder: new Map([['prod', ['west', 'central']]]) });
    const ids = actions.map((a) => `${a.type}@${a.memberCluster}`);
    expect(ids.indexOf('update-secondaries@west')).toBeLessThan(ids.indexOf('update-secondaries@central'));
    expect(ids.indexOf('apply-crds@central')).toBeLessThan(ids.indexOf('update-secondaries@central'));
    expect(ids.indexOf('delete@west')).toBeLessThan(ids.indexOf('delete-namespace@west'));
  });
});

describe('spreadSteps', () => {
  it('orders member clusters canary first (environment order), unknown ones last; skips what is absent', () => {
    const steps = spreadSteps({
      memberOrder: ['a', 'b', 'c'],
      perMember: new Map<string, Set<ActionType>>([['zz', new Set(['update-secondaries'])], ['c', new Set(['update-secondaries', 'scale-in'])], ['b', new Set(['scale-out', 'update-secondaries'])]]),
      switchover: true,
      moves: [{ shard: 's', ordinal: 3, from: 'c', to: 'b' }],
    });
    expect(steps.map((s) => s.id)).toEqual([
      'scale-out@b',
      'move-ordinal@_federation',
      'update-secondaries@b',
      'update-secondaries@c',
      'update-secondaries@zz',
      'switchover@_federation',
      'update-primary@_federation',
      'scale-in@c',
    ]);
    expect(steps.slice(1).every((s, i) => s.after[0] === steps[i]!.id)).toBe(true);
    expect(steps[1]!.note).toMatch(/s ordinal 3: c → b/);
  });
});
