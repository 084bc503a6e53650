// What the federation manager tells the member clusters about a spread shard, each round, with
// server-side apply under its own field manager (FIELD_MANAGER_FEDERATION), so that nothing it
// writes is in Git and Argo CD's diff ignores it:
//   - status.federation of the shard's server InstanceSet in every member cluster: the global
//     primary, the member cluster's own name (pods of one name run in two member clusters while an
//     ordinal moves), and the leaving ordinals it may now remove (`released`, release.ts). The
//     member cluster's controller labels a pod primary only when the engine reports primary AND
//     this names it (roles/role-plan.ts), so an old primary back from the dead is
//     never labelled, and no member cluster labels its own primary while another one's is chosen;
//   - the `<shard>-primary` Service's endpoints in member clusters where the primary is not local:
//     an EndpointSlice `<service>-federation` (managed-by dbtopo-federation; the EndpointSlice
//     controller leaves slices of other managers alone, kube-proxy merges them), pointing at the
//     primary's pod address, as Cilium ClusterMesh global services or an MCS import would. Where
//     the primary is local the Service's own selector finds it, and the slice is removed.
// Writes happen only when what is published changed (memo per member cluster): a manager at rest
// writes nothing.
import { FIELD_MANAGER_FEDERATION, type FederationShard, type InstanceSet, type InstanceSetFederationStatus, type KubeObject } from '../../schemas/types/index.js';
import { isNotFound, resourcePath } from '../runtime/kube.js';
import type { MemberAccess } from './members.js';

export const FEDERATION_SLICE_SUFFIX = '-federation';
const SLICE_MANAGED_BY = 'dbtopo-federation';

export interface Published {
  memberCluster: string;
  pod: string;
  host: string;
  port: number;
}

/** Per member cluster, namespace and shard: what was published there last (the slice's address, or '' = none). */
export type PublishMemo = Map<string, string>;

const sliceName = (shard: FederationShard): string => `${shard.primaryService}${FEDERATION_SLICE_SUFFIX}`;
const sliceResource = (ns: string, name?: string): string => `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;

/** status.federation on the member's InstanceSet, when it says something else. */
export async function publishStatus(access: MemberAccess, is: InstanceSet, fed: InstanceSetFederationStatus): Promise<boolean> {
  const cur = is.status?.federation;
  const same = (a: number[] | undefined, b: number[] | undefined): boolean => (a ?? []).join(',') === (b ?? []).join(',');
  if (
    cur?.primary?.pod === fed.primary?.pod &&
    cur?.primary?.memberCluster === fed.primary?.memberCluster &&
    cur?.state === fed.state &&
    cur?.message === fed.message &&
    cur?.memberCluster === fed.memberCluster &&
    same(cur?.released, fed.released) &&
    cur?.updateGeneration === fed.updateGeneration &&
    cur?.updateWaiting === fed.updateWaiting
  ) {
    return false;
  }
  const ns = is.metadata.namespace ?? 'default';
  await access.client.apply(
    resourcePath('InstanceSet', ns, is.metadata.name, 'status'),
    { apiVersion: is.apiVersion, kind: 'InstanceSet', metadata: { name: is.metadata.name, namespace: ns }, status: { federation: fed } },
    FIELD_MANAGER_FEDERATION,
  );
  return true;
}

/** The remote primary's EndpointSlice for the member's `<shard>-primary` Service (or its removal). */
export async function publishEndpoints(access: MemberAccess, namespace: string, shard: FederationShard, primary: Published | undefined, memo: PublishMemo): Promise<boolean> {
  const key = `${access.name}/${namespace}/${shard.name}`;
  const want = primary !== undefined && primary.memberCluster !== access.name ? primary.host : '';
  if (memo.get(key) === want) return false;
  const name = sliceName(shard);
  if (want === '') {
    try {
      await access.client.request('delete', 'DELETE', sliceResource(namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    memo.set(key, want);
    return true;
  }
  const svc = await access.client.get<KubeObject & { spec?: { ports?: Array<{ name?: string; port: number; protocol?: string }> } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(shard.primaryService)}`);
  const ports = (svc?.spec?.ports ?? [{ port: shard.port }]).map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: shard.port, protocol: p.protocol ?? 'TCP' }));
  await access.client.apply(
    sliceResource(namespace, name),
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace,
        labels: { 'kubernetes.io/service-name': shard.primaryService, 'endpointslice.kubernetes.io/managed-by': SLICE_MANAGED_BY, 'app.kubernetes.io/managed-by': 'dbtopo' },
        annotations: { 'dbtopo.dev/federation-primary': `${primary!.memberCluster}/${primary!.pod}` },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [want], conditions: { ready: true }, hostname: primary!.pod }],
      ports,
    },
    FIELD_MANAGER_FEDERATION,
  );
  memo.set(key, want);
  return true;
}
