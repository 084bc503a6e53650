// Structural shapes of the core Kubernetes objects the compiler writes (the subset it fills).
// They extend KubeObject so emit and the tests treat every object alike.

import type { KubeObject, LabelSelector, ObjectMeta } from '../../schemas/types/index.js';

export interface ServicePort {
  name: string;
  port: number;
  targetPort: string | number;
  protocol: 'TCP';
}

export interface ServiceLike extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: {
    type: 'ClusterIP';
    clusterIP?: 'None';
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: ServicePort[];
    sessionAffinity: 'None';
  };
}

export interface ConfigMapLike extends KubeObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  data: Record<string, string>;
}

export interface PodDisruptionBudgetLike extends KubeObject {
  apiVersion: 'policy/v1';
  kind: 'PodDisruptionBudget';
  spec: { selector: LabelSelector; maxUnavailable?: number; minAvailable?: number };
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}

/** multicluster.x-k8s.io ServiceExport (KEP-1645): exports the Service of the same name to the clusterset. */
export interface ServiceExportLike extends KubeObject {
  apiVersion: 'multicluster.x-k8s.io/v1alpha1';
  kind: 'ServiceExport';
}

export interface NetworkPolicyLike extends KubeObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  spec: {
    podSelector: LabelSelector;
    policyTypes: ['Ingress'];
    ingress: Array<{ from?: NetworkPolicyPeer[]; ports: Array<{ port: number; protocol: 'TCP' }> }>;
  };
}

export interface NamespaceLike extends KubeObject {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
}
