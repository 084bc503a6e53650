// The role-aware update plan: which outdated pods may be replaced now, and whether the primary
// must hand its role off first. Pure: the reconciler feeds it what it observed and acts on the
// answer, then calls it again on the next reconcile (level-triggered, no state of its own).
//
// Rules, in order:
//  1. An updated pod that is not Ready, or (with roles) has no role yet, stops the update: we do
//     not know whether the new revision works.
//  2. Outdated pods are taken in order of their role's updatePriority (pods without a role
//     first, secondaries, the primary last), then by highest ordinal first.
//  3. At most maxUnavailable pods are unavailable at once (pods already not Ready count).
//     Serial takes one pod at a time; BestEffortParallel takes more than one only while a majority
//     of the pods whose role participates in quorum stays available; Parallel takes as many as maxUnavailable allows.
//  1b. When the reconciler supplies replication facts (`PlanInput.replication`), an updated
//     secondary that does not replicate from the current primary with a live link, or has not
//     caught up, stops the update too: it is Ready before its first sync ends, and replacing the
//     next pod (or switching over) then leaves nobody to acknowledge semi-sync commits or WAIT.
//  4. A pod holding an exclusive role (the primary) is touched only when every other pod is
//     updated, Ready and has a role; if an updated Ready secondary exists, the plan asks for a
//     switchover first (`switchoverBefore`) instead of updating it; with `handOffOnly` (a spread
//     shard: the secondaries may all be in other member clusters) it always asks.
import type { MemberUpdateStrategy, Role, RoleDefinition } from '../../schemas/types/index.js';

export interface PlanPod {
  name: string;
  revision?: string;
  /** The revision this pod must carry (its instance template's); defaults to the plan's updateRevision. */
  updateRevision?: string;
  ready: boolean;
  role?: Role;
  /** Pods being deleted (or already replaced but not yet back) are unavailable and not updated again. */
  terminating?: boolean;
  /** What the engine says about this pod's replication (gathered at the edge; see rule 1b). */
  replication?: ReplicationFact;
}

export interface ReplicationFact {
  /** Follows the current primary and the link is up (Redis master_link_status; MariaDB IO and SQL threads). */
  replicating: boolean;
  /** Has (nearly) everything the primary had when the primary was probed. */
  caughtUp: boolean;
  /** Why not, for status and Events: "link down", "1520 bytes behind", "follows 10.244.0.9:6379". */
  detail?: string;
}

export interface PlanInput {
  pods: PlanPod[];
  updateRevision: string;
  roles?: RoleDefinition[];
  memberUpdateStrategy: MemberUpdateStrategy;
  /** A count or a percentage of the pods ("25%"); at least 1. Default 1. */
  maxUnavailable?: number | string;
  /**
   * Present when the engine replicates: every updated secondary must then carry a fact that it
   * replicates from `primary` and caught up before the next pod is touched (rule 1b). A pod
   * without a fact counts as not known to replicate.
   */
  replication?: { primary?: string };
  /** Why no outdated pod may be replaced now (federationHold: a spread shard held by the federation manager). */
  hold?: string;
  /**
   * The primary is never replaced in place, even with no other pod here to hand off to: a spread
   * shard's primary alone in its member cluster is handed over by the federation authority to a
   * secondary in another member cluster first (docs/federation.md), so rule 4 asks for a switchover.
   */
  handOffOnly?: boolean;
}

/**
 * A spread shard's member clusters update in the order of the change DAG (docs/federation.md#the-change-dag-executed):
 * the federation manager lets this member cluster's rolling update run by publishing the
 * InstanceSet's generation as status.federation.updateGeneration (the canary at once, the others
 * once the canary's secondaries are updated and healthy). Until it does, no outdated pod is
 * replaced here: the reason, or undefined when the update may run (or the set is not spread).
 */
export function federationHold(is: {
  metadata: { generation?: number };
  spec: { spread?: unknown };
  status?: { federation?: { updateGeneration?: number; updateWaiting?: string } };
}): string | undefined {
  if (is.spec.spread === undefined) return undefined;
  const f = is.status?.federation;
  if (f?.updateGeneration !== undefined && f.updateGeneration === is.metadata.generation) return undefined;
  return `the federation manager has not let this member cluster update the spread shard yet${f?.updateWaiting !== undefined && f.updateWaiting !== '' ? `: ${f.updateWaiting}` : ''}`;
}

export interface UpdatePlan {
  /** Pods to replace now (delete so the reconciler recreates them at the update revision). */
  next: string[];
  /** The primary that must hand its role off before it may be touched. */
  switchoverBefore?: string;
  /** Updated, Ready secondaries the switchover may move the role to, best first. */
  switchoverCandidates?: string[];
  /** Why nothing (or less than everything) is updated now, for status and Events. */
  waitingFor?: string;
  /** Every pod carries its update revision and is Ready. */
  done: boolean;
}

export function ordinalOf(podName: string): number {
  const m = /-(\d+)$/.exec(podName);
  return m ? Number(m[1]) : -1;
}

export function resolveMaxUnavailable(v: number | string | undefined, total: number): number {
  if (v === undefined) return 1;
  if (typeof v === 'number') return Math.max(1, Math.floor(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) return Math.max(1, Math.floor((Number(m[1]) * total) / 100));
  const n = Number(v);
  if (Number.isInteger(n)) return Math.max(1, n);
  throw new Error(`maxUnavailable "${v}" is neither a count nor a percentage like "25%"`);
}

export function isOutdated(p: PlanPod, updateRevision: string): boolean {
  return p.revision !== (p.updateRevision ?? updateRevision);
}

export function planUpdate(input: PlanInput): UpdatePlan {
  const { pods, roles = [] } = input;
  const target = input.updateRevision;
  const hasRoles = roles.length > 0;
  const roleDef = (r: Role | undefined): RoleDefinition | undefined => roles.find((d) => d.name === r);
  const priority = (p: PlanPod): number => roleDef(p.role)?.updatePriority ?? 0;
  const exclusive = (p: PlanPod): boolean => roleDef(p.role)?.isExclusive === true;
  const available = (p: PlanPod): boolean => p.ready && !p.terminating;

  const outdated = pods.filter((p) => isOutdated(p, target));
  const updated = pods.filter((p) => !isOutdated(p, target));
  const settled = (p: PlanPod): boolean => available(p) && (!hasRoles || p.role !== undefined);

  if (outdated.length === 0) {
    const pending = updated.find((p) => !settled(p));
    return pending
      ? { next: [], done: false, waitingFor: waitReason(pending, hasRoles) }
      : { next: [], done: true };
  }

  // Held by the federation manager (federationHold): nothing is replaced.
  if (input.hold !== undefined) return { next: [], done: false, waitingFor: input.hold };

  // Rule 1.
  const unsettled = updated.filter((p) => !settled(p)).sort(byName);
  if (unsettled.length > 0) {
    return { next: [], done: false, waitingFor: waitReason(unsettled[0]!, hasRoles) };
  }

  // Rule 1b.
  if (input.replication !== undefined && hasRoles) {
    const lagging = updated
      .filter((p) => p.role !== undefined && !exclusive(p) && !(p.replication?.replicating === true && p.replication.caughtUp))
      .sort(byName);
    if (lagging.length > 0) {
      return { next: [], done: false, waitingFor: lagReason(lagging[0]!, input.replication.primary) };
    }
  }

  // Rule 2.
  const order = outdated
    .filter((p) => !p.terminating)
    .sort((a, b) => priority(a) - priority(b) || ordinalOf(b.name) - ordinalOf(a.name) || byName(a, b));

  // Rule 3.
  const maxUnavailable =
    input.memberUpdateStrategy === 'Serial' ? 1 : resolveMaxUnavailable(input.maxUnavailable, pods.length);
  const unavailable = new Set(pods.filter((p) => !available(p)).map((p) => p.name));
  const quorum = pods.filter((p) => roleDef(p.role)?.participatesInQuorum === true);
  const quorumMinAvailable = Math.floor(quorum.length / 2) + 1;
  const quorumNames = new Set(quorum.map((p) => p.name));

  const next: string[] = [];
  let waitingFor: string | undefined;
  let switchoverBefore: string | undefined;
  let switchoverCandidates: string[] | undefined;
  for (const p of order) {
    if (exclusive(p)) {
      // Rule 4: the primary goes last, alone, after everything else settled.
      const others = pods.filter((o) => o.name !== p.name);
      const othersDone = others.every((o) => !isOutdated(o, target) && settled(o));
      if (!othersDone || next.length > 0) {
        waitingFor ??= `primary ${p.name} is updated last, after the other pods`;
        break;
      }
      const candidates = others
        .filter((o) => settled(o) && o.role !== undefined && !roleDef(o.role)?.isExclusive)
        .map((o) => o.name)
        .sort((a, b) => ordinalOf(a) - ordinalOf(b) || (a < b ? -1 : 1));
      if (candidates.length > 0) {
        switchoverBefore = p.name;
        switchoverCandidates = candidates;
        waitingFor = `switchover of primary ${p.name} to an updated secondary before it is updated`;
        break;
      }
      if (input.handOffOnly === true) {
        switchoverBefore = p.name;
        switchoverCandidates = [];
        waitingFor = `switchover of primary ${p.name} to an updated secondary in another member cluster before it is updated`;
        break;
      }
      // Nobody to hand off to (a single pod): updating it is the only way forward.
      if (unavailable.size > 0 && !unavailable.has(p.name)) {
        waitingFor = `${[...unavailable].sort()[0]} is not Ready`;
        break;
      }
      next.push(p.name);
      break;
    }
    const wouldBeUnavailable = new Set([...unavailable, ...next, p.name]);
    if (wouldBeUnavailable.size > maxUnavailable && !unavailable.has(p.name)) {
      waitingFor ??=
        next.length === 0
          ? `${[...unavailable].sort()[0] ?? p.name} is not Ready (maxUnavailable ${maxUnavailable})`
          : `maxUnavailable ${maxUnavailable} reached`;
      continue; // a later pod that is already unavailable may still be replaced
    }
    // The first pod is always allowed (as in Serial): a 2-member quorum could never update otherwise.
    if (input.memberUpdateStrategy === 'BestEffortParallel' && next.length > 0 && quorumNames.has(p.name)) {
      const down = [...wouldBeUnavailable].filter((n) => quorumNames.has(n)).length;
      if (quorum.length - down < quorumMinAvailable && !unavailable.has(p.name)) {
        waitingFor ??= `keeping a quorum of ${quorumMinAvailable} of ${quorum.length} available`;
        continue;
      }
    }
    next.push(p.name);
    if (input.memberUpdateStrategy === 'Serial') break;
  }
  const plan: UpdatePlan = { next, done: false };
  if (switchoverBefore) plan.switchoverBefore = switchoverBefore;
  if (switchoverCandidates) plan.switchoverCandidates = switchoverCandidates;
  if (waitingFor) plan.waitingFor = waitingFor;
  else if (next.length === 0 && order.length < outdated.length) plan.waitingFor = 'outdated pods are terminating';
  return plan;
}

function byName(a: PlanPod, b: PlanPod): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function lagReason(p: PlanPod, primary: string | undefined): string {
  const f = p.replication;
  const why = f?.detail ?? (f === undefined ? 'replication state unknown' : !f.replicating ? 'link down' : 'behind');
  if (p.name === primary) return `waiting for the role labels: ${why}`;
  return `waiting for ${p.name} to catch up with ${primary ?? 'the primary'}: ${why}`;
}

function waitReason(p: PlanPod, hasRoles: boolean): string {
  if (p.terminating) return `updated pod ${p.name} is terminating`;
  if (!p.ready) return `updated pod ${p.name} is not Ready yet`;
  return hasRoles ? `updated pod ${p.name} has no role yet` : `updated pod ${p.name} is not available`;
}
