// MariaDB failover without Sentinel. The decision is pure and made from the recent probe history
// of every member, so one lost probe never causes a failover: the primary must have failed
// `failureThreshold` probes in a row. The most advanced reachable replica is promoted (what it
// received, Gtid_IO_Pos, not only what it applied: with semi-sync an acknowledged commit may
// still sit in its relay log); ties go to the lowest ordinal.
//
// The lost primary is not touched here: it may be frozen or cut off rather than dead. When it
// answers again, fence.ts makes it read-only and a replica before it is ever labelled.
import type { EngineSpec } from '../../../schemas/types/index.js';
import { byAdvancement, type ReplicaView } from '../../update/candidate.js';
import type { EngineTarget, ProbeResult } from '../types.js';
import { MysqlPool } from './client.js';
import { MysqlDriver } from './replication.js';
import { receivedGtid, replicaViews, waitApplied } from './switchover.js';

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
  | { action: 'promote'; candidate: string; lostPrimary?: string; reason: string };

const isPrimary = (p: ProbeResult | undefined): boolean => p?.reachable === true && p.role === 'primary';

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
    .filter((m) => m !== lost)
    .flatMap((m) => {
      const last = m.probes.at(-1);
      if (!last?.reachable || last.role !== 'secondary') return [];
      return [{ target: m.target, probe: last, ...(m.received !== undefined ? { received: m.received } : {}) }];
    })
    .sort(byAdvancement);
  const best = candidates[0];
  if (!best) return { action: 'wait', reason: 'no reachable replica to promote' };
  const pos = best.received ?? best.probe.offset;
  return {
    action: 'promote',
    candidate: best.target.podName,
    ...(lost ? { lostPrimary: lost.target.podName } : {}),
    reason: `${lost ? `primary ${lost.target.podName} failed ${k} probes in a row` : `no primary for ${k} probes`}; ${best.target.podName} is the most advanced replica (position ${pos ?? 'unknown'})`,
  };
}

export interface FailoverResult {
  promoted: string;
  steps: string[];
  totalMs: number;
}

/**
 * Carries out a `promote` decision: the candidate first applies everything it received (bounded),
 * then is promoted; the other reachable replicas follow it. The lost primary is skipped.
 */
export async function executeFailover(
  candidate: EngineTarget,
  others: EngineTarget[],
  spec: EngineSpec,
  timeoutMs = 10_000,
): Promise<FailoverResult> {
  const started = Date.now();
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  try {
    const io = (await receivedGtid(pool, candidate)) ?? '';
    // No more events from the (possibly half-alive) old primary while we promote.
    await pool.query(candidate, 'STOP SLAVE IO_THREAD', timeoutMs);
    if (!(await waitApplied(pool, candidate, io, timeoutMs))) {
      steps.push(`${candidate.podName} had not applied ${io} after ${timeoutMs} ms; promoting anyway`);
    } else {
      steps.push(`${candidate.podName} applied ${io || '(empty)'}`);
    }
    await driver.promote(candidate, spec);
    steps.push(`promoted ${candidate.podName}`);
    for (const r of others) {
      await driver.follow(r, candidate, spec).then(
        () => steps.push(`${r.podName} follows ${candidate.podName}`),
        (err: unknown) => steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    return { promoted: candidate.podName, steps, totalMs: Date.now() - started };
  } finally {
    await pool.close();
    await driver.close();
  }
}

/** One probe round for the failover history: the applied view plus the received position. */
export async function observe(
  targets: EngineTarget[],
  timeoutMs = 1_000,
): Promise<Array<{ target: EngineTarget; probe: ProbeResult; received?: number }>> {
  const pool = new MysqlPool();
  try {
    return await replicaViews(pool, targets, timeoutMs);
  } finally {
    await pool.close();
  }
}
