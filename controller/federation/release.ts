// decideRelease: when a leaving pod of a spread shard may go. A pod is leaving when its member
// cluster's spec no longer wants it or the Federation places its ordinal in another member cluster
// (gather.ts): an ordinal moved between member clusters, or scaled in. Its member cluster's
// controller keeps it (controller/reconcile/instanceset/plan.ts, the Held condition) until the
// manager lists its ordinal in that member cluster's status.federation.released — so the safety
// of a move never depends on the order Argo CD syncs the member clusters in.
//
// The rule, per leaving pod, in order:
//   1. the Federation still places its ordinal in its own member cluster (the spec there changed
//      before the Federation did): held, the Federation's spec decides where an ordinal lives;
//   2. the recorded primary does not answer as primary: held, nothing moves without a primary;
//   3. it is the recorded primary: first a switchover (intent recorded first, operate.ts) to a
//      synced replica that stays — the pod replacing it if that one is synced, else the most
//      advanced synced one — and only when the shard is otherwise Healthy; held meanwhile;
//   4. it claims primary without being recorded: held (decide.ts demotes it first);
//   5. its ordinal moved to another member cluster: released once the pod replacing it there is
//      synced; scaled in (no member cluster holds the ordinal any more): released once every
//      server the Federation places is synced — the plan's scale-out → move-ordinal → scale-in,
//      executed: a scale-in never leaves the shard with fewer synced servers than it had.
// Synced: the pod answers, replicates from the recorded primary with its link up (Redis
// master_link_status:up; MariaDB IO and SQL threads running) and no error, the primary has heard
// from it within STALE_LAG_SECONDS (where it reports its replicas), and its position is at least
// the primary's position seen at an earlier round (`mark`): it holds everything acknowledged
// before then. And it is not the same server as far as replication can tell: a MariaDB replica
// skips events carrying its own server id, so a new pod with the old pod's id would miss everything
// the old one wrote as primary while its position looks caught up: such a move is held, never
// released. The rendered MySQL pods keep their id in their data volume, made from the UID of the
// pod that first starts on it (compiler/expand/podtemplate.ts serverIdLines), so a new pod on a
// new claim has its own: this only guards against a collision (32 bits) or a pod rendered before
// that (whose id was its ordinal + 1). Pure: no I/O, no clock.
import { STALE_LAG_SECONDS, type FedMember } from './decide.js';

export interface ReleaseInput {
  /** Every observed member, leaving ones included (keys as decide.ts). */
  members: FedMember[];
  /** Key (FedMember.podName) of the recorded primary, if any. */
  recorded?: string;
  /** The Federation's spec: global ordinal → the member cluster it belongs to. */
  placement: ReadonlyMap<number, string>;
  /** The recorded primary's replication position seen at an earlier round (the manager's memory). */
  mark?: { primary: string; offset: number };
  /** decide.ts found the shard Healthy with nothing to do: a hand-over may run this round. */
  healthy: boolean;
}

export interface LeavingPod {
  memberCluster: string;
  ordinal: number;
  /** The pod's name in its member cluster. */
  pod: string;
}

export interface ReleaseDecision {
  released: LeavingPod[];
  held: Array<LeavingPod & { reason: string }>;
  /** The leaving pod is the primary: hand it over first (keys). */
  switchover?: { from: string; to: string; reason: string };
}

const answers = (m: FedMember): boolean => m.probe?.reachable === true;
const podOf = (m: FedMember): string => m.pod ?? m.podName;

/** Why `m` is not synced with the primary `rec` (undefined: it is). */
export function notSynced(m: FedMember, rec: FedMember, mark: ReleaseInput['mark']): string | undefined {
  const p = m.probe;
  if (p?.reachable !== true) return 'does not answer';
  if (p.role !== 'secondary' || p.following === undefined) return 'is not a replica yet';
  if (rec.target === undefined || p.following.host !== rec.target.host || p.following.port !== rec.target.port) return `does not replicate from the primary ${podOf(rec)} yet`;
  if (p.error !== undefined) return `cannot replicate (${p.error})`;
  if (!p.following.linkUp) return 'its replication link is not up yet (syncing)';
  const links = rec.probe?.replicaLinks;
  if (links !== undefined && !links.some((l) => l.host === m.target?.host && l.port === m.target.port && (l.lagSeconds ?? 0) <= STALE_LAG_SECONDS)) return `the primary has not heard from it within ${STALE_LAG_SECONDS} s`;
  if (mark === undefined || mark.primary !== rec.podName) return "waiting for a second look at the primary's position";
  if (p.offset === undefined || p.offset < mark.offset) return `at position ${p.offset ?? 'unknown'}, the primary was at ${mark.offset}`;
  return undefined;
}

export function decideRelease(input: ReleaseInput): ReleaseDecision {
  const { members, placement, mark } = input;
  const out: ReleaseDecision = { released: [], held: [] };
  const rec = input.recorded !== undefined ? members.find((m) => m.podName === input.recorded) : undefined;
  const primaryUp = rec !== undefined && answers(rec) && rec.probe!.role === 'primary';
  // The server of `ordinal` where the Federation places it, not leaving (a leaving pod's successor).
  const placed = (ordinal: number): FedMember | undefined => members.find((m) => m.leaving !== true && m.ordinal === ordinal && m.memberCluster === placement.get(ordinal));
  for (const l of members.filter((m) => m.leaving === true).sort((a, b) => a.ordinal - b.ordinal)) {
    const ref: LeavingPod = { memberCluster: l.memberCluster, ordinal: l.ordinal, pod: podOf(l) };
    const hold = (reason: string): void => void out.held.push({ ...ref, reason: `${ref.pod} (${ref.memberCluster}) stays: ${reason}` });
    const to = placement.get(l.ordinal);
    if (to === l.memberCluster) {
      hold(`the Federation still places ordinal ${l.ordinal} in ${l.memberCluster} (its spec is not synced yet?)`);
      continue;
    }
    if (!primaryUp) {
      hold(rec === undefined ? 'no primary is recorded' : `the primary ${podOf(rec)} does not answer as primary`);
      continue;
    }
    const next = to !== undefined ? placed(l.ordinal) : undefined;
    const sameId = next !== undefined && next.probe?.serverId !== undefined && next.probe.serverId === l.probe?.serverId;
    if (sameId) {
      hold(`its new pod ${podOf(next)} (${next.memberCluster}) has its server id ${l.probe!.serverId}: a replica skips the events of its own server id, so it would miss what ${ref.pod} wrote; the servers of a moved ordinal need distinct server ids (the rendered pods make theirs from the pod UID on a new volume: give ${podOf(next)} a new claim for a new id if its template renders them so, or update its template if it still renders the ordinal's)`);
      continue;
    }
    if (l === rec) {
      // Hand the primary over to a synced replica that stays: the pod replacing it first.
      const synced = members.filter((m) => m !== rec && m.leaving !== true && notSynced(m, rec, mark) === undefined);
      const cand = next !== undefined && synced.includes(next) ? next : [...synced].sort((a, b) => (b.probe?.offset ?? -1) - (a.probe?.offset ?? -1) || a.ordinal - b.ordinal)[0];
      if (cand === undefined) {
        const why = next !== undefined ? `${podOf(next)} (${next.memberCluster}) ${notSynced(next, rec, mark)}` : to !== undefined ? `its new pod in ${to} does not exist yet` : 'no replica that stays is synced';
        hold(`it is the primary: waiting for a synced replica to hand it over to (${why})`);
        continue;
      }
      if (!input.healthy) {
        hold(`it is the primary: the hand-over to ${podOf(cand)} (${cand.memberCluster}) waits for the shard to be Healthy`);
        continue;
      }
      out.switchover ??= { from: l.podName, to: cand.podName, reason: `${ref.pod} leaves ${l.memberCluster}${to !== undefined ? ` (ordinal ${l.ordinal} moves to ${to})` : ''}: handing the primary over to ${podOf(cand)} (${cand.memberCluster}), synced, before it goes` };
      hold(`it is the primary: handing it over to ${podOf(cand)} (${cand.memberCluster}) first`);
      continue;
    }
    if (answers(l) && l.probe!.role === 'primary') {
      hold('it claims primary: demoted first');
      continue;
    }
    if (to === undefined) {
      // Scaled in: after the change's scale-out and moves (the plan's order: scale-out →
      // move-ordinal → scale-in), and so never while a server the Federation places is not
      // synced: the shard never has fewer synced servers than before the change.
      const behind = [...placement].flatMap(([ordinal, memberCluster]) => {
        const m = placed(ordinal);
        if (m === rec) return [];
        const why = m === undefined ? 'does not exist yet' : notSynced(m, rec!, mark);
        return why === undefined ? [] : [`${m !== undefined ? podOf(m) : `ordinal ${ordinal}`} (${memberCluster}) ${why}`];
      });
      if (behind.length > 0) hold(`scaled in once every server that stays is synced (scale-out and moves first): ${behind.join('; ')}`);
      else out.released.push(ref);
      continue;
    }
    if (next === undefined) {
      hold(`ordinal ${l.ordinal} moves to ${to}, where its new pod does not exist yet`);
      continue;
    }
    // The pod replacing it is the primary now (it was handed over to it): nothing to wait for.
    const why = next === rec ? undefined : notSynced(next, rec, mark);
    if (why !== undefined) {
      hold(`ordinal ${l.ordinal} moves to ${to}, where ${podOf(next)} ${why}`);
      continue;
    }
    out.released.push(ref);
  }
  return out;
}
