// decideFederatedShard: the federation manager's one decision for one spread shard (a shard whose
// servers live in several member clusters), in the shape of the member clusters' role loop
// (roles/decide.ts) and of moco's clustering/: a status set of every server in every member
// cluster, a pure decision that names the state and the one operation to run next. Pure: no I/O,
// no clock (the probe history is recorded by the gatherer, recordRound, before it decides).
//
// The manager is the shard's one authority: it is its failure detector and the only one that
// ever makes a pod of it primary, in any member cluster. Its decision is durable before it acts:
// `recorded` is the primary written in the Federation object's status (operate.ts writes the new
// primary there *before* it touches an engine), so a manager killed half-way through a failover
// finishes the same failover when it (or its successor) starts again, and never starts a second.
//
// The order the cases are considered in is the whole contract of a round:
//   1. recorded primary answers as primary:
//        other engines claim primary (an old primary back from the dead, a fresh Redis) → demote
//        them in the engine (never only in a label); replicas that follow someone else, fresh or
//        unwired servers, or a link that stopped without an error → wire them to it; a server
//        missing, cut off or broken, or commits waiting over STALE_LAG_SECONDS for a semi-sync
//        acknowledgement → Degraded, wait; a rolling update → Updating; else Healthy.
//   2. recorded primary answers but is not primary: another engine is an established primary
//        (someone replicates from it) → adopt it (record it, touch nothing); else the record is a
//        decision not carried out yet (a failover or bootstrap cut off) → carry it out (failover
//        to the recorded pod: promote it after it applied what it received, the rest follow it).
//   3. recorded primary does not answer: failureThreshold lost probes in a row (decideFailover,
//        the member clusters' own rule) → failover to the most advanced reachable replica (what
//        it received, not only applied); fewer → Degraded, wait.
//   4. nothing recorded (a new shard, or a Federation whose status was lost): exactly one
//        established primary → adopt; several → demote all but one (chooseSurvivor); none and
//        nothing wired → bootstrap the lowest global ordinal once every server answers; none but
//        replicas exist → the failover rule over everybody.
// Establishment matters: a fresh Redis reports primary too, so only an engine that replicas
// follow (or that reports connected replicas) is an established primary.
import type { EngineTarget, ProbeResult } from '../engines/types.js';
import { chooseSurvivor } from '../engines/splitbrain.js';
import { failoverFromHistory, isUnwired, recordProbes, type ProbeHistory } from '../roles/failover.js';

export interface FedMember {
  memberCluster: string;
  /**
   * The member's key in the snapshot (every operation names members by it): the pod's name, or
   * for a leaving pod `<pod>@<memberCluster>` — while an ordinal moves between member clusters its
   * old and new pods have one name (the InstanceSet is named alike everywhere).
   */
  podName: string;
  /** The pod's name when podName is not it (a leaving pod). */
  pod?: string;
  /**
   * The pod left its member cluster's spec, or the Federation places its ordinal elsewhere: its
   * member cluster keeps it until the manager releases it (release.ts). Not counted among the
   * expected pods, never a bootstrap, failover or update candidate; still wired while it stays,
   * still demoted if it claims primary, and handed over from (release.ts) if it is the primary.
   */
  leaving?: boolean;
  /** Global ordinal (unique across member clusters). */
  ordinal: number;
  /** The engine's address (the pod IP, live or last known when the member cluster's API server does not answer). */
  target?: EngineTarget;
  /** This round's probe; undefined when the pod has no known address. */
  probe?: ProbeResult;
  /** The pod is not at its member cluster's update revision (a rolling update is under way); undefined: unknown. */
  outdated?: boolean;
}

export interface RecordedPrimary {
  memberCluster: string;
  pod: string;
}

export interface FedShardSnapshot {
  members: FedMember[];
  /** Pods the shard must have (the Federation's ordinals): bootstrap waits for all of them. */
  expectedPods: number;
  /** status.shards[].primary of the Federation object: the authority's last decision. */
  recorded?: RecordedPrimary;
  failureThreshold: number;
  /** Probe history across rounds (the manager's memory, per shard), this round already recorded (recordRound). */
  history: ProbeHistory;
  /** The members the failover rule looks at (recordRound's result). */
  watched: Array<{ target: EngineTarget }>;
  /** What each replica received (MariaDB: may be ahead of what it applied); gathered when the recorded primary does not answer. */
  received?: Map<string, number>;
  /**
   * MariaDB semi-sync: only replicas in other member clusters than the primary's acknowledge
   * commits (acknowledgesFor), so an acknowledged commit survives the loss of the primary's member
   * cluster; a replica whose acknowledging side is wrong is wired again.
   */
  semiSync?: boolean;
}

/** Semi-sync: whether a replica in `replica` acknowledges the commits of a primary in `primary` (member clusters). */
export const acknowledgesFor = (replica: string, primary: string): boolean => replica !== primary;

/** Records one round's probes in the shard's history (the gatherer calls it once per round, before deciding). */
export function recordRound(history: ProbeHistory, members: FedMember[], recorded: RecordedPrimary | undefined, failureThreshold: number): Array<{ target: EngineTarget }> {
  return recordProbes(
    history,
    members.flatMap((m) => (m.target !== undefined ? [{ target: m.target, probe: m.probe ?? { reachable: false, error: 'no address' }, labelledPrimary: m.podName === recorded?.pod }] : [])),
    failureThreshold,
  );
}

export type FedState =
  /** Nobody wired the shard: its lowest global ordinal is being made primary. */
  | 'Bootstrapping'
  /** The recorded primary answers as primary; every server answers and replicates from it. */
  | 'Healthy'
  /** One primary, but a server does not answer, is not wired to it, or the primary missed a probe. */
  | 'Degraded'
  /** The recorded primary is lost: a replica is being promoted. */
  | 'FailingOver'
  /** More than one engine claims primary: all but one are demoted. */
  | 'SplitBrain'
  /** Nothing can be decided safely yet (servers missing, no replica to promote). */
  | 'Waiting'
  /** A rolling update: the member clusters replace the secondaries; the primary is handed over once they all are. */
  | 'Updating';

export type FedOperation =
  /** Record `primary` (an engine already is it) without touching an engine. */
  | { kind: 'adopt'; primary: string; reason: string }
  /** Make `primary` a writable primary (record first), `follow` replicate from it. */
  | { kind: 'bootstrap'; primary: string; follow: string[]; reason: string }
  /** Promote `candidate` after it applied what it received (record first); `others` follow it. */
  | { kind: 'failover'; candidate: string; others: string[]; reason: string }
  /** Stop the writes of `demote` and make them replicas of `keep`. */
  | { kind: 'demote'; keep: string; demote: string[]; reason: string }
  /** Make `follow` replicate from the recorded primary. */
  | { kind: 'wire'; primary: string; follow: string[]; reason: string }
  /** Planned hand-off (record `to` first): every secondary is updated, the outdated primary goes last. */
  | { kind: 'switchover'; from: string; to: string; reason: string }
  | { kind: 'none'; reason: string };

export interface FedDecision {
  state: FedState;
  op: FedOperation;
  /** The primary after this round's operation (what status and the member clusters are told). */
  primary?: string;
}

/** A replica the primary has not heard from for longer is reported cut off (Redis replicas acknowledge every second). */
export const STALE_LAG_SECONDS = 3;

const answers = (m: FedMember): boolean => m.probe?.reachable === true;
const claims = (m: FedMember): boolean => answers(m) && m.probe!.role === 'primary';
const follows = (m: FedMember, p: FedMember): boolean =>
  p.target !== undefined && m.probe?.following !== undefined && m.probe.following.host === p.target.host && m.probe.following.port === p.target.port;

/** An engine claiming primary that somebody replicates from (or that reports connected replicas). */
export function established(m: FedMember, all: FedMember[]): boolean {
  return claims(m) && ((m.probe!.replicas ?? 0) > 0 || all.some((x) => x !== m && answers(x) && follows(x, m)));
}

export function decideFederatedShard(snap: FedShardSnapshot): FedDecision {
  const { members } = snap;
  const byPod = new Map(members.map((m) => [m.podName, m]));
  const claimants = members.filter(claims);
  const estab = claimants.filter((m) => established(m, members));
  const rec = snap.recorded !== undefined ? byPod.get(snap.recorded.pod) : undefined;

  if (rec !== undefined && claims(rec)) {
    const others = claimants.filter((m) => m !== rec);
    if (others.length > 0) {
      return {
        state: 'SplitBrain',
        op: { kind: 'demote', keep: rec.podName, demote: others.map((m) => m.podName), reason: `${others.map((m) => m.podName).join(', ')} claim primary while ${rec.podName} (${rec.memberCluster}) is the recorded primary` },
        primary: rec.podName,
      };
    }
    const wrongAck = (m: FedMember): boolean =>
      snap.semiSync === true && m.probe!.semiSyncReplicaSide !== undefined && m.probe!.semiSyncReplicaSide !== acknowledgesFor(m.memberCluster, rec.memberCluster);
    const stray = members.filter(
      (m) => m !== rec && answers(m) && ((m.probe!.role === 'secondary' && (!follows(m, rec) || (!m.probe!.following!.linkUp && m.probe!.error === undefined) || wrongAck(m))) || isUnwired(m.probe)),
    );
    if (stray.length > 0) {
      const acks = stray.filter((m) => follows(m, rec) && m.probe!.following!.linkUp && wrongAck(m)).map((m) => m.podName);
      const other = stray.map((m) => m.podName).filter((p) => !acks.includes(p));
      const reason = [
        other.length > 0 ? `${other.join(', ')} do not replicate from the primary ${rec.podName}` : '',
        acks.length > 0 ? `${acks.join(', ')} acknowledge semi-sync commits where they must not (only replicas outside the primary's member cluster ${rec.memberCluster} do)` : '',
      ].filter((x) => x !== '').join('; ');
      return { state: 'Degraded', op: { kind: 'wire', primary: rec.podName, follow: stray.map((m) => m.podName), reason }, primary: rec.podName };
    }
    const missing = members.filter((m) => m !== rec && !answers(m)).map((m) => m.podName);
    const short = snap.expectedPods - members.filter((m) => m.leaving !== true).length;
    // Cut off: the replica says it follows the primary, but the primary has not heard from it for
    // STALE_LAG_SECONDS (a partition shows here long before the replica's own timeout).
    // A replica of the primary whose replication stopped with an error (diverged: errant transactions) needs a rebuild.
    const broken = members.filter((m) => m !== rec && answers(m) && m.probe!.role === 'secondary' && follows(m, rec) && !m.probe!.following!.linkUp && m.probe!.error !== undefined);
    const links = rec.probe!.replicaLinks;
    const cut = links === undefined ? [] : members.filter((m) => m !== rec && answers(m) && m.probe!.role === 'secondary' && !links.some((l) => l.host === m.target?.host && l.port === m.target.port && (l.lagSeconds ?? 0) <= STALE_LAG_SECONDS)).map((m) => m.podName);
    // MariaDB semi-sync never falls back to async: cut off from its acknowledging replicas, the
    // primary blocks its commits without an error and no replica reports lag (they receive
    // nothing); the commit waiting longest shows it.
    const waitMs = rec.probe!.commitWaitMs ?? 0;
    const stalled = waitMs > STALE_LAG_SECONDS * 1000;
    if (missing.length > 0 || short > 0 || cut.length > 0 || broken.length > 0 || stalled) {
      const why = [
        stalled ? `commits on ${rec.podName} have waited ${(waitMs / 1000).toFixed(1)} s for a semi-sync acknowledgement: no replica outside ${rec.memberCluster} acknowledges (cut off?)` : '',
        ...broken.map((m) => `${m.podName} cannot replicate (${m.probe!.error}): rebuild it from ${rec.podName}`),
        missing.length > 0 ? `${missing.join(', ')} do not answer` : '',
        short > 0 ? `${short} pod(s) missing` : '',
        cut.length > 0 ? `the primary has not heard from ${cut.join(', ')} for over ${STALE_LAG_SECONDS} s (cut off?)` : '',
      ].filter((s) => s !== '').join('; ');
      return { state: 'Degraded', op: { kind: 'none', reason: why }, primary: rec.podName };
    }
    const update = rollingUpdate(members, rec);
    if (update !== undefined) return update;
    return { state: 'Healthy', op: { kind: 'none', reason: `${rec.podName} (${rec.memberCluster}) is primary; every server replicates from it` }, primary: rec.podName };
  }

  if (rec !== undefined && answers(rec)) {
    const elsewhere = estab.filter((m) => m !== rec);
    if (elsewhere.length === 1) {
      const p = elsewhere[0]!;
      return { state: 'Degraded', op: { kind: 'adopt', primary: p.podName, reason: `${rec.podName} is no longer primary and ${p.podName} is (replicas follow it)` }, primary: p.podName };
    }
    if (elsewhere.length === 0) {
      // The record is ours and not carried out yet: finish it.
      const others = members.filter((m) => m !== rec && answers(m)).map((m) => m.podName);
      return { state: 'FailingOver', op: { kind: 'failover', candidate: rec.podName, others, reason: `${rec.podName} is the recorded primary but does not act as one yet: completing the decision` }, primary: rec.podName };
    }
  }

  if (rec !== undefined) {
    // The recorded primary does not answer (or several others claim primary: the split-brain rule below).
    if (estab.length === 1) {
      const p = estab[0]!;
      return { state: 'Degraded', op: { kind: 'adopt', primary: p.podName, reason: `the recorded primary ${rec.podName} does not answer and ${p.podName} is an established primary` }, primary: p.podName };
    }
    if (estab.length === 0) return failover(snap, rec.podName);
  }

  if (estab.length > 1) {
    const survivor = chooseSurvivor(estab.map((m) => ({ target: m.target!, probe: m.probe!, labelledPrimary: false })));
    if (survivor !== undefined) return { state: 'SplitBrain', op: { kind: 'demote', keep: survivor.keep, demote: survivor.demote, reason: survivor.reason }, primary: survivor.keep };
  }
  if (estab.length === 1) {
    const p = estab[0]!;
    return { state: 'Degraded', op: { kind: 'adopt', primary: p.podName, reason: `${p.podName} (${p.memberCluster}) is the established primary (replicas follow it); nothing was recorded` }, primary: p.podName };
  }
  const wired = members.some((m) => answers(m) && (m.probe!.role === 'secondary' || m.probe!.following !== undefined));
  if (wired) return failover(snap, undefined);
  const reachable = members.filter((m) => answers(m) && m.leaving !== true).sort((a, b) => a.ordinal - b.ordinal);
  if (reachable.length === 0 || reachable.length < snap.expectedPods) {
    return { state: 'Waiting', op: { kind: 'none', reason: `bootstrap waits for every server to answer: ${reachable.length} of ${snap.expectedPods} do` } };
  }
  const first = reachable[0]!;
  return {
    state: 'Bootstrapping',
    op: { kind: 'bootstrap', primary: first.podName, follow: reachable.slice(1).map((m) => m.podName), reason: `nobody wired the shard: ${first.podName} (${first.memberCluster}, the lowest global ordinal) leads` },
    primary: first.podName,
  };
}

function failover(snap: FedShardSnapshot, lost: string | undefined): FedDecision {
  // A leaving pod is never promoted (its member cluster removes it once released); the lost primary stays watched.
  const leaving = new Set(snap.members.filter((m) => m.leaving === true && m.podName !== lost).map((m) => m.podName));
  const d = failoverFromHistory(snap.history, snap.watched.filter((w) => !leaving.has(w.target.podName)), snap.failureThreshold, snap.received ?? new Map());
  if (d.action !== 'promote') {
    return { state: lost !== undefined ? 'Degraded' : 'Waiting', op: { kind: 'none', reason: d.reason }, ...(lost !== undefined ? { primary: lost } : {}) };
  }
  const others = snap.members.filter((m) => m.podName !== d.candidate && m.podName !== lost && answers(m)).map((m) => m.podName);
  return { state: 'FailingOver', op: { kind: 'failover', candidate: d.candidate, others, reason: d.reason }, primary: d.candidate };
}

/**
 * The federation's part of a rolling update of a spread shard (the order `dbtopo plan` prints):
 * the member clusters' controllers replace secondaries in every member cluster on their own, but
 * never hand over the primary (roles/role-plan.ts); once every secondary, in every member
 * cluster, is at its update revision and replicating, the manager hands the primary over to the
 * most advanced updated secondary (ties to the lowest ordinal), and the old primary, now a
 * secondary, is replaced last by its member cluster. Called with a healthy shard only.
 */
function rollingUpdate(all: FedMember[], rec: FedMember): FedDecision | undefined {
  // A leaving pod is not updated (it goes) and never takes the primary over.
  const members = all.filter((m) => m === rec || m.leaving !== true);
  if (rec.outdated !== true) {
    const behind = members.filter((m) => m.outdated === true).map((m) => m.podName);
    return behind.length > 0 ? { state: 'Updating', op: { kind: 'none', reason: `rolling update: ${behind.join(', ')} not updated yet; the primary ${rec.podName} is` }, primary: rec.podName } : undefined;
  }
  const others = members.filter((m) => m !== rec);
  const waiting = others.filter((m) => m.outdated !== false).map((m) => m.podName);
  if (waiting.length > 0) {
    return { state: 'Updating', op: { kind: 'none', reason: `rolling update: the primary ${rec.podName} goes last; waiting for ${waiting.join(', ')} to be updated` }, primary: rec.podName };
  }
  const to = [...others].sort((a, b) => (b.probe?.offset ?? -1) - (a.probe?.offset ?? -1) || a.ordinal - b.ordinal)[0];
  if (to === undefined) return undefined;
  return {
    state: 'Updating',
    op: { kind: 'switchover', from: rec.podName, to: to.podName, reason: `rolling update: every secondary is updated; handing the primary over from ${rec.podName} (${rec.memberCluster}) to ${to.podName} (${to.memberCluster}) before ${rec.podName} is replaced` },
    primary: to.podName,
  };
}

/**
 * Redis spread shards (Engine.requireReplicas): how many connected replicas the primary must have
 * to accept writes — one more than the replicas of its own member cluster connected to it now, so
 * at least one replica in another member cluster must be in touch (within min-replicas-max-lag).
 * A primary cut off with its local replicas then stops acknowledging, like a MariaDB primary whose
 * acknowledging replicas are all elsewhere. Recomputed every round: a local replica that leaves
 * (replaced by a rolling update) lowers it, so writes go on as long as a remote replica is there.
 * Undefined when the primary reports no replica links.
 */
export function replicasRequired(members: FedMember[], primary: FedMember): number | undefined {
  const links = primary.probe?.replicaLinks;
  if (links === undefined) return undefined;
  const local = members.filter((m) => m !== primary && m.memberCluster === primary.memberCluster && m.target !== undefined);
  const connected = local.filter((m) => links.some((l) => l.host === m.target!.host && l.port === m.target!.port)).length;
  return connected + 1;
}
