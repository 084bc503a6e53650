// InstanceSet (dbtopo.dev/v1alpha1): the pods of one component of one shard.
// Field names follow KubeBlocks' workloads.kubeblocks.io InstanceSet where the meaning is the
// same, so users of that project feel at home; `engine` and `roleProbe` are dbtopo's own.

import type { API_VERSION, Role } from './labels.js';
import type { SwitchoverPhase } from './events.js';
import type {
  Condition,
  LabelSelector,
  ObjectMeta,
  PersistentVolumeClaimTemplate,
  PodTemplateSpec,
  ResourceRequirements,
} from './k8s.js';

export interface Ordinals {
  ranges?: Array<{ start: number; end: number }>;
  discrete?: number[];
}

/** A heterogeneous instance: some of the pods differ from the default template. */
export interface InstanceTemplate {
  name: string;
  replicas: number;
  ordinals?: Ordinals;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resources?: ResourceRequirements;
  nodeSelector?: Record<string, string>;
  /** Zone this instance must run in (topology.kubernetes.io/zone). */
  zone?: string;
  env?: Array<{ name: string; value: string }>;
}

export interface RoleDefinition {
  name: Role;
  /** Higher is updated later: secondaries (1) before the primary (2). */
  updatePriority: number;
  participatesInQuorum: boolean;
  /** At most one pod may hold an exclusive role at a time. */
  isExclusive: boolean;
}

export type EngineType = 'redis' | 'redis-sentinel' | 'twemproxy' | 'mysql' | 'haproxy';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface EngineSpec {
  type: EngineType;
  version: string;
  /** The container port the engine listens on. */
  port: number;
  /** Password (and user, for MySQL) of the engine's admin account, only ever as Secret references. */
  credentials?: { username?: SecretKeyRef; password: SecretKeyRef };
  /** Servers: how replicas follow the primary. */
  replication?: {
    mode: 'async' | 'semi-sync';
    /** Redis with Sentinel: the Sentinel InstanceSet that watches this shard and the name it uses. */
    sentinel?: { instanceSet: string; masterName: string; quorum: number };
  };
  /** Sentinels: the shards they monitor. */
  monitors?: Array<{ masterName: string; instanceSet: string; port: number; quorum: number }>;
  /** Proxies: the server InstanceSets behind them, one per shard. */
  backends?: Array<{ shard: string; instanceSet: string; port: number }>;
}

export interface RoleProbe {
  periodSeconds: number;
  timeoutSeconds: number;
  /** Consecutive failed probes before a primary is considered lost (MySQL failover without Sentinel). */
  failureThreshold: number;
}

/**
 * A server InstanceSet holding part of a spread shard: a shard whose servers the compiler placed
 * in several member clusters (global ordinals). One authority across the member clusters decides
 * its primary; a member cluster's controller never promotes a pod of it on its own.
 */
export interface SpreadSpec {
  /** Every member cluster holding servers of the shard, sorted (this one included). */
  memberClusters: string[];
}

export type MemberUpdateStrategy = 'Serial' | 'BestEffortParallel' | 'Parallel';
export type PodManagementPolicy = 'OrderedReady' | 'Parallel';
export type RetentionPolicyType = 'Retain' | 'Delete';

export interface InstanceSetSpec {
  replicas: number;
  /** Ordinals of the default template; by default 0..replicas-1 minus those used by instance templates. */
  defaultTemplateOrdinals?: Ordinals;
  selector: LabelSelector;
  template: PodTemplateSpec;
  instances?: InstanceTemplate[];
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  persistentVolumeClaimRetentionPolicy?: { whenDeleted: RetentionPolicyType; whenScaled: RetentionPolicyType };
  podManagementPolicy: PodManagementPolicy;
  /** Pods created at once under podManagementPolicy Parallel. */
  parallelPodManagementConcurrency?: number;
  /** Present on servers; proxies and sentinels have no roles. */
  roles?: RoleDefinition[];
  roleProbe?: RoleProbe;
  /** Set on the servers of a spread shard: roles are decided across member clusters, never promoted here. */
  spread?: SpreadSpec;
  memberUpdateStrategy: MemberUpdateStrategy;
  instanceUpdateStrategy?: { rollingUpdate?: { maxUnavailable?: number | string } };
  minReadySeconds?: number;
  /** Pod names (`<instanceset>-<ordinal>`) that are taken out of service. */
  offlineInstances?: string[];
  paused?: boolean;
  /** Headless Service that gives the pods stable DNS names. */
  serviceName: string;
  engine: EngineSpec;
}

export interface MemberStatus {
  podName: string;
  role?: Role;
  ready: boolean;
}

/**
 * The durable record of the last switchover (controller/reconcile/instanceset/switchover-record.ts):
 * written as Running before the engines are touched, then Succeeded or Failed, so a restarted
 * controller, `dbtopo switchover` and `dbtopo status` all read what happened from the object.
 */
export interface SwitchoverStatus {
  from: string;
  /** The requested target; absent = the engine picks the most advanced secondary. */
  to?: string;
  phase: SwitchoverPhase;
  /** Why it was started: "requested by annotation", "before updating X", "before removing X (…)". */
  reason: string;
  startedAt: string;
  finishedAt?: string;
  /** Failed: why; Succeeded: where the primary went and how long writes paused. */
  message?: string;
}

export interface InstanceSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  membersStatus?: MemberStatus[];
  /** Name of the pod the engine reports as primary, for printer columns and dashboards. */
  primary?: string;
  /** The primary before the current one (set when status.primary changes to another pod). */
  lastPrimary?: string;
  switchover?: SwitchoverStatus;
  /** spec.selector as a label-selector string, for the scale subresource (kubectl scale, HPA). */
  selector?: string;
  conditions?: Condition[];
}

export interface InstanceSet {
  apiVersion: typeof API_VERSION;
  kind: 'InstanceSet';
  metadata: ObjectMeta;
  spec: InstanceSetSpec;
  status?: InstanceSetStatus;
}
