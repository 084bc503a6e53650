// The few Kubernetes core shapes dbtopo's own types refer to, typed by hand because the CRDs leave
// them to Kubernetes (metadata, the claim spec). The controller uses @kubernetes/client-node's
// full models; these structural subsets keep the compiler free of it.

import type { conditions } from '../crds/openapi.js';
import type { FromStructuralSchema } from './from-structural-schema.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  ownerReferences?: OwnerReference[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The claim spec of an InstanceSet's volumeClaimTemplates, which the CRD leaves opaque; the fields dbtopo writes. */
export interface PersistentVolumeClaimSpec {
  accessModes: string[];
  storageClassName?: string;
  resources: { requests: { storage: string } };
  volumeMode?: 'Filesystem' | 'Block';
}

/** metav1.Condition, derived from the CRDs' conditions schema (schemas/crds/openapi.ts). */
export type Condition = FromStructuralSchema<typeof conditions>[number];
