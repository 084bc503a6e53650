import { describe, expect, it } from 'vitest';
import { classify, FIELD_RULES, globMatch, instanceSetIndex, OBJECT_RULES } from '../../compiler/plan/classify.js';
import { diffObjects } from '../../compiler/plan/diff.js';
import type { ClassifiedChange, PlanObject } from '../../compiler/plan/model.js';
import { changedParameters, parseConfig } from '../../compiler/plan/runtime-parameters.js';
import { compareQuantities } from '../../compiler/plan/quantity.js';
import { namespaceObject, topology, type TopoSpec } from './plan-fixtures.js';

type Opts = { allowMigration?: boolean; del?: string[]; migrate?: string[] };
function run(base: PlanObject[], head: PlanObject[], o: Opts = {}): ClassifiedChange[] {
  return classify(diffObjects(base, head), {
    allowMigration: o.allowMigration ?? false,
    acknowledgements: { delete: o.del ?? [], migrate: o.migrate ?? [] },
  });
}
const between = (a: TopoSpec, b: TopoSpec, o?: Opts) => run(topology(a), topology(b), o);
/** "kind/name: class [rule]" for each change, for compact expectations. */
const summary = (cs: ClassifiedChange[]) => cs.map((c) => `${c.kind}/${c.name}: ${c.class} [${c.verdict.rule}]`);
/** The Cluster object mirrors component replicas; its change is a safe summary change. */
const CLUSTER_SUMMARY = 'Cluster/t: safe [cluster-summary]';

describe('plan classify: field rules', () => {
  it('replicas up is a scale-out, down a scale-in', () => {
    expect(summary(between({ name: 't', replicas: 2 }, { name: 't', replicas: 4 }))).toEqual([CLUSTER_SUMMARY, 'InstanceSet/t-server: scale-out [replicas]']);
    expect(summary(between({ name: 't', replicas: 4 }, { name: 't', replicas: 2 }))).toEqual([CLUSTER_SUMMARY, 'InstanceSet/t-server: scale-in [replicas]']);
    expect(summary(between({ name: 't', sentinels: 3 }, { name: 't', sentinels: 5 }))).toEqual(['InstanceSet/t-sentinel: scale-out [replicas]']);
  });

  it('an image change on servers with a primary and replicas is role-affecting; without replicas a rolling restart', () => {
    expect(summary(between({ name: 't', image: 'redis:7.2.4' }, { name: 't', image: 'redis:7.2.5' }))).toEqual(['InstanceSet/t-server: role-affecting [pod-template]']);
    expect(summary(between({ name: 't', replicas: 1, image: 'redis:7.2.4' }, { name: 't', replicas: 1, image: 'redis:7.2.5' }))).toEqual([
      'InstanceSet/t-server: rolling-restart [pod-template]',
    ]);
  });

  it('a resource change is a pod template change', () => {
    const [c] = between({ name: 't', memory: '1Gi' }, { name: 't', memory: '2Gi' });
    expect(c!.class).toBe('role-affecting');
    expect(c!.fields.map((f) => f.path)).toEqual([
      '/spec/template/spec/containers/name=redis/resources/requests/memory',
      '/spec/template/spec/containers/name=redis/resources/limits/memory',
    ]);
  });

  it('storage growth is safe, storage shrink is forbidden', () => {
    expect(summary(between({ name: 't', storage: '10Gi' }, { name: 't', storage: '20Gi' }))).toEqual(['InstanceSet/t-server: safe [storage-size]']);
    const [shrink] = between({ name: 't', storage: '10Gi' }, { name: 't', storage: '9000Mi' });
    expect(shrink!.class).toBe('forbidden');
    expect(shrink!.verdict.reason).toMatch(/shrinks 10Gi → 9000Mi/);
  });

  it('config parameters Redis applies at runtime are safe; others restart the servers', () => {
    const base = 'maxmemory 1gb\nmaxmemory-policy noeviction\n';
    expect(summary(between({ name: 't', config: base }, { name: 't', config: 'maxmemory 2gb\nmaxmemory-policy allkeys-lru\n' }))).toEqual([
      'ConfigMap/t-server-config: safe [config-parameters]',
    ]);
    const [restart] = between({ name: 't', config: base }, { name: 't', config: base + 'databases 32\n' });
    expect(restart!.class).toBe('role-affecting');
    expect(restart!.verdict.reason).toMatch(/databases needs a restart/);
  });

  it('labels and annotations are safe, a switchover request is role-affecting', () => {
    const head = topology({ name: 't' }).map((o) =>
      o.object.kind === 'InstanceSet' && o.object.metadata.name === 't-server'
        ? { ...o, object: { ...o.object, metadata: { ...o.object.metadata, labels: { team: 'x' }, annotations: { 'dbtopo.dev/switchover': 'any' } } } }
        : o,
    );
    const [c] = run(topology({ name: 't' }), head);
    expect(c!.fields.map((f) => `${f.path} ${f.class} ${f.rule}`)).toContain('/metadata/annotations/dbtopo.dev~1switchover role-affecting switchover-request');
    expect(c!.fields.filter((f) => f.path.startsWith('/metadata/labels')).every((f) => f.class === 'safe')).toBe(true);
  });

  it('engine and mode changes are forbidden unless migration is acknowledged', () => {
    const base = { name: 't', engine: 'redis' as const, mode: 'replication' as const };
    const head = { name: 't', engine: 'mysql' as const, mode: 'primary-replica' as const };
    expect(between(base, head).find((c) => c.kind === 'Cluster')!.class).toBe('forbidden');
    expect(between(base, head, { allowMigration: true }).find((c) => c.kind === 'Cluster')!.class).toBe('role-affecting');
    expect(between(base, head, { migrate: ['prod/t'] }).find((c) => c.kind === 'Cluster')!.class).toBe('role-affecting');
    expect(between(base, head, { migrate: ['other'] }).find((c) => c.kind === 'Cluster')!.class).toBe('forbidden');
  });

  it('the allow-migration annotation on the head Cluster acknowledges a migration', () => {
    const head = topology({ name: 't', mode: 'sharded', shards: 3 }).map((o) =>
      o.object.kind === 'Cluster' ? { ...o, object: { ...o.object, metadata: { ...o.object.metadata, annotations: { 'dbtopo.dev/allow-migration': 'true' } } } } : o,
    );
    const cs = run(topology({ name: 't', mode: 'sharded', shards: 2 }), head);
    expect(cs.find((c) => c.kind === 'Cluster')!.class).toBe('scale-out');
  });

  it('shard scale-out needs the migration flag; new shard InstanceSets follow it', () => {
    const base = { name: 't', mode: 'sharded' as const, shards: 2 };
    const head = { name: 't', mode: 'sharded' as const, shards: 3 };
    const without = between(base, head);
    expect(without.find((c) => c.kind === 'Cluster')!.class).toBe('forbidden');
    expect(without.find((c) => c.name === 't-shard-2' && c.kind === 'InstanceSet')!.class).toBe('forbidden');
    const withFlag = between(base, head, { allowMigration: true });
    expect(withFlag.find((c) => c.kind === 'Cluster')!.class).toBe('scale-out');
    expect(withFlag.find((c) => c.name === 't-shard-2' && c.kind === 'InstanceSet')!.verdict.rule).toBe('shard-added');
    expect(withFlag.find((c) => c.name === 't-shard-2' && c.kind === 'InstanceSet')!.class).toBe('scale-out');
    // shards down with the flag: data of the removed shard is at risk
    expect(between(head, base, { allowMigration: true }).find((c) => c.kind === 'Cluster')!.class).toBe('scale-in');
  });

  it('immutable InstanceSet fields are forbidden', () => {
    const base = topology({ name: 't' });
    const head = structuredClone(base);
    const set = head.find((o) => o.object.metadata.name === 't-server')!.object as unknown as { spec: { serviceName: string } };
    set.spec.serviceName = 'other';
    expect(summary(run(base, head))).toEqual(['InstanceSet/t-server: forbidden [immutable-service-name]']);
  });
});

describe('plan classify: ordinals', () => {
  const withOrdinals = (start: number, end: number, replicas: number) =>
    topology({ name: 't', replicas }).map((o) => {
      if (o.object.kind !== 'InstanceSet' || o.object.metadata.name !== 't-server') return o;
      const object = structuredClone(o.object) as typeof o.object & { spec: Record<string, unknown> };
      object.spec['defaultTemplateOrdinals'] = { ranges: [{ start, end }] };
      return { ...o, object };
    });

  it('ordinals that move are pods removed (scale-in), ordinals only added are a scale-out', () => {
    const [grow] = run(withOrdinals(0, 0, 2), withOrdinals(0, 1, 2));
    expect(`${grow!.class} ${grow!.verdict.rule} ${grow!.verdict.reason}`).toBe('scale-out ordinals pods t-server-1 are added');
    const [moved] = run(withOrdinals(1, 1, 2), withOrdinals(2, 2, 2));
    expect(moved!.class).toBe('scale-in');
    expect(moved!.verdict.reason).toMatch(/^pods t-server-1 are removed/);
  });
});

describe('plan classify: object rules', () => {
  it('a new topology is safe', () => {
    const cs = run([], topology({ name: 't' }));
    expect(new Set(cs.map((c) => `${c.class} ${c.verdict.rule}`))).toEqual(new Set(['safe new-topology']));
  });

  it('removing a topology is forbidden unless the deletion is acknowledged', () => {
    const cs = run(topology({ name: 't' }), []);
    expect(cs.find((c) => c.kind === 'Cluster')!.verdict.rule).toBe('topology-removed');
    expect(cs.every((c) => c.class === 'forbidden')).toBe(true);
    const acked = run(topology({ name: 't' }), [], { del: ['t'] });
    expect(acked.find((c) => c.kind === 'Cluster')!.class).toBe('scale-in');
    expect(acked.find((c) => c.kind === 'Service')!.class).toBe('safe');
    expect(acked.some((c) => c.class === 'forbidden')).toBe(false);
    // an acknowledgement for another environment does not count
    expect(run(topology({ name: 't' }), [], { del: ['dev/t'] }).some((c) => c.class === 'forbidden')).toBe(true);
  });

  it('moving a topology to another member cluster is a deletion in the old one', () => {
    const cs = run(topology({ name: 't', member: 'a' }), topology({ name: 't', member: 'b' }));
    expect(cs.filter((c) => c.memberCluster === 'a').every((c) => c.class === 'forbidden')).toBe(true);
    expect(cs.filter((c) => c.memberCluster === 'b').every((c) => c.class === 'safe')).toBe(true);
  });

  it('a sentinel InstanceSet added to an existing topology is a scale-out; removed, a scale-in', () => {
    const noSentinel = topology({ name: 't', sentinels: 0 });
    expect(summary(run(noSentinel, topology({ name: 't' })))).toEqual(['InstanceSet/t-sentinel: scale-out [instance-set-added]']);
    expect(summary(run(topology({ name: 't' }), noSentinel))).toEqual(['InstanceSet/t-sentinel: scale-in [shard-removed]']);
  });

  it("a shard's servers joining or leaving one member cluster are a scale-out / scale-in, not a new or removed shard", () => {
    const inA = topology({ name: 't', member: 'a' });
    const inB = topology({ name: 't', member: 'b' });
    const serverB = inB.filter((o) => o.object.metadata.name === 't-server');
    const plan = (base: PlanObject[], head: PlanObject[]) =>
      classify(diffObjects(base, head), { allowMigration: false, acknowledgements: { delete: [], migrate: [] } }, { base: instanceSetIndex(base), head: instanceSetIndex(head) });
    expect(summary(plan(inA, [...inA, ...serverB]))).toEqual(['InstanceSet/t-server: scale-out [shard-member-added]']);
    expect(summary(plan([...inA, ...serverB], inA))).toEqual(['InstanceSet/t-server: scale-in [shard-member-removed]']);
    // without the shard elsewhere, a new server InstanceSet is a new shard
    expect(summary(plan(inA.filter((o) => o.object.metadata.name !== 't-server'), inA))).toEqual(['InstanceSet/t-server: forbidden [shard-added]']);
  });

  it('removing a CRD is always forbidden; a namespace removal is a scale-in', () => {
    const crd: PlanObject = { env: 'prod', memberCluster: 'm', object: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x.dbtopo.dev' } } };
    expect(summary(run([crd], []))).toEqual(['CustomResourceDefinition/x.dbtopo.dev: forbidden [crd-removed]']);
    expect(summary(run([namespaceObject('prod', 'm', 'n')], []))).toEqual(['Namespace/n: scale-in [namespace-removed]']);
  });
});

describe('plan classify: the rule table', () => {
  it('has unique rule ids', () => {
    const ids = [...FIELD_RULES, ...OBJECT_RULES].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('matches globs segment by segment', () => {
    expect(globMatch('/spec/**', ['spec', 'a', 'b'])).toBe(true);
    expect(globMatch('/spec/**', ['spec'])).toBe(true);
    expect(globMatch('/spec/*', ['spec', 'a', 'b'])).toBe(false);
    expect(globMatch('/metadata/annotations/dbtopo.dev~1switchover', ['metadata', 'annotations', 'dbtopo.dev/switchover'])).toBe(true);
    expect(globMatch('/spec/volumeClaimTemplates/*/spec/resources/requests/storage', ['spec', 'volumeClaimTemplates', 'name=data', 'spec', 'resources', 'requests', 'storage'])).toBe(true);
  });

  it('parses Redis and MySQL configs into parameters', () => {
    expect(changedParameters('redis', 'save 900 1\nsave 300 10\nmaxmemory 1gb\n', 'save 900 1\nmaxmemory 1gb\n# c\n')).toEqual(['save']);
    const my = parseConfig('mysql', '[mysqld]\nmax-connections = 100\nskip-name-resolve\n[client]\nport=3307\n');
    expect([...my]).toEqual([['max_connections', '100'], ['skip_name_resolve', 'ON'], ['[client]port', '3307']]);
  });

  it('orders quantities across units', () => {
    expect(compareQuantities('1Gi', '1000Mi')).toBe(1);
    expect(compareQuantities('1G', '1Gi')).toBe(-1);
    expect(compareQuantities('500m', '1')).toBe(-1);
    expect(compareQuantities('1e3', '1k')).toBe(0);
    expect(compareQuantities('lots', '1')).toBeUndefined();
  });
});
