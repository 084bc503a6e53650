// The CustomResourceDefinitions every member cluster needs (Cluster, InstanceSet), rendered into
// its _cluster/ directory so Argo CD installs them before the objects that use them.

import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import type { KubeObject } from '../../schemas/types/index.js';

export function clusterCrds(): KubeObject[] {
  // structuredClone: callers own what they get; the schema modules stay pristine.
  return [structuredClone(clusterCrd), structuredClone(instanceSetCrd)];
}

/** The CRD the federation API server needs (Federation), in rendered/<env>/_federation/_cluster/. */
export function federationCrds(): KubeObject[] {
  return [structuredClone(federationCrd)];
}
