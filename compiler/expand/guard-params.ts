// expand: the figures the admission guard needs of one topology in one member cluster, as the
// params ConfigMap of the dbtopo-min-replicas policy (compiler/emit/guards.ts): InstanceSet name →
// the fewest replicas the API server lets anyone set. Pure.
//
// A set's minimum is the environment's policy minimum (minReplicas for servers, minSentinels for
// Sentinels), but never above what Git renders for that member cluster: a shard spread over member
// clusters has fewer servers in each than the policy asks of the whole shard, and the sync of what
// Git holds must always pass the guard.
import type { Environment, InstanceSet, KubeObject } from '../../schemas/types/index.js';
import { GUARD_PARAMS_LABEL } from '../../schemas/types/guard.js';
import { ANNOTATIONS, LABELS, MANAGED_BY } from '../../schemas/types/labels.js';
import { GUARD_PARAMS_VALUE } from '../emit/guards.js';
import { names } from '../names.js';
import type { ConfigMapLike } from './objects.js';

function policyMinimum(env: Environment, engineType: string): number | undefined {
  if (engineType === 'redis' || engineType === 'mysql') return env.policy?.minReplicas;
  if (engineType === 'redis-sentinel') return env.policy?.minSentinels;
  return undefined;
}

export function guardParams(env: Environment, t: { name: string; namespace: string; source: string }, objects: readonly KubeObject[]): ConfigMapLike | undefined {
  const data: Record<string, string> = {};
  for (const o of objects) {
    if (o.kind !== 'InstanceSet') continue;
    const is = o as unknown as InstanceSet;
    const min = policyMinimum(env, is.spec.engine.type);
    if (min === undefined) continue;
    const floor = Math.min(min, is.spec.replicas);
    if (floor >= 1) data[is.metadata.name] = String(floor);
  }
  if (Object.keys(data).length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: names.guardParams(t.name),
      namespace: t.namespace,
      labels: { [LABELS.instance]: t.name, [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY, [GUARD_PARAMS_LABEL]: GUARD_PARAMS_VALUE },
      annotations: { [ANNOTATIONS.source]: t.source },
    },
    data: Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}
