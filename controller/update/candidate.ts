// Choosing the replica that takes over the primary role (switchover and failover alike): the
// named one if asked, else the most advanced healthy replica, ties to the lowest ordinal — the
// one that lost least and whose name is predictable.
import type { EngineTarget, ProbeResult } from '../engines/types.js';
import { ordinalOf } from './plan.js';

export interface ReplicaView {
  target: EngineTarget;
  probe: ProbeResult;
  /** What the replica has received (MySQL Gtid_IO_Pos), when it can be ahead of what it applied. */
  received?: number;
}

/** Pure: replicas that are reachable and linked to `primary`. */
export function healthyReplicas<R extends { target: EngineTarget; probe: ProbeResult }>(primary: EngineTarget, replicas: R[]): R[] {
  return replicas.filter(
    (r) =>
      r.probe.reachable &&
      r.probe.role === 'secondary' &&
      r.probe.following?.host === primary.host &&
      r.probe.following.port === primary.port &&
      r.probe.following.linkUp,
  );
}

/** Pure: most advanced first (received, else applied offset), then lowest ordinal. */
export function byAdvancement(a: ReplicaView, b: ReplicaView): number {
  const pa = a.received ?? a.probe.offset ?? -1;
  const pb = b.received ?? b.probe.offset ?? -1;
  return pb - pa || ordinalOf(a.target.podName) - ordinalOf(b.target.podName) || (a.target.podName < b.target.podName ? -1 : 1);
}

/** Pure: the replica of `primary` to promote — `wanted` (a pod name, or 'any'/undefined for the best). */
export function chooseCandidate(primary: EngineTarget, replicas: ReplicaView[], wanted?: string): EngineTarget {
  const healthy = healthyReplicas(primary, replicas);
  if (wanted !== undefined && wanted !== 'any') {
    const hit = healthy.find((r) => r.target.podName === wanted);
    if (hit) return hit.target;
    const known = replicas.some((r) => r.target.podName === wanted);
    throw new Error(
      known
        ? `switchover candidate ${wanted} is not a healthy replica of ${primary.podName}; wait until its link is up or pick another`
        : `switchover candidate ${wanted} is not a replica of ${primary.podName}; choose one of ${replicas.map((r) => r.target.podName).join(', ')}`,
    );
  }
  const best = [...healthy].sort(byAdvancement)[0];
  if (!best) throw new Error(`no healthy replica of ${primary.podName} to switch over to; retry when a replica's link is up`);
  return best.target;
}
