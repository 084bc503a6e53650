// Cluster (dbtopo.dev/v1alpha1): one database as deployed in one member cluster.
// It names its components and shards; the controller aggregates their InstanceSets into status.

import type { API_VERSION } from './labels.js';
import type { Condition, ObjectMeta } from './k8s.js';
import type { TopologyMode } from '../modes.js';

export type ClusterPhase = 'Creating' | 'Running' | 'Updating' | 'Degraded' | 'Failed';
export type ComponentKind = 'server' | 'sentinel' | 'proxy';

export interface ClusterComponent {
  name: string;
  kind: ComponentKind;
  /** InstanceSets of this component; one per shard for sharded servers. */
  instanceSets: string[];
  replicas: number;
}

export interface ClusterSpec {
  engine: 'redis' | 'mysql';
  mode: TopologyMode;
  version: string;
  shards: number;
  components: ClusterComponent[];
  /** Environment and topology this Cluster was compiled from. */
  environment: string;
  topology: string;
}

export interface ClusterStatus {
  observedGeneration?: number;
  phase?: ClusterPhase;
  message?: string;
  components?: Array<{ name: string; phase: ClusterPhase; ready: number; replicas: number; message?: string }>;
  conditions?: Condition[];
}

export interface Cluster {
  apiVersion: typeof API_VERSION;
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
  status?: ClusterStatus;
}
