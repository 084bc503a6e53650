// The compiler's middle: a topology with every default written out (resolve), then spread over
// member clusters (place). Expand reads only these shapes, never the user's files, so every
// default lives in one place (compiler/resolve) and expand stays a plain mapping.

import type { Engine, SecretRef, TopologyMode } from '../schemas/types/index.js';

export interface ResolvedResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export interface ResolvedInstance {
  name: string;
  replicas: number;
  resources: ResolvedResources;
  zone?: string;
  nodeSelector: Record<string, string>;
}

export interface ResolvedServer {
  image: string;
  port: number;
  /** Servers per shard, primary included. */
  replicas: number;
  /** 1 for every mode but Redis `sharded`. */
  shards: number;
  resources: ResolvedResources;
  storage: { size: string; class?: string };
  /** Engine parameters, values already stringified the way the config file wants them. */
  parameters: Record<string, string>;
  /** Heterogeneous instance templates; their replicas are part of `replicas`. */
  instances: ResolvedInstance[];
}

export interface ResolvedSentinel {
  image: string;
  port: number;
  replicas: number;
  quorum: number;
  resources: ResolvedResources;
}

export interface ResolvedProxy {
  kind: 'twemproxy' | 'haproxy';
  image: string;
  /** The proxy's version, from the image tag (EngineSpec.version). */
  version: string;
  port: number;
  replicas: number;
  resources: ResolvedResources;
}

export interface ResolvedPlacement {
  zoneSpread: boolean;
  antiAffinity: 'required' | 'preferred' | 'none';
  exclusiveCpu: boolean;
  /** Empty: place() picks one member cluster by weighted rendezvous hashing. */
  memberClusters: string[];
  nodeSelector: Record<string, string>;
  /** Acknowledged: a spread shard over fewer than three member clusters pauses writes while one is lost (DBT5010). */
  memberClusterLoss?: 'pause-writes';
}

export interface ResolvedTopology {
  env: string;
  name: string;
  /** Topology file, relative to the repo root (annotation dbtopo.dev/source). */
  source: string;
  team: string;
  namespace: string;
  engine: Engine;
  mode: TopologyMode;
  version: string;
  server: ResolvedServer;
  sentinel?: ResolvedSentinel;
  proxy?: ResolvedProxy;
  replication: { mode: 'async' | 'semi-sync' };
  credentials?: { password: SecretRef; username?: SecretRef };
  probe: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number };
  /** Of every container (environment `defaults.imagePullPolicy`, else IfNotPresent). */
  imagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /** DNS domain of the member clusters (environment `clusterDomain`, else cluster.local). */
  clusterDomain: string;
  /**
   * Where pods of other member clusters and the federation manager connect from (environment
   * `memberClusters[].podCIDRs`, `federation.podCIDRs`): what the servers of a spread shard admit.
   */
  network: { podCIDRs: Record<string, string[]>; federationPodCIDRs?: string[] };
  placement: ResolvedPlacement;
}

/** One pod slot of a shard: its global ordinal and the instance template it uses (none: default). */
export interface OrdinalSlot {
  ordinal: number;
  template?: string;
}

export interface PlacedShard {
  index: number;
  /** Value of the dbtopo.dev/shard label ("0".."n-1"); undefined for unsharded modes. */
  shardLabel?: string;
  instanceSet: string;
  /** Servers of this shard across all member clusters. */
  totalReplicas: number;
  /** The slots that live in this member cluster, ordinal order. */
  slots: OrdinalSlot[];
}

export interface MemberPlacement {
  memberCluster: string;
  /** Position among the topology's member clusters; offsets the ordinals of Sentinels and proxies. */
  index: number;
  zones: string[];
  shards: PlacedShard[];
}

export interface PlacedTopology {
  topology: ResolvedTopology;
  members: MemberPlacement[];
}
