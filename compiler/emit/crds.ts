// The CustomResourceDefinitions every member cluster needs (Cluster, InstanceSet), rendered into
// its _cluster/ directory so Argo CD installs them before the objects that use them.

import type { KubeObject } from '../../schemas/types/index.js';

export function clusterCrds(): KubeObject[] {
  return [];
}
