// The pod/PVC plan of one InstanceSet: what to create and delete to move the observed pods towards
// desiredPods(), honouring podManagementPolicy, parallelPodManagementConcurrency, paused and the
// PVC retention policy. Pure; the reconciler applies it.
// The pod labelled with the exclusive role (the primary) is never deleted because it is no longer
// wanted (scale-in, offlineInstances): the plan asks for a switchover to a pod that stays first
// (switchoverFrom/To), and deletes it once it is a secondary. Only when no pod stays at all
// (replicas: 0) does it go as the primary.
// A spread shard (spec.spread, status.federation present) keeps every pod that left spec until the
// federation manager releases its ordinal (status.federation.released): an ordinal moving to
// another member cluster keeps its old pod until the new one there is synced, whichever member
// cluster Argo CD syncs first; neither the pod nor its claim goes, and no switchover is asked here.
import { LABELS, type InstanceSet, type KubeObject } from '../../../schemas/types/index.js';
import type { DesiredPod } from './desired.js';
import { ordinalOf } from './ordinals.js';
import { isReady, isTerminating, podStatus } from './pods.js';

export interface ObjectRef {
  name: string;
  uid?: string;
}

export interface PodPlan {
  createPvcs: KubeObject[];
  createPods: KubeObject[];
  deletePods: ObjectRef[];
  deletePvcs: ObjectRef[];
  /** Why nothing more happens now (for logs and status), when something is held back. */
  waiting?: string;
  /** A pod to remove holds the primary: move the role away from it first... */
  switchoverFrom?: string;
  /** ...to this pod, which stays (undefined: none of them is a Ready secondary yet; wait). */
  switchoverTo?: string;
  /** Spread shards: pods no longer in spec kept until the federation manager releases their ordinals. */
  held?: string[];
}

const EMPTY = (): PodPlan => ({ createPvcs: [], createPods: [], deletePods: [], deletePvcs: [] });

/** Sort key for deletion: highest ordinal first; names without an ordinal go first of all. */
function deletionOrder(is: string): (a: KubeObject, b: KubeObject) => number {
  const key = (p: KubeObject): number => ordinalOf(is, p.metadata.name) ?? Number.MAX_SAFE_INTEGER;
  return (a, b) => key(b) - key(a);
}

export function planPods(is: InstanceSet, desired: DesiredPod[], pods: KubeObject[], pvcs: KubeObject[]): PodPlan {
  const plan = EMPTY();
  if (is.spec.paused === true) return { ...plan, waiting: 'paused' };
  if (is.metadata.deletionTimestamp !== undefined) return { ...plan, waiting: 'InstanceSet is being deleted' };

  const setName = is.metadata.name;
  const owned = pods.filter((p) => p.metadata.labels?.[LABELS.instanceSet] === setName);
  const podByName = new Map(owned.map((p) => [p.metadata.name, p]));
  const pvcNames = new Set(pvcs.map((p) => p.metadata.name));
  const desiredNames = new Set(desired.map((d) => d.name));
  const leaving = owned.filter((p) => !desiredNames.has(p.metadata.name) && !isTerminating(p)).sort(deletionOrder(setName));
  const released = heldUntilReleased(is);
  const held = released === undefined ? [] : leaving.filter((p) => !released.has(ordinalOf(setName, p.metadata.name) ?? -1));
  const unwanted = leaving.filter((p) => !held.includes(p));
  if (held.length > 0) {
    plan.held = held.map((p) => p.metadata.name);
    plan.waiting = heldMessage(plan.held);
  }
  const anyTerminating = owned.some(isTerminating);
  // The primary among them stays until the role has moved to a pod that stays.
  const exclusive = new Set<string>((is.spec.roles ?? []).filter((r) => r.isExclusive === true).map((r) => r.name));
  const holdsPrimary = (p: KubeObject): boolean => exclusive.has(p.metadata.labels?.[LABELS.role] ?? '');
  const primary = desired.length > 0 ? unwanted.find(holdsPrimary) : undefined;
  const condemned = unwanted.filter((p) => p !== primary);
  if (primary !== undefined) {
    const to = owned.find((p) => desiredNames.has(p.metadata.name) && isReady(p) && !holdsPrimary(p) && p.metadata.labels?.[LABELS.role] !== undefined);
    plan.switchoverFrom = primary.metadata.name;
    if (to !== undefined) plan.switchoverTo = to.metadata.name;
    plan.waiting = `${primary.metadata.name} holds the primary: ${to !== undefined ? `switching over to ${to.metadata.name}` : 'waiting for a Ready secondary that stays'} before removing it`;
  }

  // A wanted pod that has terminated for good (phase Failed/Succeeded, e.g. evicted) is deleted so
  // that the next round creates it again, as the StatefulSet controller does.
  for (const d of desired) {
    const p = podByName.get(d.name);
    const phase = p !== undefined ? podStatus(p).phase : undefined;
    if (p !== undefined && !isTerminating(p) && (phase === 'Failed' || phase === 'Succeeded')) {
      // Still present until gone: it is recreated by a later round, and blocks OrderedReady successors.
      plan.deletePods.push({ name: p.metadata.name, uid: p.metadata.uid });
    }
  }

  const create = (d: DesiredPod): void => {
    for (const pvc of d.pvcs) if (!pvcNames.has(pvc.metadata.name)) plan.createPvcs.push(pvc);
    plan.createPods.push(d.pod);
  };

  if (is.spec.podManagementPolicy === 'OrderedReady') {
    // One at a time, ascending; the next only once every predecessor is Running and Ready.
    let blocked = false;
    for (const d of desired) {
      const p = podByName.get(d.name);
      if (p === undefined) {
        create(d);
        blocked = true;
        plan.waiting = `creating ${d.name}`;
        break;
      }
      if (!isReady(p)) {
        blocked = true;
        plan.waiting = `waiting for ${d.name} to be Ready`;
        break;
      }
    }
    // Scale in one pod at a time from the highest ordinal, once the rest is Ready and nothing terminates.
    const victim = condemned[0];
    if (!blocked && victim !== undefined) {
      if (anyTerminating) plan.waiting = 'waiting for a terminating pod to go';
      else plan.deletePods.push({ name: victim.metadata.name, uid: victim.metadata.uid });
    }
  } else {
    const limit = Math.max(1, is.spec.parallelPodManagementConcurrency ?? Number.MAX_SAFE_INTEGER);
    const inProgress = desired.filter((d) => {
      const p = podByName.get(d.name);
      return p !== undefined && !isReady(p);
    }).length;
    let budget = Math.max(0, limit - inProgress);
    for (const d of desired) {
      if (podByName.has(d.name)) continue;
      if (budget <= 0) {
        plan.waiting = `at most ${limit} pods in progress at once`;
        break;
      }
      create(d);
      budget--;
    }
    for (const p of condemned) plan.deletePods.push({ name: p.metadata.name, uid: p.metadata.uid });
  }

  if (is.spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') plan.deletePvcs = scaledInPvcs(is, desiredNames, podByName, pvcs);
  return plan;
}

/** Why pods that left spec are still here (the Held condition, its Event, the plan's waiting). */
export const heldMessage = (pods: string[]): string =>
  `${pods.join(', ')} left spec but ${pods.length === 1 ? 'stays' : 'stay'} until the federation manager releases ${pods.length === 1 ? 'it' : 'them'}: a pod of a spread shard whose ordinal moves to another member cluster goes only once the new pod there is synced (and not as the primary)`;

/**
 * Spread shards: the ordinals the federation manager released (status.federation.released), or
 * undefined when nothing is held (not a spread shard, or no manager has published anything yet).
 */
export function heldUntilReleased(is: InstanceSet): Set<number> | undefined {
  const fed = is.status?.federation;
  if (is.spec.spread === undefined || fed === undefined) return undefined;
  return new Set(fed.released ?? []);
}

/** PVCs of pods that were scaled away and are gone (whenScaled: Delete). */
function scaledInPvcs(is: InstanceSet, desiredNames: Set<string>, podByName: Map<string, KubeObject>, pvcs: KubeObject[]): ObjectRef[] {
  const out: ObjectRef[] = [];
  for (const pvc of pvcs) {
    if (pvc.metadata.labels?.[LABELS.instanceSet] !== is.metadata.name || isTerminating(pvc)) continue;
    for (const vct of is.spec.volumeClaimTemplates ?? []) {
      const prefix = `${vct.metadata.name}-`;
      if (!pvc.metadata.name.startsWith(prefix)) continue;
      const pod = pvc.metadata.name.slice(prefix.length);
      // Only claims named after one of our ordinals, whose pod is neither wanted nor still there.
      if (ordinalOf(is.metadata.name, pod) === undefined || desiredNames.has(pod) || podByName.has(pod)) continue;
      out.push({ name: pvc.metadata.name, uid: pvc.metadata.uid });
      break;
    }
  }
  return out;
}
