// The install manifests of the federation manager (main.ts --mode federation, docs/federation.md),
// in two files because they go to two kinds of cluster:
// - federation.yaml, the federation API server (where Argo CD syncs rendered/<env>/_federation/):
//   the Federation CRD, the dbtopo-system Namespace, the ServiceAccount dbtopo-federation, its
//   RBAC (Federations and their status, Events; the member clusters' cluster Secrets and its
//   leader Lease in its own namespace only) and the leader-elected Deployment, the controller's
//   image in another mode;
// - federation-member.yaml, every member cluster: the ServiceAccount dbtopo-federation the
//   manager acts as there (its cluster Secret carries that ServiceAccount's token; the admission
//   guard lets exactly it write status.federation, guard.federation in the environment file), a
//   ClusterRole + binding with the verbs the manager uses there (controller/federation/gather.ts,
//   publish.ts, engines/credentials.ts), and a long-lived token Secret for the cluster Secret.
// Pure: render.ts writes them.
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { FEDERATION_SERVICE_ACCOUNT } from '../../schemas/types/guard.js';
import { GROUP, type KubeObject } from '../../schemas/types/index.js';
import { DEFAULT_INSTALL, installParts, LEASE_RULES, type InstallOptions } from './manifests.js';

const NAME = FEDERATION_SERVICE_ACCOUNT;

/** On the federation API server, cluster-wide: the Federations in every namespace Argo CD syncs them to. */
export const FEDERATION_CLUSTER_RULES = [
  { apiGroups: [GROUP], resources: ['federations'], verbs: ['get', 'list', 'watch'] },
  // status.shards, written by server-side apply (write-ahead of a new primary, then each round's change)
  { apiGroups: [GROUP], resources: ['federations/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
];

/** On the federation API server, in the manager's namespace only: the member clusters' cluster Secrets (controller/federation/members.ts). */
export const FEDERATION_NAMESPACE_RULES = [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }, ...LEASE_RULES];

/** In every member cluster: what the manager reads and publishes there. */
export const FEDERATION_MEMBER_RULES = [
  // the server InstanceSet of a spread shard and its pods (gather.ts)
  { apiGroups: [GROUP], resources: ['instancesets'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
  // status.federation, by server-side apply (publish.ts); the admission guard lets it write nothing else of the status
  { apiGroups: [GROUP], resources: ['instancesets/status'], verbs: ['patch'] },
  // the <shard>-primary Service's ports, and the <shard>-primary-federation EndpointSlice where the primary is remote
  { apiGroups: [''], resources: ['services'], verbs: ['get'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  // engine credentials named in spec.engine.credentials
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
];

/** The Secret that holds a long-lived token of the ServiceAccount, for the member cluster's cluster Secret. */
export const FEDERATION_TOKEN_SECRET = `${NAME}-token`;

export function federationManifests(o: InstallOptions = DEFAULT_INSTALL): KubeObject[] {
  const p = installParts(NAME, o.namespace);
  return [
    federationCrd as unknown as KubeObject,
    p.namespace(true),
    p.serviceAccount(),
    ...p.clusterRole(NAME, FEDERATION_CLUSTER_RULES),
    ...p.role(NAME, FEDERATION_NAMESPACE_RULES),
    // its namespace is POD_NAMESPACE: --cluster-secrets-namespace and the Lease default to it
    p.deployment(o.replicas, { name: 'federation-manager', image: o.image, args: ['--mode', 'federation', '--leader-elect'] }),
  ];
}

export function federationMemberManifests(o: Pick<InstallOptions, 'namespace'> = DEFAULT_INSTALL): KubeObject[] {
  const p = installParts(NAME, o.namespace);
  return [
    p.namespace(true),
    p.serviceAccount(),
    ...p.clusterRole(NAME, FEDERATION_MEMBER_RULES),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { ...p.meta(FEDERATION_TOKEN_SECRET), annotations: { 'kubernetes.io/service-account.name': NAME } },
      type: 'kubernetes.io/service-account-token',
    },
  ];
}
