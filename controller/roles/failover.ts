// Failover by the controller, for engines that have no Sentinel (Engine.failoverBy ===
// 'controller'). The decision is pure and made from the recent probe history of every member, so
// one lost probe never causes a failover: the primary must have failed `failureThreshold` probes
// in a row. The most advanced reachable server is promoted (what it received, not only what it
// applied: with semi-sync an acknowledged commit may still sit in its relay log). Candidates are
// the replicas and the servers that came back read-only and unwired — above all the lost primary
// itself after a crash of every member: a restarted replica discards its relay log (GTID mode) and
// re-fetches from gtid_slave_pos, so an acknowledged commit may then exist only in the restarted
// primary's binlog. Ties go to a replica (the recreated or restarted pod then simply rejoins),
// then to the lowest ordinal.
//
// The lost primary is not touched here: it may be frozen or cut off rather than dead. When it
// answers again, the role loop fences it (Engine.demote) before it is ever labelled.
//
// The history (ProbeHistory) is per InstanceSet and hangs off the controller's memory; the role
// round records one entry per member per round (recordProbes).
import { byAdvancement, type ReplicaView } from '../update/candidate.js';
import type { EngineTarget, ProbeResult } from '../engines/types.js';

const position = (v: ReplicaView): number => v.received ?? v.probe.offset ?? -1;
export const isPrimary = (p: ProbeResult | undefined): boolean => p?.reachable === true && p.role === 'primary';
/** Read-only and replicating from nobody: a restarted, recreated or fenced server that claims no role. */
export const isUnwired = (p: ProbeResult | undefined): boolean => p?.reachable === true && p.role === undefined && p.following === undefined;

export interface MemberHistory {
  target: EngineTarget;
  /** Probe results, oldest first. */
  probes: ProbeResult[];
  /** Received position (MySQL Gtid_IO_Pos as a number), when known. */
  received?: number;
}

export type FailoverDecision =
  | { action: 'none'; reason: string }
  | { action: 'wait'; reason: string }
  | {
      action: 'promote';
      candidate: string;
      lostPrimary?: string;
      /**
       * Transactions the lost primary had when last probed that no candidate received: a lower
       * bound of what the failover loses (the last probe is up to a period old). Above 0 only when
       * replication was asynchronous (async mode, or semi-sync that fell back to async).
       */
      unreceived?: number;
      reason: string;
    };


export function decideFailover(input: {
  members: MemberHistory[];
  failureThreshold: number;
  /** The pod currently labelled primary, if any. */
  labelledPrimary?: string;
}): FailoverDecision {
  const k = Math.max(1, input.failureThreshold);
  const { members } = input;
  const healthyPrimary = members.find((m) => isPrimary(m.probes.at(-1)));
  if (healthyPrimary) return { action: 'none', reason: `${healthyPrimary.target.podName} is primary` };

  const lost = members.find((m) => m.target.podName === input.labelledPrimary);
  // Who must have failed k probes in a row: the labelled primary, or (no label) everybody.
  const watched = lost ? [lost] : members;
  for (const m of watched) {
    const recent = m.probes.slice(-k);
    if (recent.length < k || recent.some(isPrimary)) {
      const failed = [...m.probes].reverse().findIndex(isPrimary);
      const n = failed === -1 ? m.probes.length : failed;
      return { action: 'wait', reason: `${m.target.podName} failed ${Math.min(n, k)}/${k} probes` };
    }
  }

  const candidates: ReplicaView[] = members
    .flatMap((m) => {
      const last = m.probes.at(-1);
      const replica = last?.reachable === true && last.role === 'secondary' && m !== lost;
      if (!replica && !isUnwired(last)) return [];
      return [{ target: m.target, probe: last!, ...(m.received !== undefined ? { received: m.received } : {}) }];
    })
    // Most advanced first; on a tie a replica before an unwired server, then the lowest ordinal.
    .sort((a, b) => position(b) - position(a) || Number(a.probe.role !== 'secondary') - Number(b.probe.role !== 'secondary') || byAdvancement(a, b));
  const best = candidates[0];
  // An unwired server that is not the lost primary (a fresh pod) is promoted only over replicas it beats.
  if (!best || (best.probe.role !== 'secondary' && best.target.podName !== lost?.target.podName && !candidates.some((c) => c.probe.role === 'secondary'))) {
    return { action: 'wait', reason: 'no reachable replica to promote' };
  }
  const pos = position(best);
  const lastSeen = lost?.probes.filter(isPrimary).at(-1)?.offset;
  const unreceived = lastSeen !== undefined && pos >= 0 && lastSeen > pos ? lastSeen - pos : undefined;
  return {
    action: 'promote',
    candidate: best.target.podName,
    ...(lost ? { lostPrimary: lost.target.podName } : {}),
    ...(unreceived !== undefined ? { unreceived } : {}),
    reason:
      `${lost ? `primary ${lost.target.podName} failed ${k} probes in a row` : `no primary for ${k} probes`}; ${best.target.podName} is the most advanced replica (position ${pos ?? 'unknown'})` +
      (unreceived !== undefined ? `; ${lost!.target.podName} was last seen at position ${lastSeen}: at least ${unreceived} transaction(s) it acknowledged reached no replica and are lost` : ''),
  };
}


export interface ProbeHistory {
  /** Probe history per pod, oldest first. */
  history: Map<string, ProbeResult[]>;
  /**
   * The pod last seen labelled primary, remembered so that a primary whose pod is deleted (its
   * label goes with it, and the recreated pod carries none) is still the one watched.
   */
  lastPrimary?: EngineTarget;
}

/** Per InstanceSet key; the controller keeps one map (ControllerMemory.probeHistory). */
export type ProbeHistories = Map<string, ProbeHistory>;

export interface HistoryMember {
  target: EngineTarget;
  probe: ProbeResult;
  labelledPrimary: boolean;
}

/**
 * Records one round of probes. The primary watched is the pod labelled primary, else the one last
 * seen labelled (its pod was deleted: it counts as failing while it is away), else everybody (a
 * controller restarted while no pod carried the label). Returns the members the failover decision
 * looks at: those probed, plus a watched primary whose pod is gone.
 */
export function recordProbes(h: ProbeHistory, members: HistoryMember[], failureThreshold: number): Array<{ target: EngineTarget; probe: ProbeResult }> {
  const keep = Math.max(failureThreshold, 10);
  const labelledNow = members.find((m) => m.labelledPrimary)?.target;
  if (labelledNow !== undefined) h.lastPrimary = labelledNow;
  const watched = labelledNow ?? h.lastPrimary;
  const rounds: Array<{ target: EngineTarget; probe: ProbeResult }> = [...members];
  if (watched !== undefined && !members.some((m) => m.target.podName === watched.podName)) {
    rounds.push({ target: watched, probe: { reachable: false, error: `pod ${watched.podName} is gone` } });
  }
  for (const m of rounds) {
    const past = h.history.get(m.target.podName) ?? [];
    past.push(m.probe);
    h.history.set(m.target.podName, past.slice(-keep));
  }
  // One engine answers as primary: it is the one watched from now on.
  const claimants = members.filter((m) => isPrimary(m.probe));
  if (claimants.length === 1) h.lastPrimary = claimants[0]!.target;
  return rounds;
}

/** The failover decision over the recorded history, with the received positions known so far. */
export function failoverFromHistory(h: ProbeHistory, rounds: Array<{ target: EngineTarget }>, failureThreshold: number, received: Map<string, number>): FailoverDecision {
  return decideFailover({
    members: rounds.map((m) => ({
      target: m.target,
      probes: h.history.get(m.target.podName) ?? [],
      ...(received.has(m.target.podName) ? { received: received.get(m.target.podName)! } : {}),
    })),
    failureThreshold,
    ...(h.lastPrimary !== undefined ? { labelledPrimary: h.lastPrimary.podName } : {}),
  });
}
