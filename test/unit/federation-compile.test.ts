// The compiler's side of federation (docs/federation.md): the Federation object of a topology with
// spread shards, rendered to rendered/<env>/_federation/ with its CRD and namespaces; the Argo CD
// Application that syncs it to the federation API server before the canary member cluster; the
// plan's order; and the checks that go with them.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { argocdObjects, MEMBER_CLUSTER_LABEL } from '../../compiler/argocd/objects.js';
import { compileModel, compileRepo } from '../../compiler/compile.js';
import { federationObject } from '../../compiler/expand/federation.js';
import { parseSources, type SourceFile } from '../../compiler/load/index.js';
import { placeTopology } from '../../compiler/place/index.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import type { PlanObject } from '../../compiler/plan/model.js';
import { resolveTopology } from '../../compiler/resolve/index.js';
import { validate } from '../../compiler/validate/index.js';
import type { Environment, Federation, KubeObject, Topology } from '../../schemas/types/index.js';
import { noAcks } from './plan-fixtures.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');

const ENV = `name: prod
memberClusters:
  - name: west
    destination: { server: https://west.example.com }
    zones: [w1]
  - name: central
    destination: { server: https://central.example.com }
    zones: [c1]
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
placement: { memberClusters: [central, west], memberClusterLoss: pause-writes }
`;
/** A MariaDB topology over both member clusters, with the given replication mode. */
const mysqlTopology = (mode: 'async' | 'semi-sync'): string => `name: shop
team: web
engine: mysql
mode: primary-replica
version: "10.11"
replicas: 3
replication: { mode: ${mode} }
credentials: { password: { name: shop-auth, key: password } }
placement: { memberClusters: [west, central], memberClusterLoss: pause-writes }
`;
const LOCAL = SPREAD.replace('name: cache', 'name: local').replace('placement: { memberClusters: [central, west], memberClusterLoss: pause-writes }', 'placement: { memberClusters: [west] }');

function compile(topologies: Record<string, string>, envs: Record<string, string> = { prod: ENV }) {
  const files: SourceFile[] = [
    ...Object.entries(envs).map(([n, text]) => ({ path: `envs/${n}.yaml`, text })),
    ...Object.entries(topologies).map(([n, text]) => ({ path: `topologies/${n}.yaml`, text })),
  ];
  return compileModel(validate(parseSources(files)), {});
}

type AppSet = KubeObject & {
  spec: {
    generators: Array<{ list: { elements: Array<Record<string, string>> } }>;
    strategy: { rollingSync: { steps: Array<{ matchExpressions: Array<{ values: string[] }> }> } };
    template: { spec: { ignoreDifferences: Array<{ group: string; kind: string; managedFieldsManagers: string[] }> } };
  };
};

/** ENV as the compiler reads it. */
const environment = (text = ENV): Environment => validate(parseSources([{ path: 'envs/prod.yaml', text }])).environments[0]!.value;

describe('the Federation object', () => {
  const env = environment();
  const federation = (t: Topology, order = ['west', 'central']): Federation | undefined => {
    const { placed } = placeTopology(resolveTopology(t, env, `topologies/${t.name}.yaml`), env);
    if (!placed) throw new Error('not placed');
    return federationObject(placed, order);
  };
  const sharded: Topology = { name: 'feed', team: 'web', engine: 'redis', mode: 'sharded', version: '7.2.4', shards: 2, replicas: 3, proxy: { replicas: 2 }, placement: { memberClusters: ['central', 'west'] } };

  it('names every spread shard, each member cluster\'s ordinals and pods with their clusterset names, in rollout order', () => {
    const f = federation(sharded);
    expect(f?.metadata).toMatchObject({ name: 'feed', namespace: 'db-web', labels: { 'app.kubernetes.io/instance': 'feed', 'app.kubernetes.io/managed-by': 'dbtopo' } });
    expect(f?.spec.memberClusters).toEqual(['west', 'central']); // the environment's order, not the topology's
    expect(f?.spec.shards.map((s) => s.name)).toEqual(['feed-shard-0', 'feed-shard-1']);
    const shard = f?.spec.shards[0];
    expect(shard).toMatchObject({ primaryService: 'feed-shard-0-primary', headlessService: 'feed-shard-0-headless', port: 6379 });
    const ordinals = Object.fromEntries((shard?.members ?? []).map((m) => [m.memberCluster, m.ordinals]));
    expect(Object.keys(ordinals)).toEqual(['west', 'central']);
    expect([...(ordinals['west'] ?? []), ...(ordinals['central'] ?? [])].sort()).toEqual([0, 1, 2]);
    for (const m of shard?.members ?? []) {
      for (const [i, pod] of m.pods.entries()) {
        expect(pod.name).toBe(`feed-shard-0-${m.ordinals[i]}`);
        expect(pod.clusterSetName).toBe(`${pod.name}.${m.memberCluster}.feed-shard-0-headless.db-web.svc.clusterset.local`);
      }
    }
    // the canary first: a different environment order gives a different list
    expect(federation(sharded, ['central', 'west'])?.spec.memberClusters).toEqual(['central', 'west']);
  });

  it('is not rendered for a topology whose shards all live in one member cluster', () => {
    expect(federation({ ...sharded, placement: { memberClusters: ['west'] } })).toBeUndefined();
  });

  it('MariaDB: one shard, the server set', () => {
    const f = federation({ name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 3, replication: { mode: 'semi-sync' }, placement: { memberClusters: ['west', 'central'] } });
    expect(f?.spec).toMatchObject({ engine: 'mysql', topology: 'shop', environment: 'prod' });
    expect(f?.spec.shards.map((s) => [s.name, s.port])).toEqual([['shop-server', 3306]]);
  });
});

describe('rendered/<env>/_federation/', () => {
  it('holds the Federation of each spread topology, the Federation CRD and their namespaces; nothing for the others', () => {
    const r = compile({ cache: SPREAD, local: LOCAL });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const fed = r.files.filter((f) => f.memberCluster === '_federation');
    expect(fed.map((f) => [f.path, f.object.kind])).toEqual([
      ['prod/_federation/_cluster/customresourcedefinition-federations.dbtopo.dev.yaml', 'CustomResourceDefinition'],
      ['prod/_federation/_cluster/namespace-db-web.yaml', 'Namespace'],
      ['prod/_federation/db-web/cache.yaml', 'Federation'],
    ]);
    expect(fed.find((f) => f.object.kind === 'Federation')?.object.metadata.annotations?.['dbtopo.dev/source']).toBe('topologies/cache.yaml');
    // member clusters never get the Federation CRD
    expect(r.files.filter((f) => f.memberCluster !== '_federation' && f.object.kind === 'CustomResourceDefinition').map((f) => f.object.metadata.name)).not.toContain('federations.dbtopo.dev');
    expect(compile({ local: LOCAL }).files.some((f) => f.memberCluster === '_federation')).toBe(false);
  });

  it('the example: a Federation for each topology spread over prod\'s member clusters, and only those', async () => {
    const r = await compileRepo({ repo: EXAMPLE, write: false });
    const fed = r.files.filter((f) => f.path.split('/')[1] === '_federation');
    expect(fed.map((f) => f.path)).toContain('prod/_federation/db-feed/feed-shards.yaml');
    expect(fed.map((f) => f.path)).toContain('prod/_federation/_cluster/customresourcedefinition-federations.dbtopo.dev.yaml');
    const spread = new Set(r.files.filter((f) => f.object.kind === 'InstanceSet' && (f.object.spec as { spread?: unknown }).spread !== undefined).map((f) => `${f.env}/${f.topology}`));
    expect(new Set(fed.filter((f) => f.object.kind === 'Federation').map((f) => `${f.env}/${f.topology}`))).toEqual(spread);
  });

  it('the federation API server being one of the member clusters: its namespaces are not rendered twice', () => {
    const env = `${ENV}federation: { destination: { server: https://west.example.com } }\n`;
    const r = compile({ cache: SPREAD }, { prod: env });
    expect(r.files.filter((f) => f.memberCluster === '_federation').map((f) => f.object.kind)).toEqual(['CustomResourceDefinition', 'Federation']);
    // the manager would be lost with west: warning DBT5011 at federation.destination, with its hint
    const d = r.diagnostics.filter((x) => x.code === 'DBT5011');
    expect(d.map((x) => [x.file, x.line, x.col, x.severity])).toEqual([['envs/prod.yaml', 11, 15, 'warning']]);
    expect(d[0]?.message).toContain('runs in member cluster west');
    expect(d[0]?.hint).toContain('federation.destination');
    // the default (Argo CD's own cluster, not a member cluster): no warning
    expect(compile({ cache: SPREAD }).diagnostics.filter((x) => x.code === 'DBT5011')).toEqual([]);
  });

  it('two environments syncing Federations to one federation API server: DBT5006 at the second', () => {
    const staging = ENV.replace('name: prod', 'name: staging').replace(/west/g, 'sw').replace(/central/g, 'sc');
    const spread = SPREAD.replace('placement: { memberClusters: [central, west], memberClusterLoss: pause-writes }', 'overrides:\n  prod: { placement: { memberClusters: [central, west], memberClusterLoss: pause-writes } }\n  staging: { placement: { memberClusters: [sc, sw] } }');
    const clash = compile({ cache: spread }, { prod: ENV, staging }).diagnostics.filter((d) => d.code === 'DBT5006');
    expect(clash.map((d) => [d.file, d.line, d.severity])).toEqual([['envs/staging.yaml', 1, 'error']]);
    expect(clash[0]?.message).toContain('https://kubernetes.default.svc');
    const own = `${staging}federation:\n  destination: { name: staging-mgmt }\n`;
    expect(compile({ cache: spread }, { prod: ENV, staging: own }).diagnostics.filter((d) => d.code === 'DBT5006')).toEqual([]);
  });

  it('a member cluster named "federation" is DBT3125 at its name', () => {
    const r = compile({ local: LOCAL }, { prod: ENV.replace('name: central', 'name: federation') });
    expect(r.diagnostics.filter((d) => d.code === 'DBT3125').map((d) => [d.file, d.line, d.col])).toEqual([['envs/prod.yaml', 6, 5]]);
  });
});

describe('Argo CD: the federation API server\'s Application', () => {
  const appSet = (envText = ENV): AppSet => compile({ cache: SPREAD }, { prod: envText }).files.find((f) => f.object.kind === 'ApplicationSet')?.object as AppSet;
  const project = (envText = ENV) => compile({ cache: SPREAD }, { prod: envText }).files.find((f) => f.object.kind === 'AppProject')?.object as KubeObject & { spec: Record<string, unknown> };

  it('is listed first, syncs rendered/<env>/_federation to the cluster Argo CD runs in by default, in a RollingSync step before the canary', () => {
    const s = appSet();
    expect(s.spec.generators[0]?.list.elements[0]).toEqual({ memberCluster: 'federation', path: 'rendered/prod/_federation', namespace: 'db-web', destination: 'https://kubernetes.default.svc' });
    expect(s.spec.strategy.rollingSync.steps.map((x) => x.matchExpressions[0]?.values)).toEqual([['federation'], ['west'], ['central']]);
  });

  it('goes to federation.destination; with a registered name every Application names its destination', () => {
    const s = appSet(`${ENV}federation: { destination: { name: mgmt } }\n`);
    expect(s.spec.generators[0]?.list.elements.map((e) => e['destination'])).toEqual(['mgmt', 'https://west.example.com', 'https://central.example.com']);
    expect(JSON.stringify(s.spec.template)).toContain('"name":"{{.destination}}"');
  });

  it('ignores what the federation manager writes (field manager dbtopo-federation)', () => {
    const ignored = appSet().spec.template.spec.ignoreDifferences.map((d) => `${d.group}/${d.kind}: ${d.managedFieldsManagers.join(',')}`);
    expect(ignored).toEqual([
      'dbtopo.dev/Cluster: dbtopo-controller',
      'dbtopo.dev/InstanceSet: dbtopo-controller,dbtopo-federation',
      'dbtopo.dev/Federation: dbtopo-federation',
      'discovery.k8s.io/EndpointSlice: dbtopo-federation',
    ]);
    // an environment without spread topologies keeps its Argo CD objects as they were
    const plain = compile({ local: LOCAL }).files.find((f) => f.object.kind === 'ApplicationSet')?.object as AppSet;
    expect(plain.spec.template.spec.ignoreDifferences.map((d) => d.kind)).toEqual(['Cluster', 'InstanceSet']);
    expect(plain.spec.generators[0]?.list.elements.map((e) => e['memberCluster'])).toEqual(['west']);
  });

  it('the AppProject allows the federation destination and the Federation kind', () => {
    const p = project();
    expect(p.spec['destinations']).toContainEqual({ server: 'https://kubernetes.default.svc', namespace: 'db-web' });
    expect(p.spec['namespaceResourceWhitelist']).toContainEqual({ group: 'dbtopo.dev', kind: 'Federation' });
  });

  it('argocdObjects without a federation render is unchanged by the parameter', () => {
    const env = environment();
    const members = [{ memberCluster: 'west', path: 'rendered/prod/west', objects: [{ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'db' } }] }];
    expect(argocdObjects(env, members, undefined)).toEqual(argocdObjects(env, members));
    const steps = (argocdObjects(env, members)[1] as AppSet).spec.strategy.rollingSync.steps;
    expect(steps.map((x) => x.matchExpressions[0])).toEqual([{ key: MEMBER_CLUSTER_LABEL, operator: 'In', values: ['west'] }]);
  });
});

describe('plan: the federation API server goes first', () => {
  const objs = (text: string): PlanObject[] => compile({ cache: text }).files.map((f) => ({ env: f.env, memberCluster: f.memberCluster, ...(f.topology !== undefined ? { topology: f.topology } : {}), object: f.object }));

  it('a change to a spread shard: the Federation before the canary, the canary before the other member cluster', () => {
    const base = objs(SPREAD);
    const head = objs(SPREAD.replace('replicas: 3\n', 'replicas: 4\n'));
    const plan = buildPlan(base, head, { ...noAcks, memberOrder: new Map([['prod', ['west', 'central']]]) });
    const wave = new Map(plan.actions.map((a) => [a.id, a.wave]));
    const fed = plan.actions.filter((a) => a.memberCluster === '_federation');
    expect(fed.map((a) => a.id)).toEqual(['prod/_federation/cache/apply']);
    expect(plan.changes.find((c) => c.kind === 'Federation')?.fields.every((f) => f.class === 'safe' && f.rule === 'federation')).toBe(true);
    const first = (m: string) => Math.min(...plan.actions.filter((a) => a.memberCluster === m).map((a) => a.wave));
    expect(wave.get('prod/_federation/cache/apply')).toBeLessThan(first('west'));
    expect(Math.max(...plan.actions.filter((a) => a.memberCluster === 'west').map((a) => a.wave))).toBeLessThan(first('central'));
  });

  it('the last spread topology leaving: the Federation CRD goes with the Application, not forbidden', () => {
    const plan = buildPlan(objs(SPREAD), objs(SPREAD.replace('[central, west]', '[west]')), { ...noAcks, memberOrder: new Map([['prod', ['west', 'central']]]) });
    const crd = plan.changes.find((c) => c.kind === 'CustomResourceDefinition' && c.memberCluster === '_federation');
    expect(crd).toMatchObject({ type: 'removed', class: 'safe' });
    expect(crd?.verdict.rule).toBe('federation-crd-removed');
  });
});

describe('cross-cluster names and reachability of spread shards', () => {
  const SHARDED = `name: feed
team: web
engine: redis
mode: sharded
version: 7.2.4
shards: 2
replicas: 3
proxy: { replicas: 2 }
placement: { memberClusters: [west, central], memberClusterLoss: pause-writes }
`;
  const CIDRS = ENV.replace('zones: [w1]', 'zones: [w1]\n    podCIDRs: [10.16.0.0/14]').replace('zones: [c1]', 'zones: [c1]\n    podCIDRs: [10.20.0.0/14, fd00:20::/56]') + 'federation: { podCIDRs: [10.8.0.0/16] }\n';
  const objectsIn = (r: ReturnType<typeof compile>, member: string, kind: string) => r.files.filter((f) => f.memberCluster === member && f.object.kind === kind).map((f) => f.object);
  type Policy = KubeObject & { spec: { ingress: Array<{ from?: Array<Record<string, unknown>>; ports: unknown[] }> } };
  const serverPolicy = (r: ReturnType<typeof compile>, member: string, topology = 'feed') =>
    objectsIn(r, member, 'NetworkPolicy').find((o) => o.metadata.name === `${topology}-server`) as Policy;

  it('a ServiceExport of each spread shard\'s headless Service in every member cluster holding part of it; none for a local shard', () => {
    const r = compile({ feed: SHARDED, local: LOCAL }, { prod: CIDRS });
    for (const member of ['west', 'central']) {
      const exports = objectsIn(r, member, 'ServiceExport');
      expect(exports.map((o) => [o.apiVersion, o.metadata.namespace, o.metadata.name])).toEqual([
        ['multicluster.x-k8s.io/v1alpha1', 'db-web', 'feed-shard-0-headless'],
        ['multicluster.x-k8s.io/v1alpha1', 'db-web', 'feed-shard-1-headless'],
      ]);
      // each exports a Service rendered beside it
      const services = new Set(objectsIn(r, member, 'Service').map((o) => o.metadata.name));
      for (const e of exports) expect(services.has(e.metadata.name)).toBe(true);
      expect(exports[0]?.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBe('-1');
    }
    const project = r.files.find((f) => f.object.kind === 'AppProject')?.object as KubeObject & { spec: { namespaceResourceWhitelist: unknown[] } };
    expect(project.spec.namespaceResourceWhitelist).toContainEqual({ group: 'multicluster.x-k8s.io', kind: 'ServiceExport' });
  });

  it('servers admit the other member clusters\' pods and the federation manager by address', () => {
    const r = compile({ feed: SHARDED }, { prod: CIDRS });
    expect(r.diagnostics).toEqual([]);
    const blocks = (member: string) => serverPolicy(r, member).spec.ingress[0]?.from?.flatMap((p) => (p['ipBlock'] ? [(p['ipBlock'] as { cidr: string }).cidr] : []));
    expect(blocks('west')).toEqual(['10.20.0.0/14', 'fd00:20::/56', '10.8.0.0/16']);
    expect(blocks('central')).toEqual(['10.16.0.0/14', '10.8.0.0/16']);
    // and still the topology's own pods and the controller
    expect(serverPolicy(r, 'west').spec.ingress[0]?.from?.filter((p) => !p['ipBlock'])).toHaveLength(3);
  });

  it('without those addresses the servers\' port is open, said by warning DBT5007 at placement.memberClusters', () => {
    const r = compile({ feed: SHARDED });
    expect(serverPolicy(r, 'west').spec.ingress[0]?.from).toBeUndefined();
    const warn = r.diagnostics.filter((d) => d.code === 'DBT5007');
    expect(warn.map((d) => [d.file, d.line, d.col, d.severity])).toEqual([['topologies/feed.yaml', 9, 14, 'warning']]);
    expect(warn[0]?.message).toContain('member cluster central, member cluster west, the federation manager');
    // one missing range is enough to open it
    const partial = compile({ feed: SHARDED }, { prod: CIDRS.replace('federation: { podCIDRs: [10.8.0.0/16] }\n', '') });
    expect(serverPolicy(partial, 'central').spec.ingress[0]?.from).toBeUndefined();
    expect(partial.diagnostics.find((d) => d.code === 'DBT5007')?.message).toContain('no podCIDRs for the federation manager');
  });

  it('a topology without a proxy keeps its open server port and gets no warning; a local one no ipBlock', () => {
    const r = compile({ cache: SPREAD, local: LOCAL });
    expect(r.diagnostics.filter((d) => d.code === 'DBT5007')).toEqual([]);
    expect(serverPolicy(r, 'west', 'cache').spec.ingress[0]?.from).toBeUndefined();
    const local = compile({ local: LOCAL.replace('sentinel: { replicas: 3, quorum: 2 }', 'sentinel: { replicas: 3, quorum: 2 }').replace('mode: replication', 'mode: proxied-replication\nproxy: { replicas: 2 }') }, { prod: CIDRS });
    expect(JSON.stringify(serverPolicy(local, 'west', 'local'))).not.toContain('ipBlock');
  });

  it('a bad CIDR is a located schema error', () => {
    const r = compile({ local: LOCAL }, { prod: ENV.replace('zones: [w1]', 'zones: [w1]\n    podCIDRs: [10.16.0.0]') });
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.line])).toEqual([['DBT2005', 6]]);
  });
});

describe('an isolated primary of a spread shard stops acknowledging writes', () => {
  const conf = (r: ReturnType<typeof compile>, member: string, configMap: string, key: string): string =>
    (r.files.find((f) => f.memberCluster === member && f.object.kind === 'ConfigMap' && f.object.metadata.name === configMap)?.object as unknown as { data: Record<string, string> }).data[key] ?? '';

  it('Redis: min-replicas-to-write 1 and min-replicas-max-lag 10 on spread shards only', () => {
    const r = compile({ cache: SPREAD, local: LOCAL });
    for (const member of ['west', 'central']) {
      const text = conf(r, member, 'cache-server-config', 'redis.conf');
      expect(text).toMatch(/^min-replicas-to-write 1$/m);
      expect(text).toMatch(/^min-replicas-max-lag 10$/m);
    }
    expect(conf(r, 'west', 'local-server-config', 'redis.conf')).not.toContain('min-replicas');
  });

  it('Redis: the topology\'s own parameters win, under either name', () => {
    const own = compile({ cache: `${SPREAD}parameters: { min-replicas-to-write: 2, min-slaves-max-lag: 5 }\n` });
    const text = conf(own, 'west', 'cache-server-config', 'redis.conf');
    expect(text.match(/^min-replicas-to-write .*$/gm)).toEqual(['min-replicas-to-write 2']);
    expect(text).not.toMatch(/^min-replicas-max-lag/m);
    expect(text).toMatch(/^min-slaves-max-lag 5$/m);
  });

  it('MariaDB semi-sync spread over member clusters never falls back to async', () => {
    const r = compile({ shop: mysqlTopology('semi-sync') });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const member of ['west', 'central']) {
      const text = conf(r, member, 'shop-server-config', 'my.cnf');
      expect(text).toMatch(/^loose-rpl-semi-sync-slave-enabled = ON$/m);
      expect(text).toMatch(/^loose-rpl-semi-sync-master-timeout = 4294967295$/m);
      expect(text).toMatch(/^loose-rpl-semi-sync-master-wait-point = AFTER_SYNC$/m);
    }
  });
});

describe('bad input: spread shards that cannot be safe', () => {
  const MYSQL = mysqlTopology('async');
  const pick = (r: ReturnType<typeof compile>, code: string) => r.diagnostics.filter((d) => d.code === code).map((d) => [d.file, d.line, d.col, d.severity]);

  it('a spread MySQL shard with asynchronous replication is DBT5008 at replication.mode, with a hint', () => {
    const r = compile({ shop: MYSQL });
    expect(pick(r, 'DBT5008')).toEqual([['topologies/shop.yaml', 7, 16, 'error']]);
    const d = r.diagnostics.find((x) => x.code === 'DBT5008');
    expect(d?.message).toContain('shop-server is spread over member clusters central, west');
    expect(d?.hint).toContain('semi-sync');
    // async by default (no replication block): at the engine, which is what makes it async
    expect(pick(compile({ shop: MYSQL.replace('replication: { mode: async }\n', '') }), 'DBT5008')).toEqual([['topologies/shop.yaml', 3, 1, 'error']]);
    // the same topology in one member cluster, or semi-sync: fine
    expect(pick(compile({ shop: MYSQL.replace('[west, central]', '[west]') }), 'DBT5008')).toEqual([]);
    expect(pick(compile({ shop: MYSQL.replace('mode: async', 'mode: semi-sync') }), 'DBT5008')).toEqual([]);
  });

  it('spread only in one environment: the error is located at that environment\'s override and names it', () => {
    const env2 = ENV.replace('name: prod', 'name: dev').replace(/west/g, 'dw').replace(/central/g, 'dc') + 'federation: { destination: { name: dev-mgmt } }\n';
    const r = compile({ shop: MYSQL.replace('placement: { memberClusters: [west, central], memberClusterLoss: pause-writes }', 'overrides:\n  prod: { placement: { memberClusters: [west, central], memberClusterLoss: pause-writes } }\n  dev: { placement: { memberClusters: [dw] } }') }, { prod: ENV, dev: env2 });
    const d = r.diagnostics.filter((x) => x.code === 'DBT5008');
    expect(d.map((x) => x.message.endsWith('(environment prod)'))).toEqual([true]);
  });

  it('a shard spread over two member clusters is DBT5010 at placement.memberClusters unless acknowledged; three member clusters are fine', () => {
    const bare = SPREAD.replace(', memberClusterLoss: pause-writes', '');
    const r = compile({ cache: bare });
    expect(pick(r, 'DBT5010')).toEqual([['topologies/cache.yaml', 8, 14, 'error']]);
    const d = r.diagnostics.find((x) => x.code === 'DBT5010');
    expect(d?.message).toContain('cache-server is spread over only central and west');
    expect(d?.hint).toContain('memberClusterLoss: pause-writes');
    // acknowledged: no diagnostic, rendered
    expect(pick(compile({ cache: SPREAD }), 'DBT5010')).toEqual([]);
    // three member clusters: the loss of any one leaves a primary and a replica elsewhere
    const three = ENV + '  - name: north\n    destination: { server: https://north.example.com }\n    zones: [n1]\n';
    expect(pick(compile({ cache: bare.replace('[central, west]', '[central, west, north]') }, { prod: three }), 'DBT5010')).toEqual([]);
    // one shard of several spread over two: located in the environment's override, names the shard
    const sharded = `${bare.replace('mode: replication', 'mode: sharded\nshards: 2').replace('sentinel: { replicas: 3, quorum: 2 }\n', 'proxy: { replicas: 2 }\n').replace('placement: { memberClusters: [central, west] }\n', '')}overrides:\n  prod:\n    placement: { memberClusters: [central, west] }\n`;
    const o = compile({ cache: sharded }).diagnostics.filter((x) => x.code === 'DBT5010');
    expect(o.map((x) => [x.line, x.col, x.severity])).toEqual([[11, 18, 'error']]); // the override's memberClusters
    expect(o[0]?.message).toContain('cache-shard-0, cache-shard-1 are spread over only central and west');
  });

  it('a spread shard with a Sentinel block gets warning DBT5009 at the sentinel key: the federation manager watches it', () => {
    const r = compile({ cache: SPREAD });
    expect(pick(r, 'DBT5009')).toEqual([['topologies/cache.yaml', 7, 1, 'warning']]);
    expect(r.diagnostics.find((d) => d.code === 'DBT5009')?.message).toContain('do not watch cache-server, which is spread over member clusters central, west');
    expect(pick(compile({ local: LOCAL }), 'DBT5009')).toEqual([]);
  });

  it('the example: prod feed-shards warns (its Sentinels watch no spread shard), nothing is an error (DBT5010 acknowledged)', async () => {
    const r = await compileRepo({ repo: EXAMPLE, write: false });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.diagnostics.filter((d) => d.code === 'DBT5009').map((d) => `${d.file}:${d.line}:${d.col}`)).toEqual(['topologies/feed-shards.yaml:14:1']);
  });
});
