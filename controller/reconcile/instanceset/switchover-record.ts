// Pure: the durable record of an InstanceSet's last switchover (status.switchover) and the
// previous primary (status.lastPrimary). The update step writes the record as Running before it
// touches an engine and Succeeded/Failed after; status computation keeps whichever record is
// newer, the one this controller holds in memory or the one the (possibly lagging) cache shows;
// a controller that finds a Running record it did not start (it restarted mid-switchover)
// settles it from the labels: the annotation that asked for it, if still there, asks again.
import type { SwitchoverPhase, SwitchoverStatus } from '../../../schemas/types/index.js';

const rank: Record<SwitchoverPhase, number> = { Running: 0, Succeeded: 1, Failed: 1 };

/** The later of two records: by start time, then a finished one over a running one. */
export function newerRecord(a: SwitchoverStatus | undefined, b: SwitchoverStatus | undefined): SwitchoverStatus | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const ta = Date.parse(a.startedAt);
  const tb = Date.parse(b.startedAt);
  if (ta !== tb) return ta > tb ? a : b;
  return rank[b.phase] > rank[a.phase] ? b : a;
}

export function startRecord(from: string, to: string | undefined, reason: string, nowMs: number): SwitchoverStatus {
  return { from, ...(to !== undefined ? { to } : {}), phase: 'Running', reason, startedAt: new Date(nowMs).toISOString() };
}

export function finishRecord(rec: SwitchoverStatus, phase: 'Succeeded' | 'Failed', message: string, nowMs: number): SwitchoverStatus {
  return { ...rec, phase, finishedAt: new Date(nowMs).toISOString(), message };
}

/**
 * status.lastPrimary: the pod that was primary before status.primary changed, also while no
 * single pod is primary (mid-switchover, status.primary is absent). A → none → B gives A.
 */
export function lastPrimaryOf(prev: { primary?: string; lastPrimary?: string } | undefined, primary: string | undefined): string | undefined {
  if (prev?.primary !== undefined && primary !== prev.primary) return prev.primary;
  return prev?.lastPrimary;
}

/**
 * A Running record this controller did not start: the one that did is gone (restart, leader
 * change). Settled from the role labels: the primary left `from` = Succeeded, else Failed.
 * undefined when there is nothing to settle.
 */
export function settleOrphan(rec: SwitchoverStatus | undefined, startedHere: boolean, labelledPrimary: string | undefined, nowMs: number): SwitchoverStatus | undefined {
  if (rec === undefined || rec.phase !== 'Running' || startedHere) return undefined;
  if (labelledPrimary !== undefined && labelledPrimary !== rec.from && (rec.to === undefined || rec.to === labelledPrimary)) {
    return finishRecord(rec, 'Succeeded', `the primary is ${labelledPrimary}: the switchover finished before the controller that ran it stopped`, nowMs);
  }
  return finishRecord(rec, 'Failed', `interrupted: the controller that ran it stopped with the primary ${labelledPrimary !== undefined ? `on ${labelledPrimary}` : 'unknown'}; a request still annotated is carried out again`, nowMs);
}
