// Where each rendered object goes, relative to rendered/:
//   <env>/<member-cluster>/<namespace>/<topology>/<kind>-<name>.yaml   namespaced objects
//   <env>/<member-cluster>/_cluster/<kind>-<name>.yaml                  CRDs and Namespaces

import type { KubeObject } from '../../schemas/types/index.js';

export const CLUSTER_DIR = '_cluster';

export function objectFileName(o: KubeObject): string {
  return `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

export function namespacedPath(env: string, member: string, topology: string, o: KubeObject): string {
  return `${env}/${member}/${o.metadata.namespace ?? 'default'}/${topology}/${objectFileName(o)}`;
}

export function clusterScopedPath(env: string, member: string, o: KubeObject): string {
  return `${env}/${member}/${CLUSTER_DIR}/${objectFileName(o)}`;
}

/** Identity of an object inside one member cluster: two objects with the same key collide. */
export function objectKey(env: string, member: string, o: Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { name: string; namespace?: string } }): string {
  return `${env}/${member}/${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
