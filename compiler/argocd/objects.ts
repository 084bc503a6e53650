// Argo CD wiring of one environment, generated with its rendered manifests:
// - an AppProject that lets the environment's Applications deploy only from the GitOps repo, only
//   into the member clusters and namespaces the environment renders, and only the kinds it renders
//   (cluster-scoped: CRDs, Namespaces and the admission guard's policies only);
// - one ApplicationSet with a list generator over the member clusters, each element pointing an
//   Application at rendered/<env>/<member-cluster>. One ApplicationSet (rather than one Application
//   per member cluster) keeps the sync settings in one template, so member clusters cannot drift
//   apart, and adding a member cluster is one list element in the diff. Its RollingSync strategy
//   syncs the canary member cluster's Application first and the others once it is Healthy, in the
//   order `dbtopo plan` prints (compiler/rollout/order.ts);
// - when the environment has spread topologies, one more element: rendered/<env>/_federation/ (the
//   Federation objects) into the federation API server (environment `federation.destination`,
//   default the cluster Argo CD runs in), synced before the canary (docs/federation.md). Pure.
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { FIELD_MANAGER_CONTROLLER, FIELD_MANAGER_FEDERATION, GROUP, MANAGED_BY } from '../../schemas/types/labels.js';
import { memberOrder, rolloutSteps } from '../rollout/order.js';

export interface MemberRender {
  memberCluster: string;
  /** Path of the member cluster's manifests in the Git repo, e.g. rendered/prod/prod-eu-west. */
  path: string;
  /** Only identity and kind are read: a parallel compile passes heads, not whole objects. */
  objects: ReadonlyArray<Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { namespace?: string } }>;
}

export const ARGOCD_API_VERSION = 'argoproj.io/v1alpha1';
const LABELS = { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': MANAGED_BY };
/** Label on every generated Application: its member cluster, which the RollingSync steps select by. */
export const MEMBER_CLUSTER_LABEL = 'dbtopo.dev/member-cluster';
/**
 * The federation API server's element of the ApplicationSet: Application dbtopo-<env>-federation,
 * label dbtopo.dev/member-cluster: federation. A member cluster may not take this name (DBT3125).
 */
export const FEDERATION_APP = 'federation';
/** Where rendered/<env>/_federation/ syncs when the environment names no federation destination: the cluster Argo CD runs in. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/** The environment's federation API server as an Argo CD destination. */
export function federationDestination(env: Pick<Environment, 'federation'>): { server?: string; name?: string } {
  return env.federation?.destination ?? { server: IN_CLUSTER };
}

/** Whether two Argo CD destinations name the same cluster (same server URL, or same registered name). */
export function sameDestination(a: { server?: string; name?: string }, b: { server?: string; name?: string }): boolean {
  return (a.server !== undefined && a.server === b.server) || (a.name !== undefined && a.name === b.name);
}

/**
 * The member clusters of an environment that are its federation API server too: the namespaces
 * they render are not rendered again in _federation/ (two Applications rendering one Namespace
 * is a sync failure under FailOnSharedResource).
 */
export function membersAtFederation(env: Environment): string[] {
  const fed = federationDestination(env);
  return env.memberClusters.filter((m) => sameDestination(m.destination, fed)).map((m) => m.name);
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function projectName(env: Environment): string {
  return env.argocd?.project ?? `dbtopo-${env.name}`;
}

/**
 * `federation`: rendered/<env>/_federation/ (the Federation objects of the environment's spread
 * topologies, for its federation API server), when there is one.
 */
export function argocdObjects(env: Environment, members: ReadonlyArray<MemberRender>, federation?: MemberRender): KubeObject[] {
  const argo = env.argocd;
  if (!argo) return [];
  const namespace = argo.namespace ?? 'argocd';
  const destinationOf = new Map<string, { server?: string; name?: string }>(env.memberClusters.map((m) => [m.name, m.destination]));
  const namespacesOf = (m: MemberRender): string[] =>
    [...new Set(m.objects.flatMap((o) => (o.metadata.namespace !== undefined ? [o.metadata.namespace] : [])))].sort(byString);
  // Environment order, so the list (and the Applications) read like the environment file.
  const ordered = memberOrder(env).flatMap((name) => members.filter((m) => m.memberCluster === name));
  const deployable = ordered.filter((m) => namespacesOf(m).length > 0);
  // The federation API server's Application comes first: it syncs before the canary member
  // cluster (its own RollingSync step), so the federation manager knows a spread shard's
  // members before any member cluster runs a pod of it.
  const fed = federation !== undefined && namespacesOf(federation).length > 0 ? { ...federation, memberCluster: FEDERATION_APP } : undefined;
  if (fed) destinationOf.set(FEDERATION_APP, federationDestination(env));
  const apps = fed ? [fed, ...deployable] : deployable;
  const all = federation ? [...members, federation] : members;

  const kinds = (scoped: boolean) => {
    const seen = new Map<string, { group: string; kind: string }>();
    for (const m of all) {
      for (const o of m.objects) {
        if ((o.metadata.namespace !== undefined) !== scoped) continue;
        const group = groupOf(o.apiVersion);
        seen.set(`${group}/${o.kind}`, { group, kind: o.kind });
      }
    }
    return [...seen.entries()].sort(([a], [b]) => byString(a, b)).map(([, v]) => v);
  };
  const clusterKinds = kinds(false).filter(
    (k) =>
      (k.group === '' && k.kind === 'Namespace') ||
      (k.group === 'apiextensions.k8s.io' && k.kind === 'CustomResourceDefinition') ||
      (k.group === 'admissionregistration.k8s.io' && (k.kind === 'ValidatingAdmissionPolicy' || k.kind === 'ValidatingAdmissionPolicyBinding')),
  );

  const project: KubeObject = {
    apiVersion: ARGOCD_API_VERSION,
    kind: 'AppProject',
    metadata: { name: projectName(env), namespace, labels: { ...LABELS } },
    spec: {
      description: `dbtopo databases of environment ${env.name} (generated by dbtopo compile)`,
      sourceRepos: [argo.repoURL],
      destinations: apps.flatMap((m) =>
        namespacesOf(m).map((ns) => ({ ...destinationOf.get(m.memberCluster), namespace: ns })),
      ),
      clusterResourceWhitelist: clusterKinds,
      namespaceResourceWhitelist: kinds(true),
    },
  };

  const useServer = apps.every((m) => destinationOf.get(m.memberCluster)?.server !== undefined);
  const elements = apps.map((m) => {
    const d = destinationOf.get(m.memberCluster) ?? {};
    return {
      memberCluster: m.memberCluster,
      path: m.path,
      namespace: namespacesOf(m)[0] as string,
      destination: (useServer ? d.server : (d.name ?? d.server)) ?? '',
    };
  });
  // Fields the dbtopo controller and the federation manager write (status, and the manager's
  // run-time decisions: status.federation of spread shards' InstanceSets, the Federation status,
  // the EndpointSlices of remote primaries): never a diff, never reverted by a sync.
  const ignoreDifferences = [
    { group: GROUP, kind: 'Cluster', jsonPointers: ['/status'], managedFieldsManagers: [FIELD_MANAGER_CONTROLLER] },
    { group: GROUP, kind: 'InstanceSet', jsonPointers: ['/status'], managedFieldsManagers: fed ? [FIELD_MANAGER_CONTROLLER, FIELD_MANAGER_FEDERATION] : [FIELD_MANAGER_CONTROLLER] },
    ...(fed
      ? [
          { group: GROUP, kind: 'Federation', jsonPointers: ['/status'], managedFieldsManagers: [FIELD_MANAGER_FEDERATION] },
          { group: 'discovery.k8s.io', kind: 'EndpointSlice', managedFieldsManagers: [FIELD_MANAGER_FEDERATION] },
        ]
      : []),
  ];
  // Member clusters in rollout order: the canary's Application is step 1, every other one step 2
  // (after the federation API server's, step 0, when the environment has spread topologies).
  // Argo CD's ApplicationSet controller (with progressive syncs enabled) then triggers each sync
  // itself and turns `automated` off on the Applications; a step starts once every Application of
  // the steps before it is Synced, Healthy and its last operation Succeeded.
  const memberSteps = rolloutSteps(memberOrder(env), deployable.map((m) => m.memberCluster));
  const steps = (fed && memberSteps.length > 0 ? [[FEDERATION_APP], ...memberSteps] : memberSteps).map((names) => ({
    matchExpressions: [{ key: MEMBER_CLUSTER_LABEL, operator: 'In', values: names }],
  }));
  const appSet: KubeObject = {
    apiVersion: ARGOCD_API_VERSION,
    kind: 'ApplicationSet',
    metadata: { name: `dbtopo-${env.name}`, namespace, labels: { ...LABELS } },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      generators: [{ list: { elements } }],
      ...(steps.length > 0 ? { strategy: { type: 'RollingSync', rollingSync: { steps } } } : {}),
      // Removing a member cluster from the list must not delete its databases: the plan's
      // deletion rules, not Argo CD, decide when data goes away.
      syncPolicy: { preserveResourcesOnDeletion: true },
      template: {
        metadata: {
          name: `dbtopo-${env.name}-{{.memberCluster}}`,
          labels: { ...LABELS, 'dbtopo.dev/environment': env.name, [MEMBER_CLUSTER_LABEL]: '{{.memberCluster}}' },
        },
        spec: {
          project: projectName(env),
          source: { repoURL: argo.repoURL, targetRevision: argo.targetRevision ?? 'HEAD', path: '{{.path}}', directory: { recurse: true } },
          destination: { [useServer ? 'server' : 'name']: '{{.destination}}', namespace: '{{.namespace}}' },
          syncPolicy: {
            // Used as written when progressive syncs are off in Argo CD (every Application syncs by
            // itself, no order). With them on, the ApplicationSet controller removes `automated`
            // from the Applications and syncs them step by step itself, with `prune` from here.
            automated: { prune: true, selfHeal: true },
            syncOptions: ['ServerSideApply=true', 'CreateNamespace=false', 'RespectIgnoreDifferences=true', 'PruneLast=true', 'FailOnSharedResource=true'],
          },
          ignoreDifferences,
        },
      },
    },
  };
  return [project, appSet];
}
