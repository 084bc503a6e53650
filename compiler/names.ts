// Object names, in one place: place() names InstanceSets, expand names everything else, and the
// property tests check all of them against the 63-character DNS-1123 label limit.

export const names = {
  cluster: (topology: string): string => topology,
  /** The Federation object of a topology with spread shards (on the federation API server). */
  federation: (topology: string): string => topology,
  serverSet: (topology: string, shard: number | undefined): string =>
    shard === undefined ? `${topology}-server` : `${topology}-shard-${shard}`,
  sentinelSet: (topology: string): string => `${topology}-sentinel`,
  proxySet: (topology: string): string => `${topology}-proxy`,
  pod: (instanceSet: string, ordinal: number): string => `${instanceSet}-${ordinal}`,
  headless: (instanceSet: string): string => `${instanceSet}-headless`,
  primary: (instanceSet: string): string => `${instanceSet}-primary`,
  replicas: (instanceSet: string): string => `${instanceSet}-replicas`,
  proxyService: (topology: string): string => `${topology}-proxy`,
  config: (instanceSet: string): string => `${instanceSet}-config`,
  pdb: (instanceSet: string): string => instanceSet,
  /** Params of the admission guard (compiler/expand/guard-params.ts). */
  guardParams: (topology: string): string => `${topology}-guard`,
  networkPolicy: (topology: string, component: string): string => `${topology}-${component}`,
  /** Sentinel master name of a shard. */
  masterName: (topology: string, shard: number | undefined): string =>
    shard === undefined ? topology : `${topology}-shard-${shard}`,
} as const;

/** DNS name of a pod behind its headless Service, as other pods in the cluster resolve it. */
export function podHost(instanceSet: string, ordinal: number, namespace: string): string {
  return `${names.pod(instanceSet, ordinal)}.${names.headless(instanceSet)}.${namespace}.svc`;
}

/** The clusterset domain of the Multi-Cluster Services API (KEP-1645), as Submariner and Cilium ClusterMesh serve it. */
export const CLUSTERSET_DOMAIN = 'clusterset.local';

/**
 * DNS name other member clusters reach a pod of an exported headless Service by (KEP-1645:
 * <hostname>.<cluster id>.<service>.<namespace>.svc.clusterset.local); dbtopo assumes the cluster
 * id is the member cluster's name in the environment file (docs/federation.md).
 */
export function podClusterSetHost(instanceSet: string, ordinal: number, memberCluster: string, namespace: string): string {
  return `${names.pod(instanceSet, ordinal)}.${memberCluster}.${names.headless(instanceSet)}.${namespace}.svc.${CLUSTERSET_DOMAIN}`;
}

/** DNS name of a Service in the cluster, as libc resolves it in a pod (through the search domains). */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc`;
}

/** The full DNS name of a Service, for resolvers that apply no search domains (HAProxy's). */
export function serviceFqdn(service: string, namespace: string, clusterDomain: string): string {
  return `${serviceHost(service, namespace)}.${clusterDomain}`;
}
