// The role watch: between two full probe rounds of a set (roleProbe.periodSeconds, 2 s by
// default), a light check every --role-watch-ms (250 ms by default) asks each engine for its role
// and compares it with what the set's last full round saw. When an engine that answered both times
// reports another role now (a replica promoted, a primary demoted), the set's full round runs at
// once, so the label follows within about one watch interval instead of up to a whole period.
// Why: with polling at the period alone, relabel after a promotion waits for the next round —
// uniform over 0..period, p99 ≈ the period (2.0 s measured, test/bench/prober.bench.ts), whatever
// the fleet size; the watch brings p99 to 431 ms (250 ms) / 711 ms (500 ms) on a 306-Redis +
// 63-MariaDB fleet under one controller (same bench), for 27 % / 17 % of one core against 5 %.
// The watch only starts rounds; it never acts itself (no wiring, no labels) and ignores engines
// that do not answer: a lost engine is the failover path's business, counted per full round
// (failureThreshold × periodSeconds), and extra rounds started for it would shorten that.
import type { Role } from '../../schemas/types/index.js';
import type { ProbeResult } from '../engines/types.js';

/** Per pod that answered: the role its engine reported (undefined: it answered without one). */
export type SeenRoles = Map<string, Role | undefined>;

export function seenRoles(members: Array<{ podName: string; probe?: ProbeResult }>): SeenRoles {
  const out: SeenRoles = new Map();
  for (const m of members) if (m.probe?.reachable === true) out.set(m.podName, m.probe.role);
  return out;
}

/**
 * Pure: the first pod whose engine answered at the last full round and now, with another role;
 * undefined when nothing changed. Pods that did not answer either time, and pods new since the
 * last round, count as no change (new pods start a round by their Ready event).
 */
export function roleChanged(last: SeenRoles | undefined, now: SeenRoles): string | undefined {
  if (last === undefined) return undefined;
  for (const [pod, role] of now) {
    if (last.has(pod) && last.get(pod) !== role) return pod;
  }
  return undefined;
}
