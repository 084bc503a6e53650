// Federation (dbtopo.dev/v1alpha1): the spread shards of one topology in one environment, on the
// federation API server. Derived from the CRD schema in schemas/crds/federation.crd.ts, the one
// place a field is added or changed; metadata (ObjectMeta) is joined in from k8s.ts. The compiler
// writes the spec (compiler/expand/federation.ts); the federation manager writes the status, and
// `status.federation` of each member cluster's server InstanceSet (InstanceSetFederationStatus).

import type { federationSchema } from '../crds/federation.crd.js';
import type { FromStructuralSchema } from './from-structural-schema.js';
import type { API_VERSION } from './labels.js';
import type { ObjectMeta } from './k8s.js';

type Derived = FromStructuralSchema<typeof federationSchema>;

export interface Federation extends Omit<Derived, 'apiVersion' | 'kind' | 'metadata'> {
  apiVersion: typeof API_VERSION;
  kind: 'Federation';
  metadata: ObjectMeta;
}

export type FederationSpec = Federation['spec'];
export type FederationStatus = NonNullable<Federation['status']>;
/** One spread shard: its server InstanceSet name, Services and each member cluster's part. */
export type FederationShard = FederationSpec['shards'][number];
/** One member cluster's part of a spread shard: its global ordinals and pods with their cross-cluster names. */
export type FederationMember = FederationShard['members'][number];
export type FederationPod = FederationMember['pods'][number];
export type FederationShardStatus = NonNullable<FederationStatus['shards']>[number];
export type FederationMemberStatus = NonNullable<FederationShardStatus['members']>[number];
export type FederationStepStatus = NonNullable<FederationStatus['steps']>[number];
/** A pod of a spread shard in one member cluster: { memberCluster, pod }. */
export type FederationPodRef = NonNullable<FederationShardStatus['primary']>;
