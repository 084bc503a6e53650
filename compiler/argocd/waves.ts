// Argo CD sync waves on rendered objects (annotation argocd.argoproj.io/sync-wave): within one
// sync, Argo CD applies lower waves first and waits for them to be healthy.
//   -2  CRDs, Namespaces and the admission guard: the kinds, places and rules everything else needs
//   -1  ConfigMaps, Secrets, Services: what pods read or resolve at start
//    0  Clusters and InstanceSets: the databases
//    1  PodDisruptionBudgets, NetworkPolicies: guard rails once the pods exist
// It also marks InstanceSets whose shard is spread over member clusters, so the InstanceSet
// health check does not expect the primary in every member cluster. Pure.
import type { KubeObject } from '../../schemas/types/index.js';
import { fragment } from '../expand/fragment.js';

export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
export const SPANS_MEMBER_CLUSTERS = 'dbtopo.dev/spans-member-clusters';

const WAVES: Record<string, number> = {
  CustomResourceDefinition: -2,
  Namespace: -2,
  ValidatingAdmissionPolicy: -2,
  ValidatingAdmissionPolicyBinding: -2,
  ConfigMap: -1,
  Secret: -1,
  Service: -1,
  ServiceExport: -1,
  ServiceAccount: -1,
  Cluster: 0,
  InstanceSet: 0,
  PodDisruptionBudget: 1,
  NetworkPolicy: 1,
};

export function syncWave(o: KubeObject): number {
  return WAVES[o.kind] ?? 0;
}

/** The annotations of a rendered object with its wave and, on a spread InstanceSet, the spread marker. */
function argoAnnotations(annotations: Record<string, string>, wave: number, spans: boolean): Record<string, string> {
  return { ...annotations, [SYNC_WAVE]: String(wave), ...(spans ? { [SPANS_MEMBER_CLUSTERS]: 'true' } : {}) };
}

/**
 * Annotates rendered objects of one environment: sync waves on all, and the spread marker on
 * InstanceSets rendered (same namespace and name) into more than one member cluster.
 */
export function annotateForArgoCd<F extends { env: string; memberCluster: string; object: KubeObject }>(files: ReadonlyArray<F>): Array<F & { object: KubeObject }> {
  const members = new Map<string, Set<string>>();
  for (const f of files) {
    if (f.object.kind !== 'InstanceSet') continue;
    const k = `${f.env}|${f.object.metadata.namespace ?? ''}|${f.object.metadata.name}`;
    members.set(k, (members.get(k) ?? new Set()).add(f.memberCluster));
  }
  return files.map((f) => {
    const o = f.object;
    const spans = o.kind === 'InstanceSet' && (members.get(`${f.env}|${o.metadata.namespace ?? ''}|${o.metadata.name}`)?.size ?? 0) > 1;
    const annotations = fragment(argoAnnotations, o.metadata.annotations ?? {}, syncWave(o), spans);
    return { ...f, object: { ...o, metadata: { ...o.metadata, annotations } } };
  });
}
