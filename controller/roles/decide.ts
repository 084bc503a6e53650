// decideState: the role loop's one decision, in the shape of moco's clustering/ (a status set, a
// pure DecideState(), one operation per round). From a snapshot of one shard (what every engine
// reports, the labels the pods carry, the probe history) and the intent (a switchover in
// progress, the operations this round already ran), name the shard's state and the one operation
// to run next. Pure: no I/O, no clock.
//
// The order the operations are considered in is the whole contract of a round:
//   1. Switching    — another round of this controller is moving the role (it holds the lock):
//                     the round (round.ts) stops before it takes a snapshot.
//   2. wire         — Bootstrapping (a set nobody wired: the lowest ordinal leads) or Degraded
//                     (a fresh pod, a replica following the wrong server): promote / follow.
//   3. demote       — SplitBrain: two engines claim primary and nobody else guards the shard
//                     (no Sentinel, not spread): demote all but one in the engine.
//   4. failover     — PrimaryLost: the engine fails over by the controller and the watched primary
//                     failed failureThreshold probes in a row: promote the most advanced replica.
//   5. fence        — Degraded: a server that replicates from nobody (a restarted former primary)
//                     is made read-only and a replica of the primary before it is ever labelled.
//   6. switchover   — Switching: status.switchover is Requested (the update step or a user asked)
//      / resolve      and the engines agree `from` is the one primary: hand the role over
//                     (Engine.switchover), or wait while no replica is linked to it (a request of
//                     the update step: a replica just replaced is not synced yet); the primary is
//                     elsewhere already (Sentinel failed over, a stale label asked): resolve the
//                     request without touching an engine.
//   7. settle       — label from what the engines report (never two primaries), semi-sync and
//                     Sentinel electability where they are wrong.
// Each of 2–6 runs at most once per round and is followed by a fresh snapshot; settle ends it.
import type { SwitchoverStatus } from '../../schemas/types/index.js';
import type { EngineTarget, ProbeResult } from '../engines/types.js';
import { USER_REQUEST } from '../reconcile/instanceset/switchover-record.js';
import { chooseSurvivor, type SplitBrainDecision } from '../engines/splitbrain.js';
import { failoverFromHistory, isPrimary, isUnwired, type ProbeHistory } from './failover.js';
import { decideRoles, type MemberView, type RoleDecision } from './role-plan.js';

export type ShardState =
  /** A switchover is asked for or under way: this round carries it out, or another round does. */
  | 'Switching'
  /** Nobody wired or labelled the set yet: its lowest ordinal is being made primary. */
  | 'Bootstrapping'
  /** A spread shard without an established primary: the federation authority chooses it. */
  | 'Waiting'
  /** More than one engine claims primary. */
  | 'SplitBrain'
  /** No engine claims primary. */
  | 'PrimaryLost'
  /** One primary, but some server is unreachable, unlabelled or not wired to it. */
  | 'Degraded'
  /** One primary, every server reachable, labelled and replicating from it. */
  | 'Healthy';

export type Operation =
  | { kind: 'wire'; promote?: string; follow: Array<{ replica: string; primary: string }> }
  | { kind: 'demote'; survivor: SplitBrainDecision }
  | { kind: 'failover'; reason: string }
  | { kind: 'fence'; primary: string; pods: string[] }
  /** Carry out the Requested switchover `request` (status.switchover). */
  | { kind: 'switchover'; request: SwitchoverStatus }
  /** End the request without touching an engine: the engines made it moot (or refuse it). */
  | { kind: 'resolve'; request: SwitchoverStatus; phase: 'Succeeded' | 'Failed'; message: string }
  | { kind: 'settle'; roles: RoleDecision }
  | { kind: 'none' };

export type OperationKind = Operation['kind'];

/** What one round observed of a shard. */
export interface ShardSnapshot {
  /** Every pod of the set: its engine's report (if it has an address) and its label. */
  members: MemberView[];
  /** The engine addresses of the pods that have one. */
  targets: Map<string, EngineTarget>;
  /** Sentinel watches the shard: Sentinel fails it over and repoints its replicas. */
  sentinelManaged: boolean;
  /** Under Sentinel, with more than one claimant or an unproven one (role-plan.ts): the address the sentinels name as primary. */
  sentinelPrimary?: { host: string; port: number };
  /** The set holds part of a shard spread over member clusters: nothing here makes a primary; `primary` is the federation manager's choice. */
  spread?: { memberClusters: string[]; primary?: string };
  /** Engine.failoverBy. */
  failoverBy: 'controller' | 'sentinel';
  failureThreshold: number;
  /** The probe history the failover decision counts lost probes in (recorded once per round). */
  history?: ProbeHistory;
  /** The members the failover decision looks at (recordProbes). */
  watched?: Array<{ target: EngineTarget; probe: ProbeResult }>;
}

export interface Intent {
  /** Operations this round already ran. */
  done: ReadonlySet<OperationKind>;
  /** status.switchover when it is Requested: a switchover someone asked for and nobody started. */
  switchover?: SwitchoverStatus;
}

export interface StateDecision {
  state: ShardState;
  op: Operation;
}

/** The reachable engines that report primary. */
export const claimantsOf = (ms: MemberView[]): MemberView[] => ms.filter((m) => m.probe?.reachable === true && m.probe.role === 'primary');

/**
 * Nobody else guards the shard, so this member cluster's role loop demotes a second claimant and
 * fails over: not Sentinel (it turns a stale primary into a replica itself; the guard would fight
 * it), not the federation authority (a spread shard is never given a primary here).
 */
export const guardedHere = (s: Pick<ShardSnapshot, 'sentinelManaged' | 'spread'>): boolean => !s.sentinelManaged && s.spread === undefined;

/** Each probed engine with its target and whether its pod is labelled primary. */
export function engineViews(snap: ShardSnapshot): Array<{ target: EngineTarget; probe: ProbeResult; labelledPrimary: boolean }> {
  return snap.members.flatMap((m) => {
    const t = snap.targets.get(m.podName);
    return t !== undefined && m.probe !== undefined ? [{ target: t, probe: m.probe, labelledPrimary: m.label === 'primary' }] : [];
  });
}

/**
 * The label decision (role-plan.ts) of a snapshot. Under Sentinel, Sentinel is the guard: while a
 * failover is half done (the promoted replica and the old primary both report master), or a
 * primary came back at a new address, the address Sentinel names is the primary.
 */
export function rolesOf(snap: ShardSnapshot): RoleDecision {
  const addr = snap.sentinelPrimary;
  const named = snap.sentinelManaged && addr !== undefined ? claimantsOf(snap.members).find((m) => m.host === addr.host && m.port === addr.port)?.podName : undefined;
  return decideRoles(snap.members, {
    sentinelManaged: snap.sentinelManaged,
    ...(named !== undefined ? { sentinelNamed: named } : {}),
    ...(snap.spread !== undefined ? { spread: snap.spread } : {}),
  });
}

export function decideState(snap: ShardSnapshot, intent: Intent): StateDecision {
  const roles = rolesOf(snap);
  const claimants = claimantsOf(snap.members);
  if (!intent.done.has('wire') && (roles.promote !== undefined || roles.follow.length > 0)) {
    return {
      state: roles.promote !== undefined ? 'Bootstrapping' : 'Degraded',
      op: { kind: 'wire', ...(roles.promote !== undefined ? { promote: roles.promote } : {}), follow: roles.follow },
    };
  }
  if (guardedHere(snap) && !intent.done.has('demote') && roles.primary === undefined && claimants.length > 1) {
    const survivor = chooseSurvivor(engineViews(snap));
    if (survivor !== undefined) return { state: 'SplitBrain', op: { kind: 'demote', survivor } };
  }
  if (guardedHere(snap) && snap.failoverBy === 'controller' && snap.history !== undefined && snap.watched !== undefined && !intent.done.has('failover') && !intent.done.has('fence') && claimants.length <= 1) {
    const views = engineViews(snap);
    // Only a set that was wired fails over; a fresh one is bootstrapped (step 2).
    const wired = views.some((v) => v.probe.reachable && v.probe.role === 'secondary');
    const fd = failoverFromHistory(snap.history, snap.watched, snap.failureThreshold, new Map());
    if (fd.action === 'promote' && wired) return { state: 'PrimaryLost', op: { kind: 'failover', reason: fd.reason } };
    const primary = views.find((v) => isPrimary(v.probe));
    if (fd.action === 'none' && primary !== undefined) {
      const pods = views.filter((v) => v !== primary && isUnwired(v.probe)).map((v) => v.target.podName);
      if (pods.length > 0) return { state: 'Degraded', op: { kind: 'fence', primary: primary.target.podName, pods } };
    }
  }
  if (intent.switchover !== undefined && !intent.done.has('switchover') && !intent.done.has('resolve')) {
    const op = decideSwitchover(snap, intent.switchover);
    if (op !== undefined) return { state: 'Switching', op };
  }
  return { state: settledState(snap, roles, claimants), op: { kind: 'settle', roles } };
}

/**
 * A Requested switchover: run it, resolve it, or (undefined) let it wait — no single engine claims
 * primary (a failover or the split-brain guard goes first), or no replica replicates from the
 * primary yet and the request is the update step's, which may wait; a user's is tried at once and
 * the engine says why it cannot.
 */
export function decideSwitchover(snap: ShardSnapshot, request: SwitchoverStatus): Operation | undefined {
  const resolve = (phase: 'Succeeded' | 'Failed', message: string): Operation => ({ kind: 'resolve', request, phase, message });
  if (snap.spread !== undefined) {
    return resolve('Failed', `the shard is spread over member clusters ${snap.spread.memberClusters.join(', ')}: its primary is handed off by the federation authority, never by one member cluster`);
  }
  const claimants = claimantsOf(snap.members);
  if (claimants.length !== 1) return undefined;
  const primary = claimants[0]!;
  const to = request.to;
  if (primary.podName !== request.from) {
    // Labels lag the engines by up to one probe period: never act on a stale primary label.
    if (to === undefined || to === primary.podName) return resolve('Succeeded', `the primary already is ${primary.podName} in the engines; nothing to hand off`);
    return resolve('Failed', `the primary is ${primary.podName} in the engines, not ${request.from}: the request to move it to ${to} no longer holds; ask again`);
  }
  if (to !== undefined && !snap.members.some((m) => m.podName === to)) return resolve('Failed', `${to} is not a pod of this set`);
  const linked = snap.members.some(
    (m) =>
      m !== primary &&
      (to === undefined || m.podName === to) &&
      m.probe?.reachable === true &&
      m.probe.following?.linkUp === true &&
      m.probe.following.host === primary.host &&
      m.probe.following.port === primary.port,
  );
  if (!linked && request.reason !== USER_REQUEST) return undefined;
  return { kind: 'switchover', request };
}

/** A spread shard whose primary the federation manager chose in another member cluster. */
const primaryElsewhere = (snap: ShardSnapshot): boolean => snap.spread?.primary !== undefined && !snap.members.some((m) => m.podName === snap.spread!.primary);

function settledState(snap: ShardSnapshot, roles: RoleDecision, claimants: MemberView[]): ShardState {
  if (roles.waiting !== undefined) return 'Waiting';
  if (primaryElsewhere(snap)) {
    const secondaries = snap.members.every((m) => m.probe?.reachable === true && m.probe.role === 'secondary' && m.label === 'secondary');
    return secondaries && claimants.length === 0 ? 'Healthy' : 'Degraded';
  }
  if (claimants.length === 0) return 'PrimaryLost';
  if (claimants.length > 1 && roles.primary === undefined) return 'SplitBrain';
  const primary = snap.members.find((m) => m.podName === roles.primary);
  const healthy = snap.members.every(
    (m) =>
      m.probe?.reachable === true &&
      (m === primary
        ? true
        : m.probe.role === 'secondary' && m.probe.following !== undefined && primary !== undefined && m.probe.following.host === primary.host && m.probe.following.port === primary.port),
  );
  return healthy && roles.labels.length === 0 && snap.members.every((m) => m.label !== undefined) ? 'Healthy' : 'Degraded';
}

/** Roles in motion (a failover half done, pods not yet labelled): the loop looks again soon. */
export function unsettled(snap: ShardSnapshot, roles: RoleDecision): boolean {
  // A spread shard waiting for the authority is not "in motion": probe it at the normal period.
  if (roles.waiting !== undefined || primaryElsewhere(snap)) return roles.labels.length > 0;
  return roles.labels.length > 0 || roles.warnings.length > 0 || claimantsOf(snap.members).length !== 1 || snap.members.some((m) => m.probe?.reachable === true && m.label === undefined);
}
