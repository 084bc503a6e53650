// InstanceSet (dbtopo.dev/v1alpha1): the pods of one component of one shard.
// Derived from the CRD schema in schemas/crds/instanceset.crd.ts, the one place a field is added
// or changed; the names below are views into the derived type for the code that works with one
// part. Field names follow KubeBlocks' workloads.kubeblocks.io InstanceSet where the meaning is the
// same, so users of that project feel at home; `engine` and `roleProbe` are dbtopo's own.
//
// Joined in by hand (schemas/types/k8s.ts), because the CRD leaves them to Kubernetes: metadata
// (ObjectMeta) and the claim spec of volumeClaimTemplates (x-kubernetes-preserve-unknown-fields).

import type { instanceSetSchema } from '../crds/instanceset.crd.js';
import type { FromStructuralSchema } from './from-structural-schema.js';
import type { API_VERSION } from './labels.js';
import type { ObjectMeta, PersistentVolumeClaimSpec } from './k8s.js';

type Derived = FromStructuralSchema<typeof instanceSetSchema>;
type DerivedSpec = Derived['spec'];
type DerivedClaimTemplate = NonNullable<DerivedSpec['volumeClaimTemplates']>[number];

/** A claim template; its spec is opaque to the CRD and typed by hand where dbtopo writes it. */
export type PersistentVolumeClaimTemplate = DerivedClaimTemplate & { spec: PersistentVolumeClaimSpec };

export interface InstanceSetSpec extends Omit<DerivedSpec, 'volumeClaimTemplates'> {
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
}

export type InstanceSetStatus = NonNullable<Derived['status']>;

export interface InstanceSet extends Omit<Derived, 'apiVersion' | 'kind' | 'metadata' | 'spec'> {
  apiVersion: typeof API_VERSION;
  kind: 'InstanceSet';
  metadata: ObjectMeta;
  spec: InstanceSetSpec;
}

export type LabelSelector = InstanceSetSpec['selector'];
/** The pod template: structural where the controller relies on it, open beyond (core/v1 PodSpec). */
export type PodTemplateSpec = InstanceSetSpec['template'];
export type Ordinals = NonNullable<InstanceSetSpec['defaultTemplateOrdinals']>;
/** A heterogeneous instance: some of the pods differ from the default template. */
export type InstanceTemplate = NonNullable<InstanceSetSpec['instances']>[number];
/** Kubernetes quantities, as strings ("500m", "4Gi") or integers. */
export type ResourceRequirements = NonNullable<InstanceTemplate['resources']>;
export type RoleDefinition = NonNullable<InstanceSetSpec['roles']>[number];
export type RoleProbe = NonNullable<InstanceSetSpec['roleProbe']>;
/**
 * A server InstanceSet holding part of a spread shard: a shard whose servers the compiler placed
 * in several member clusters (global ordinals). One authority across the member clusters decides
 * its primary; a member cluster's controller never promotes a pod of it on its own.
 */
export type SpreadSpec = NonNullable<InstanceSetSpec['spread']>;
export type MemberUpdateStrategy = InstanceSetSpec['memberUpdateStrategy'];
export type PodManagementPolicy = InstanceSetSpec['podManagementPolicy'];
export type RetentionPolicyType = NonNullable<InstanceSetSpec['persistentVolumeClaimRetentionPolicy']>['whenDeleted'];
export type EngineSpec = InstanceSetSpec['engine'];
export type EngineType = EngineSpec['type'];
export type SecretKeyRef = NonNullable<EngineSpec['credentials']>['password'];

export type MemberStatus = NonNullable<InstanceSetStatus['membersStatus']>[number];
/**
 * The durable record of the last switchover (controller/reconcile/instanceset/switchover-record.ts):
 * written Requested by whoever asks (the update step, a user's annotation), Running by the role
 * loop before it touches the engines, then Succeeded or Failed, so a restarted controller, `dbtopo switchover` and `dbtopo status` all read what happened from the object.
 */
export type SwitchoverStatus = NonNullable<InstanceSetStatus['switchover']>;
/**
 * A spread shard's global primary as the federation manager decided it (docs/federation.md):
 * written only by the manager, server-side apply under FIELD_MANAGER_FEDERATION, on the server
 * InstanceSet of every member cluster holding part of the shard.
 */
export type InstanceSetFederationStatus = NonNullable<InstanceSetStatus['federation']>;
