// Small readers of observed pod state, shared by plan and status.
import type { KubeObject } from '../../../schemas/types/index.js';

interface PodStatusShape {
  phase?: string;
  podIP?: string;
  conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }>;
}

export function podStatus(pod: KubeObject): PodStatusShape {
  return (pod['status'] ?? {}) as PodStatusShape;
}

export function isTerminating(pod: KubeObject): boolean {
  return pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

export function isReady(pod: KubeObject): boolean {
  return !isTerminating(pod) && (podStatus(pod).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** When the pod last became Ready (ms since epoch), or undefined when it is not Ready. */
export function readySince(pod: KubeObject): number | undefined {
  if (!isReady(pod)) return undefined;
  const c = (podStatus(pod).conditions ?? []).find((x) => x.type === 'Ready');
  const t = c?.lastTransitionTime !== undefined ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isNaN(t) ? 0 : t;
}
