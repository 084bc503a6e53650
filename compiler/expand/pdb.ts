// PodDisruptionBudgets: servers lose at most one pod at a time (a replica or, after a switchover,
// the old primary); Sentinels keep their quorum; proxies lose at most one.

import type { SetPlan } from './instanceset.js';
import { instanceSetSelector, metadata, podLabels } from './labels.js';
import type { PodDisruptionBudgetLike } from './objects.js';
import { names } from '../names.js';

export function pdb(p: SetPlan): PodDisruptionBudgetLike {
  const t = p.topology;
  const budget =
    p.component === 'sentinel' && t.sentinel
      ? { minAvailable: Math.min(t.sentinel.quorum, p.slots.length) }
      : { maxUnavailable: 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(t, names.pdb(p.instanceSet), podLabels(t, p.component, p.instanceSet, p.shardLabel)),
    spec: { selector: { matchLabels: instanceSetSelector(t, p.component, p.instanceSet) }, ...budget },
  };
}
