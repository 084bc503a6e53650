// reconcile(Cluster key): aggregate the Cluster's InstanceSets into its status; write it only
// when it changed.
import { FIELD_MANAGER_CONTROLLER, LABELS, type InstanceSet } from '../../../schemas/types/index.js';
import { splitKey, type ControllerContext } from '../../runtime/context.js';
import { resourcePath } from '../../runtime/kube.js';
import type { ReconcileResult } from '../../runtime/workqueue.js';
import { aggregateClusterStatus, clusterStatusEqual } from './aggregate.js';

export async function reconcileCluster(ctx: ControllerContext, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const cluster = ctx.caches.clusters.get(namespace, name);
  if (cluster === undefined) return {};
  const wanted = new Set(cluster.spec.components.flatMap((c) => c.instanceSets));
  const sets: InstanceSet[] = ctx.caches.instanceSets
    .list(namespace)
    .filter((s) => wanted.has(s.metadata.name) || s.metadata.labels?.[LABELS.cluster] === name);
  const status = aggregateClusterStatus(cluster, sets, ctx.now());
  if (!clusterStatusEqual(cluster.status, status)) {
    await ctx.client.apply(
      resourcePath('Cluster', namespace, name, 'status'),
      { apiVersion: cluster.apiVersion, kind: 'Cluster', metadata: { name, namespace }, status },
      FIELD_MANAGER_CONTROLLER,
    );
    if (cluster.status?.phase !== status.phase) {
      ctx.log.info({ cluster: key, phase: status.phase, message: status.message }, 'cluster phase changed');
    }
  }
  return {};
}
