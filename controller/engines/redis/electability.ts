// Under Sentinel, a Redis replica is electable only while it replicates from the primary.
// Sentinel ranks replicas by replica-priority, then by the raw offset in their INFO; offsets of
// different replication histories are compared as numbers. A replica that is not synced — a
// resumed old primary still waiting for its full resync, a restarted server loading — can carry a
// larger offset from its own old history and be promoted over the replica that holds every
// acknowledged write (seen end to end: 119–158 `WAIT 1` writes lost when the primary was killed
// 1 s after a frozen old primary was resumed). So the role probe makes such a replica
// unelectable (replica-priority 0, noted on the pod first, see priority-journal.ts) and restores
// the noted value once its link is up again.
import type { KubeObject } from '../../../schemas/types/index.js';
import type { ProbeResult } from '../types.js';
import { pendingRestores } from './priority-journal.js';

export interface ElectabilityView {
  podName: string;
  host?: string;
  port: number;
  probe?: ProbeResult;
}

/**
 * Pure: which pods to make unelectable now and which noted pods to restore. Nothing changes
 * without a reachable primary: when it is down every replica's link is down too, and that is
 * exactly when Sentinel must be free to promote the best of them.
 */
export function electabilityChanges(
  members: ElectabilityView[],
  primary: { host: string; port: number } | undefined,
  pods: KubeObject[],
): { unelect: string[]; restore: string[] } {
  if (primary === undefined) return { unelect: [], restore: [] };
  const noted = new Set(pendingRestores(pods).map((p) => p.podName));
  const synced = (p: ProbeResult): boolean => p.following?.linkUp === true && p.following.host === primary.host && p.following.port === primary.port;
  // With no replica linked, no write can be acknowledged (WAIT 1 returns 0), so none holds an
  // acknowledged write the others lack: keep them all electable (e.g. both re-handshaking after a
  // switchover), or a failover would find no replica at all.
  const anySynced = members.some((m) => m.probe?.reachable === true && m.probe.role === 'secondary' && synced(m.probe));
  const unelect: string[] = [];
  const restore: string[] = [];
  for (const m of members) {
    const p = m.probe;
    if (p?.reachable !== true) continue;
    if (!anySynced) {
      if (noted.has(m.podName)) restore.push(m.podName);
    } else if (p.role === 'secondary' && !synced(p)) {
      if (!noted.has(m.podName)) unelect.push(m.podName);
    } else if (noted.has(m.podName) && (p.role === 'primary' || (p.role === 'secondary' && synced(p)))) {
      // A primary gets its value back too: priority only matters once it is a replica again.
      restore.push(m.podName);
    }
  }
  return { unelect, restore };
}
