// decideRoles: from what each engine reports (ProbeResult) and the labels the pods carry, the
// label changes, replication wiring and warnings of one server InstanceSet. Pure.
// Invariants: a role label only ever says what the engine reported; never two pods labelled
// primary (the old primary's label goes before the new one is written); when two engines claim
// primary and no guard chose one, no new primary label is written at all. A spread shard (servers
// in several member clusters, spec.spread) is never given a primary here: no bootstrap promotion,
// no wiring, and an engine claiming primary is accepted only when the federation manager chose it
// (status.federation) — before any choice is published, once it is established (labelled, or
// replicated from), since a fresh Redis reports primary too; the one authority decides.
import type { Role } from '../../schemas/types/index.js';
import type { ProbeResult } from '../engines/types.js';

export interface MemberView {
  podName: string;
  ordinal: number;
  host?: string;
  port: number;
  label?: Role;
  probe?: ProbeResult;
}

export interface RoleDecision {
  /** In the order to apply: removals and secondaries first, the primary last. undefined role = remove the label. */
  labels: Array<{ podName: string; role: Role | undefined }>;
  /** Bootstrap: the pod to make primary. */
  promote?: string;
  follow: Array<{ replica: string; primary: string }>;
  /** Reported as Warning Events with their reason. */
  warnings: Array<{ reason: 'SplitBrain' | 'WaitingForSentinel'; message: string }>;
  /** The pod accepted as primary, if any. */
  primary?: string;
  /** A spread shard with no accepted primary: why none is made here (for a Warning Event). */
  waiting?: string;
}

export interface DecideOptions {
  /** Sentinel repoints replicas itself after a failover: the controller then only wires fresh pods. */
  sentinelManaged: boolean;
  /**
   * Under Sentinel: the pod at the address the sentinels name as primary (when one claimant is
   * there). It breaks a tie of claimants, and it alone makes an unproven claimant the primary.
   */
  sentinelNamed?: string;
  /**
   * The set holds part of a spread shard: never promote nor wire (see the header); member clusters
   * named in `waiting`. `primary`: the pod the federation manager chose (status.federation), in
   * this member cluster or another: only it is ever labelled primary.
   */
  spread?: { memberClusters: string[]; primary?: string };
}

const WAITING = 'waiting for the federation authority to choose the primary';

/**
 * Under Sentinel, while a replica answers: servers that report primary but carry no label, follow
 * nobody and have nobody replicating from them. Such a server is a primary recreated at a new
 * address (or a new pod): Sentinel fails over from the address it knew, and converts this one into
 * a replica afterwards, discarding what it acknowledged meanwhile. Labelled primary, it would take
 * the -primary Service's writes for those seconds (seen on a real node: the evicted primary back
 * at a new IP 3.9 s after the eviction and labelled primary, Sentinel's promotion of the replica
 * 4 s later). It is accepted only where Sentinel names its address.
 */
export function unprovenClaimants(members: readonly MemberView[]): MemberView[] {
  const reachable = members.filter((m) => m.probe?.reachable === true);
  // With no replica answering, Sentinel has nobody to fail over to: the server that answers
  // primary serves (availability over waiting for a failover that cannot happen).
  if (!reachable.some((m) => m.probe?.role === 'secondary')) return [];
  return reachable.filter((m) => m.probe?.role === 'primary' && isFresh(m) && (m.probe.replicas ?? 0) === 0 && !followedBy(reachable, m));
}

/** A server that carries no label and follows nobody (scale out, a restart without state, a recreated pod). */
const isFresh = (m: MemberView): boolean => m.label === undefined && m.probe?.following === undefined;

/** Some server of `reachable` replicates from `m` (follows its address). */
const followedBy = (reachable: readonly MemberView[], m: MemberView): boolean =>
  reachable.some((x) => x.probe?.following !== undefined && x.probe.following.host === m.host && x.probe.following.port === m.port);

export function decideRoles(members: MemberView[], opts: DecideOptions): RoleDecision {
  const out: RoleDecision = { labels: [], follow: [], warnings: [] };
  const reachable = members.filter((m) => m.probe?.reachable === true).sort((a, b) => a.ordinal - b.ordinal);
  const followed = (m: MemberView): boolean => followedBy(reachable, m);
  // Spread: a claimant nobody labelled and nobody replicates from is a fresh engine (a new Redis
  // reports primary), not a primary; making it one is the authority's decision, not ours.
  const established = (m: MemberView): boolean => m.label === 'primary' || (m.probe?.replicas ?? 0) > 0 || followed(m);
  const chosen = opts.spread?.primary;
  const claimants = reachable.filter((m) => m.probe?.role === 'primary' && (opts.spread === undefined || (chosen !== undefined ? m.podName === chosen : established(m))));
  const wired = reachable.some((m) => m.probe?.role === 'secondary' || m.probe?.following !== undefined);
  const labelled = members.some((m) => m.label !== undefined);
  const spreadOver = opts.spread !== undefined ? `shard spread over member clusters ${opts.spread.memberClusters.join(', ')}` : '';

  if (opts.spread !== undefined && chosen !== undefined && claimants.length === 0) {
    // The federation manager chose a primary that is not here (or not primary in its engine yet):
    // no pod here is labelled primary (an old primary back from the dead loses its label at once,
    // before the manager demotes it in the engine); secondaries are labelled from their engines.
    for (const m of members) {
      if (m.label === 'primary') out.labels.push({ podName: m.podName, role: m.probe?.reachable === true && m.probe.role === 'secondary' ? 'secondary' : undefined });
      else if (m.probe?.reachable === true && m.probe.role === 'secondary' && m.label !== 'secondary') out.labels.push({ podName: m.podName, role: 'secondary' });
    }
    return out;
  }
  if (opts.spread !== undefined && claimants.length === 0) {
    // Still label what the engines report: secondaries (a lost primary keeps its label, as below).
    for (const m of reachable) {
      if (m.probe?.role === 'secondary' && m.label !== 'secondary') out.labels.push({ podName: m.podName, role: 'secondary' });
    }
    const fresh = reachable.filter((m) => m.probe?.role === 'primary').map((m) => m.podName);
    out.waiting = `no pod of this ${spreadOver} is an established primary${fresh.length > 0 ? ` (${fresh.join(', ')} report primary, but no label names them and nobody replicates from them)` : ''}; this member cluster never promotes one on its own: ${WAITING}`;
    return out;
  }

  // Bootstrap: a set nobody has wired or labelled yet. Lowest ordinal leads, the others follow.
  // A lone server that already reports primary (standalone Redis; a MariaDB once promoted) is not
  // bootstrapped again: the path below labels it, or it would stay unlabelled forever.
  const lonePrimary = reachable.length === 1 && members.length === 1 && reachable[0]?.probe?.role === 'primary';
  if (!wired && !labelled && opts.spread === undefined && !lonePrimary) {
    const first = reachable[0];
    if (first === undefined) return out;
    out.promote = first.podName;
    for (const m of reachable.slice(1)) out.follow.push({ replica: m.podName, primary: first.podName });
    return out;
  }

  // A fresh pod (isFresh) that reports primary with nobody following it is wired to the accepted
  // primary, not a second primary.
  let primary: MemberView | undefined;
  // (A spread shard's primary is the federation manager's choice, above.)
  const unproven = opts.sentinelManaged && opts.spread === undefined ? unprovenClaimants(members).filter((m) => m.podName !== opts.sentinelNamed) : [];
  const accepted = claimants.filter((m) => !unproven.includes(m));
  if (unproven.length > 0 && accepted.length === 0) {
    // Beside an accepted primary an unproven claimant is a fresh pod, wired below: nothing to say.
    const one = unproven.length === 1;
    out.warnings.push({
      reason: 'WaitingForSentinel',
      message: `${unproven.map((m) => m.podName).join(', ')} ${one ? 'reports primary, but carries no label, nobody replicates from it and Sentinel does not name its address' : 'report primary, but carry no label, nobody replicates from them and Sentinel does not name their addresses'}: not labelled primary (a primary recreated at a new address; Sentinel fails over from the address it knew)`,
    });
  }
  if (accepted.length === 1) {
    primary = accepted[0];
  } else if (accepted.length > 1) {
    const incumbents = accepted.filter((m) => m.label === 'primary');
    const others = accepted.filter((m) => !isFresh(m) && m.label !== 'primary');
    if (incumbents.length === 1 && others.length === 0) {
      primary = incumbents[0];
    } else {
      primary = accepted.find((m) => m.podName === opts.sentinelNamed);
      if (primary === undefined) {
        out.warnings.push({
          reason: 'SplitBrain',
          message: `${accepted.map((m) => m.podName).join(', ')} all report primary; no new primary label is written until one is demoted${opts.spread !== undefined ? ` (${spreadOver}: ${WAITING})` : ''}`,
        });
      }
    }
  }
  if (primary !== undefined) out.primary = primary.podName;

  const removals: RoleDecision['labels'] = [];
  const secondaries: RoleDecision['labels'] = [];
  for (const m of members) {
    if (primary !== undefined && m !== primary && m.label === 'primary') {
      // Another pod is primary now: this label goes first, reachable or not.
      removals.push({ podName: m.podName, role: m.probe?.reachable === true && m.probe.role === 'secondary' ? 'secondary' : undefined });
      continue;
    }
    if (m.probe?.reachable !== true || m === primary) continue;
    if (m.probe.role === 'secondary' && m.label !== 'secondary') secondaries.push({ podName: m.podName, role: 'secondary' });
    // Fresh: a new Redis reports primary; a new MySQL server starts read-only and reports no role.
    if ((m.probe.role === 'primary' || m.probe.role === undefined) && primary !== undefined && isFresh(m) && opts.spread === undefined) {
      out.follow.push({ replica: m.podName, primary: primary.podName });
    }
  }
  out.labels.push(...removals, ...secondaries);
  if (primary !== undefined && primary.label !== 'primary') out.labels.push({ podName: primary.podName, role: 'primary' });

  // Repair replicas that follow someone other than the primary. Under Sentinel, which repoints the
  // replicas it knows itself, only one chained to another replica while a single engine claims
  // primary: Sentinel discovers replicas from the primary's INFO and never sees that one (a pod
  // wired to the old primary just before a switchover cut off by a controller restart).
  // Without Sentinel, a replica of the primary whose link is down with no error is wired again
  // too: a MariaDB replica whose threads a failover or repoint stopped just before the controller
  // was killed stays stopped forever otherwise (seen in CI: 13,000 transactions behind after
  // three rollouts). follow() only changes what differs, so a link that is merely reconnecting
  // or syncing is left alone; one that failed (a diverged replica) needs a rebuild, not a retry
  // every round.
  // A spread shard's replicas are wired by the federation manager alone (they may follow a primary in another member cluster).
  if (primary !== undefined && primary.host !== undefined && opts.spread === undefined) {
    const isReplica = (host: string, port: number): boolean => reachable.some((x) => x.host === host && x.port === port && x.probe?.role === 'secondary');
    for (const m of reachable) {
      const f = m.probe?.following;
      if (m === primary || m.probe?.role !== 'secondary' || f === undefined) continue;
      if (f.host === primary.host && f.port === primary.port) {
        if (!f.linkUp && m.probe.error === undefined && !opts.sentinelManaged) out.follow.push({ replica: m.podName, primary: primary.podName });
        continue;
      }
      if (!opts.sentinelManaged || (claimants.length === 1 && isReplica(f.host, f.port))) out.follow.push({ replica: m.podName, primary: primary.podName });
    }
  }
  return out;
}
