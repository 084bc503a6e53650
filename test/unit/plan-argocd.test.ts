// Argo CD wiring generated per environment: AppProject + ApplicationSet, sync waves on objects.
import { describe, expect, it } from 'vitest';
import { argocdObjects, MEMBER_CLUSTER_LABEL } from '../../compiler/argocd/objects.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import { memberOrder, rolloutSteps } from '../../compiler/rollout/order.js';
import { annotateForArgoCd, SPANS_MEMBER_CLUSTERS, SYNC_WAVE } from '../../compiler/argocd/waves.js';
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { noAcks, topology } from './plan-fixtures.js';

const env: Environment = {
  name: 'prod',
  namespace: 'db-{team}',
  memberClusters: [
    { name: 'eu-1', destination: { server: 'https://eu-1.example.com' }, zones: ['a'] },
    { name: 'eu-2', destination: { server: 'https://eu-2.example.com' }, zones: ['a'] },
  ],
  argocd: { repoURL: 'https://git.example.com/gitops.git', targetRevision: 'main' },
};
const crd: KubeObject = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'instancesets.dbtopo.dev' } };
const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const objs = (member: string, name: string, namespace: string) => topology({ name, member, namespace }).map((o) => o.object);

interface AppSetSpec {
  generators: Array<{ list: { elements: unknown[] } }>;
  syncPolicy: { preserveResourcesOnDeletion: boolean };
  strategy?: { type: string; rollingSync: { steps: Array<{ matchExpressions: Array<{ key: string; operator: string; values: string[] }> }> } };
  template: {
    metadata: { labels: Record<string, string> }; spec: { syncPolicy: { syncOptions: string[] }; ignoreDifferences: Array<{ kind: string; managedFieldsManagers: string[] }> } };
}

describe('argocdObjects', () => {
  const [project, appSet] = argocdObjects(env, [
    { memberCluster: 'eu-1', path: 'rendered/prod/eu-1', objects: [crd, ns('db-a'), ...objs('eu-1', 'a', 'db-a')] },
    { memberCluster: 'eu-2', path: 'rendered/prod/eu-2', objects: [crd, ns('db-b'), ...objs('eu-2', 'b', 'db-b')] },
  ]) as unknown as [KubeObject & { spec: Record<string, unknown> }, KubeObject & { spec: AppSetSpec }];

  it('scopes the AppProject to the repo, the rendered namespaces and the rendered kinds', () => {
    expect(project.kind).toBe('AppProject');
    expect(project.metadata.name).toBe('dbtopo-prod');
    expect(project.spec['sourceRepos']).toEqual(['https://git.example.com/gitops.git']);
    expect(project.spec['destinations']).toEqual([
      { server: 'https://eu-1.example.com', namespace: 'db-a' },
      { server: 'https://eu-2.example.com', namespace: 'db-b' },
    ]);
    expect(project.spec['clusterResourceWhitelist']).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
    ]);
    expect(project.spec['namespaceResourceWhitelist']).toEqual([
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'Service' },
      { group: 'dbtopo.dev', kind: 'Cluster' },
      { group: 'dbtopo.dev', kind: 'InstanceSet' },
    ]);
  });

  it('lists every member cluster in environment order with its path and destination', () => {
    expect(appSet.kind).toBe('ApplicationSet');
    expect(appSet.spec.generators[0]?.list.elements).toEqual([
      { memberCluster: 'eu-1', path: 'rendered/prod/eu-1', namespace: 'db-a', destination: 'https://eu-1.example.com' },
      { memberCluster: 'eu-2', path: 'rendered/prod/eu-2', namespace: 'db-b', destination: 'https://eu-2.example.com' },
    ]);
    const spec = appSet.spec.template.spec;
    expect(spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(['ServerSideApply=true', 'CreateNamespace=false']));
    expect(spec.ignoreDifferences.map((d) => `${d.kind} ${d.managedFieldsManagers.join(',')}`)).toEqual([
      'Cluster dbtopo-controller',
      'InstanceSet dbtopo-controller',
    ]);
    expect(appSet.spec.syncPolicy.preserveResourcesOnDeletion).toBe(true);
  });

  it('rolls the canary member cluster first (RollingSync on the member-cluster label), the rest once it is Healthy', () => {
    expect(appSet.spec.strategy).toEqual({
      type: 'RollingSync',
      rollingSync: {
        steps: [
          { matchExpressions: [{ key: MEMBER_CLUSTER_LABEL, operator: 'In', values: ['eu-1'] }] },
          { matchExpressions: [{ key: MEMBER_CLUSTER_LABEL, operator: 'In', values: ['eu-2'] }] },
        ],
      },
    });
    // the label the steps select on is on every generated Application
    expect(appSet.spec.template.metadata.labels[MEMBER_CLUSTER_LABEL]).toBe('{{.memberCluster}}');
  });

  it("follows the environment file's order, the plan's canary, and leaves out member clusters without an Application", () => {
    const three: Environment = {
      ...env,
      memberClusters: ['us-2', 'eu-9', 'us-1', 'eu-1'].map((name) => ({ name, destination: { server: `https://${name}.example.com` }, zones: ['a'] })),
    };
    // eu-9 renders only cluster-scoped objects: no Application, so no step
    const members = [
      { memberCluster: 'eu-1', path: 'rendered/prod/eu-1', objects: [crd, ns('db-a'), ...objs('eu-1', 'a', 'db-a')] },
      { memberCluster: 'us-1', path: 'rendered/prod/us-1', objects: [crd, ns('db-a'), ...objs('us-1', 'a', 'db-a')] },
      { memberCluster: 'eu-9', path: 'rendered/prod/eu-9', objects: [crd] },
      { memberCluster: 'us-2', path: 'rendered/prod/us-2', objects: [crd, ns('db-a'), ...objs('us-2', 'a', 'db-a')] },
    ];
    const [, set] = argocdObjects(three, members) as unknown as [unknown, KubeObject & { spec: AppSetSpec }];
    const steps = set.spec.strategy?.rollingSync.steps.map((st) => st.matchExpressions.flatMap((e) => e.values));
    expect(steps).toEqual([['us-2'], ['us-1', 'eu-1']]);
    expect(steps).toEqual(rolloutSteps(memberOrder(three), ['eu-1', 'us-1', 'us-2']));
    // the same change in every member cluster: the plan's canary is the first step
    const base = ['eu-1', 'us-1', 'us-2'].flatMap((m) => topology({ name: 't', member: m, replicas: 2 }));
    const head = ['eu-1', 'us-1', 'us-2'].flatMap((m) => topology({ name: 't', member: m, replicas: 3 }));
    const plan = buildPlan(base, head, { ...noAcks, memberOrder: new Map([['prod', memberOrder(three)]]) });
    const firstWave = new Set(plan.actions.filter((a) => a.wave === 0).map((a) => a.memberCluster));
    expect([...firstWave]).toEqual(steps?.[0]);
    // one member cluster: one step; none: no strategy
    const [, one] = argocdObjects(three, members.slice(0, 1)) as unknown as [unknown, KubeObject & { spec: AppSetSpec }];
    expect(one.spec.strategy?.rollingSync.steps.map((st) => st.matchExpressions[0]?.values)).toEqual([['eu-1']]);
    const [, none] = argocdObjects(three, members.slice(2, 3)) as unknown as [unknown, KubeObject & { spec: AppSetSpec }];
    expect(none.spec.strategy).toBeUndefined();
  });

  it('renders nothing for an environment without argocd settings', () => {
    expect(argocdObjects({ ...env, argocd: undefined }, [])).toEqual([]);
  });
});

describe('sync waves', () => {
  it('annotates CRDs/Namespaces -2, config and Services -1, databases 0, policies 1; marks spread InstanceSets', () => {
    const files = [
      { env: 'prod', memberCluster: 'eu-1', path: 'prod/eu-1/_cluster/crd.yaml', object: crd },
      ...topology({ name: 'a', member: 'eu-1' }).map((o) => ({ env: 'prod', memberCluster: 'eu-1', path: `prod/eu-1/db/a/${o.object.kind}-${o.object.metadata.name}`, object: o.object })),
      ...topology({ name: 'a', member: 'eu-2' }).filter((o) => o.object.kind === 'InstanceSet' && o.object.metadata.name === 'a-server').map((o) => ({ env: 'prod', memberCluster: 'eu-2', path: 'prod/eu-2/db/a/x', object: o.object })),
      { env: 'prod', memberCluster: 'eu-1', path: 'prod/eu-1/db/a/pdb', object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'a', namespace: 'db' } } },
    ];
    const out = annotateForArgoCd(files);
    const wave = (kind: string) => [...new Set(out.filter((f) => f.object.kind === kind).map((f) => f.object.metadata.annotations?.[SYNC_WAVE]))];
    expect([wave('CustomResourceDefinition'), wave('ConfigMap'), wave('Service'), wave('Cluster'), wave('InstanceSet'), wave('PodDisruptionBudget')]).toEqual([['-2'], ['-1'], ['-1'], ['0'], ['0'], ['1']]);
    const spread = out.filter((f) => f.object.metadata.annotations?.[SPANS_MEMBER_CLUSTERS] === 'true').map((f) => f.path);
    expect(spread).toEqual(['prod/eu-1/db/a/InstanceSet-a-server', 'prod/eu-2/db/a/x']);
    // the input is not mutated
    expect(crd.metadata.annotations).toBeUndefined();
  });
});
