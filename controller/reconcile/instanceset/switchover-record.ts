// Pure: the durable record of an InstanceSet's last switchover (status.switchover) and the
// previous primary (status.lastPrimary). The record is the switchover's intent and its history:
//   Requested  the update step (a primary to update or remove) or a user (the annotation) asks;
//              nothing has touched an engine. The role loop carries it out (controller/roles/).
//   Running    the role loop took it and is about to touch the engines;
//   Succeeded / Failed  it ended (a request the engines made moot ends too, with why).
// Status computation keeps whichever record is newer, the one this controller holds in memory or
// the one the (possibly lagging) cache shows. A Requested record survives a restart and is carried
// out by the next controller; a Running one it did not start (it restarted mid-switchover) is
// settled from the labels: the annotation that asked for it, if still there, asks again.
import type { SwitchoverPhase, SwitchoverStatus } from '../../../schemas/types/index.js';

const rank: Record<SwitchoverPhase, number> = { Requested: 0, Running: 1, Succeeded: 2, Failed: 2 };

/** The reason of a switchover a user asked for (annotation dbtopo.dev/switchover, `dbtopo switchover`). */
export const USER_REQUEST = 'requested by annotation';

/** The later of two records: by request time, then the one further along. */
export function newerRecord(a: SwitchoverStatus | undefined, b: SwitchoverStatus | undefined): SwitchoverStatus | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const ta = Date.parse(a.startedAt);
  const tb = Date.parse(b.startedAt);
  if (ta !== tb) return ta > tb ? a : b;
  return rank[b.phase] > rank[a.phase] ? b : a;
}

/** Intent: a switchover away from `from` (to `to`, or the most advanced secondary), not yet started. */
export function requestRecord(from: string, to: string | undefined, reason: string, nowMs: number): SwitchoverStatus {
  return { from, ...(to !== undefined ? { to } : {}), phase: 'Requested', reason, startedAt: new Date(nowMs).toISOString() };
}

/** A record Running since `nowMs` (one that starts and runs at once). */
export function startRecord(from: string, to: string | undefined, reason: string, nowMs: number): SwitchoverStatus {
  return runRecord(requestRecord(from, to, reason, nowMs));
}

/** The role loop takes a request: Running, same request time (the CLI finds its request by it). */
export function runRecord(rec: SwitchoverStatus): SwitchoverStatus {
  const { message: _, ...rest } = rec;
  return { ...rest, phase: 'Running' };
}

/**
 * A request the role loop tried and will try again (e.g. no promotable replica yet): filed anew,
 * Requested at `nowMs` (later than the Running record it follows), so that the newer-record rule
 * never prefers the Running one a lagging cache still shows.
 */
export function deferRecord(rec: SwitchoverStatus, message: string, nowMs: number): SwitchoverStatus {
  const at = Math.max(nowMs, Date.parse(rec.startedAt) + 1);
  return { ...rec, phase: 'Requested', startedAt: new Date(at).toISOString(), message };
}

/** Requested or Running: a switchover is asked for or under way; nobody asks for another. */
export const isOpen = (rec: SwitchoverStatus | undefined): rec is SwitchoverStatus => rec !== undefined && (rec.phase === 'Requested' || rec.phase === 'Running');

/** The same request (same request time and origin), whatever its phase. */
export const sameRequest = (a: SwitchoverStatus | undefined, b: SwitchoverStatus | undefined): boolean =>
  a !== undefined && b !== undefined && a.startedAt === b.startedAt && a.from === b.from && a.reason === b.reason;

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
