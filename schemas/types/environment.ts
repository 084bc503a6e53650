// An environment file (environments/envs/<name>.yaml): where and under which rules topologies run.

import type { Engine, Resources } from './topology.js';

export interface MemberCluster {
  name: string;
  /** Argo CD destination of this member cluster (server URL or registered cluster name). */
  destination: { server?: string; name?: string };
  zones: string[];
  /** Relative share of topologies placed here when a topology names no member cluster. */
  weight?: number;
}

export interface EnvironmentDefaults {
  storageClass?: string;
  storageSize?: string;
  resources?: Resources;
  sentinelResources?: Resources;
  proxyResources?: Resources;
  /** Image per engine component, e.g. redis: "redis:7.0.15"; the tag is derived from version when absent. */
  images?: Partial<Record<'redis' | 'mysql' | 'twemproxy' | 'haproxy', string>>;
  probePeriodSeconds?: number;
}

export interface EnvironmentPolicy {
  minReplicas?: number;
  maxReplicas?: number;
  minSentinels?: number;
  maxShards?: number;
  requireZoneSpread?: boolean;
  requireAntiAffinity?: boolean;
  allowedVersions?: Partial<Record<Engine, string[]>>;
  allowedImageRegistries?: string[];
  maxResources?: Resources;
}

export interface Environment {
  name: string;
  memberClusters: MemberCluster[];
  /** Namespace rule, a template over {topology}, {team}, {env}, {engine}; e.g. "db-{team}". */
  namespace: string;
  defaults?: EnvironmentDefaults;
  policy?: EnvironmentPolicy;
  /** Git repository and revision Argo CD reads rendered manifests from. */
  argocd?: { repoURL: string; targetRevision?: string; project?: string; namespace?: string };
  /** The admission guard's identities (docs/guard.md); every field has a default. */
  guard?: EnvironmentGuard;
}

export interface EnvironmentGuard {
  /** Who may write Cluster and InstanceSet specs; default Argo CD's application controller. */
  gitops?: { serviceAccounts?: string[]; users?: string[]; groups?: string[] };
  /** The dbtopo controller's ServiceAccount, <namespace>/<name>. */
  controller?: string;
  breakGlassGroup?: string;
}
