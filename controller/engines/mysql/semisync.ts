// Where the primary side of MariaDB semi-sync belongs: on the primary only. The rendered my.cnf
// starts every server with it off (on a replica it stalls every applied transaction for
// rpl_semi_sync_master_timeout); a restarted primary comes back with it off too, and then commits
// without waiting for any replica. The role round puts it where it belongs.
import type { ProbeResult } from '../types.js';

export interface SemiSyncView {
  podName: string;
  probe?: ProbeResult;
}

/** Pure: the primary to switch the master side on for, and the secondaries to switch it off on. */
export function semiSyncFixes(members: SemiSyncView[], primaryPod: string | undefined, semiSync: boolean): { enableOn?: string; disableOn: string[] } {
  if (!semiSync) return { disableOn: [] };
  const primary = members.find((m) => m.podName === primaryPod && m.probe?.reachable === true && m.probe.role === 'primary');
  const disableOn = members.filter((m) => m.probe?.reachable === true && m.probe.role === 'secondary' && m.probe.semiSyncPrimarySide === true).map((m) => m.podName);
  return { ...(primary?.probe?.semiSyncPrimarySide === false ? { enableOn: primary.podName } : {}), disableOn };
}
