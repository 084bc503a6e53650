// Argo CD wiring generated per environment: AppProject + ApplicationSet, sync waves on objects.
import { describe, expect, it } from 'vitest';
import { argocdObjects } from '../../compiler/argocd/objects.js';
import { annotateForArgoCd, SPANS_MEMBER_CLUSTERS, SYNC_WAVE } from '../../compiler/argocd/waves.js';
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { topology } from './plan-fixtures.js';

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
  template: { spec: { syncPolicy: { syncOptions: string[] }; ignoreDifferences: Array<{ kind: string; managedFieldsManagers: string[] }> } };
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

  it('renders nothing for an environment without argocd settings', () => {
    expect(argocdObjects({ ...env, argocd: undefined }, [])).toEqual([]);
  });
});

describe('sync waves', () => {
  it('annotates CRDs/Namespaces -2, config and Services -1, databases 0, policies 1; marks spread InstanceSets', () => {
    const files = [
      { path: 'prod/eu-1/_cluster/crd.yaml', object: crd },
      ...topology({ name: 'a', member: 'eu-1' }).map((o) => ({ path: `prod/eu-1/db/a/${o.object.kind}-${o.object.metadata.name}`, object: o.object })),
      ...topology({ name: 'a', member: 'eu-2' }).filter((o) => o.object.kind === 'InstanceSet' && o.object.metadata.name === 'a-server').map((o) => ({ path: 'prod/eu-2/db/a/x', object: o.object })),
      { path: 'prod/eu-1/db/a/pdb', object: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'a', namespace: 'db' } } },
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
