// Cluster (dbtopo.dev/v1alpha1): one database as deployed in one member cluster.
// It names its components and shards; the controller aggregates their InstanceSets into status.
// Derived from the CRD schema in schemas/crds/cluster.crd.ts, the one place a field is added or
// changed; metadata (ObjectMeta, left to Kubernetes by the CRD) is joined in from k8s.ts.

import type { clusterSchema } from '../crds/cluster.crd.js';
import type { FromStructuralSchema } from './from-structural-schema.js';
import type { API_VERSION } from './labels.js';
import type { ObjectMeta } from './k8s.js';

type Derived = FromStructuralSchema<typeof clusterSchema>;

export interface Cluster extends Omit<Derived, 'apiVersion' | 'kind' | 'metadata'> {
  apiVersion: typeof API_VERSION;
  kind: 'Cluster';
  metadata: ObjectMeta;
}

export type ClusterSpec = Cluster['spec'];
export type ClusterStatus = NonNullable<Cluster['status']>;
export type ClusterComponent = ClusterSpec['components'][number];
export type ComponentKind = ClusterComponent['kind'];
export type ClusterPhase = NonNullable<ClusterStatus['phase']>;
