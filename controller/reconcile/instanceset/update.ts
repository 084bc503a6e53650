// The rolling-update and switchover step of the InstanceSet reconcile (UPDATES' step; the
// reconciler calls it after creating missing pods and before writing status):
//  - a manual switchover request (annotation dbtopo.dev/switchover: <pod|any>) becomes intent in
//    status (status.switchover Requested) and the annotation is removed;
//  - planUpdate() decides which outdated pods to replace now; the step deletes them (the next
//    pass recreates them at the update revision) or, when only the primary is left, asks for a
//    switchover to an updated secondary first (Requested again) and waits until the role loop
//    (controller/roles/) has carried it out. Events say what the update does and why it waits;
//  - before it acts on a plan it probes the engines and re-plans with each updated secondary's
//    replication fact (follows the primary with a live link, caught up), so a replaced replica
//    is back in the replication before the next pod is touched (planUpdate rule 1b).
// The step changes no engine: it probes them (read-only) and files intent; the role loop, which
// owns the engines' roles, switches over.
import * as k8s from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS, type InstanceSet, type KubeObject, type Role } from '../../../schemas/types/index.js';
import { CredentialsReader } from '../../engines/credentials.js';
import { engineFor, hasRoles } from '../../engines/index.js';
import type { EngineTarget, ProbeResult } from '../../engines/types.js';
import { keyOf, type ControllerContext } from '../../runtime/context.js';
import { federationHold, isOutdated, planUpdate, type PlanInput, type PlanPod, type ReplicationFact, type UpdatePlan } from '../../update/plan.js';
import type { DesiredPod } from './desired.js';
import type { ObjectRef } from './plan.js';
import { isReady, isTerminating } from './pods.js';
import { finishRecord, isOpen, requestRecord, settleOrphan, startRecord, USER_REQUEST } from './switchover-record.js';
import { currentRecord } from './switchover-store.js';
import type { Commit } from './commit.js';
import { engineTargets } from './targets.js';

export interface UpdateStepResult {
  /** Outdated pods to delete now; the reconciler recreates them at the update revision. */
  deletePods: ObjectRef[];
  waiting?: string;
  requeueAfterMs?: number;
}

// Deletions this controller asked for, by pod uid, until the pod cache shows them (controller-runtime's
// "expectations", kept in ctx.memory.deleting): a reconcile that runs before the watch event
// arrives must not pick — and announce — the same pod again.
const DELETE_EXPECTATION_MS = 30_000;

/** Called by the reconciler once the API server accepted the deletion of an outdated pod. */
export function expectDeletion(ctx: ControllerContext, uid: string | undefined): void {
  if (uid !== undefined) ctx.memory.deleting.set(uid, Date.now() + DELETE_EXPECTATION_MS);
}

/** The observed pods with those whose deletion we already requested marked as terminating. */
function withExpectedDeletions(deleting: Map<string, number>, pods: KubeObject[], now: number): KubeObject[] {
  for (const [uid, until] of deleting) if (until < now || !pods.some((p) => p.metadata.uid === uid)) deleting.delete(uid);
  return pods.map((p) =>
    p.metadata.uid !== undefined && deleting.has(p.metadata.uid) && !isTerminating(p)
      ? { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(now).toISOString() } }
      : p,
  );
}

/** Looks at a linked replica that trails the primary, CATCH_UP_LOOK_MS apart (at most ~0.4 s per pass). */
const CATCH_UP_LOOKS = 5;
const CATCH_UP_LOOK_MS = 100;

export interface ProbedPod {
  name: string;
  target: EngineTarget;
  probe: ProbeResult;
}

/**
 * Pure: the replication facts of `replicas` (probed after `primary`): each must follow the
 * primary's address with its link up and be at most `maxBehind.limit` behind the primary's offset.
 */
export function replicationFacts(
  primary: ProbedPod | undefined,
  replicas: Array<{ name: string; probe: ProbeResult }>,
  maxBehind: { limit: number; unit: string },
): Map<string, ReplicationFact> {
  const out = new Map<string, ReplicationFact>();
  for (const r of replicas) {
    const f = r.probe.following;
    let fact: ReplicationFact;
    if (primary === undefined) fact = { replicating: false, caughtUp: false, detail: 'no single primary in the engines' };
    else if (!r.probe.reachable) fact = { replicating: false, caughtUp: false, detail: `unreachable (${r.probe.error ?? 'no answer'})` };
    else if (f === undefined) fact = { replicating: false, caughtUp: false, detail: 'replicates from nobody' };
    else if (f.host !== primary.target.host || f.port !== primary.target.port) {
      fact = { replicating: false, caughtUp: false, detail: `follows ${f.host}:${f.port}, not ${primary.name}` };
    } else if (!f.linkUp) fact = { replicating: false, caughtUp: false, detail: `link down${r.probe.error ? ` (${r.probe.error})` : ''}` };
    else if (primary.probe.offset === undefined || r.probe.offset === undefined) {
      fact = { replicating: true, caughtUp: false, detail: 'offset unknown' };
    } else {
      const behind = Math.max(0, primary.probe.offset - r.probe.offset);
      fact = behind <= maxBehind.limit ? { replicating: true, caughtUp: true } : { replicating: true, caughtUp: false, detail: `${behind} ${maxBehind.unit} behind` };
    }
    out.set(r.name, fact);
  }
  return out;
}

/** Pure: the plan input from the observed pods and their desired revisions. */
export function planPods(desired: DesiredPod[], pods: KubeObject[]): PlanPod[] {
  const want = new Map(desired.map((d) => [d.name, d.revision]));
  return pods
    .filter((p) => want.has(p.metadata.name))
    .map((p) => {
      const role = p.metadata.labels?.[LABELS.role] as Role | undefined;
      const revision = p.metadata.labels?.[LABELS.revision];
      return {
        name: p.metadata.name,
        ...(revision !== undefined ? { revision } : {}),
        updateRevision: want.get(p.metadata.name)!,
        ready: isReady(p),
        ...(role !== undefined ? { role } : {}),
        terminating: isTerminating(p),
      };
    });
}

export async function updateStep(ctx: ControllerContext, commit: Commit, is: InstanceSet, desired: DesiredPod[], pods: KubeObject[]): Promise<UpdateStepResult> {
  const key = keyOf(is.metadata.namespace, is.metadata.name);
  if (is.spec.paused === true || is.metadata.deletionTimestamp !== undefined) return { deletePods: [] };
  // Pods still being created: the creation path owns them; roll only a complete set.
  if (desired.some((d) => !pods.some((p) => p.metadata.name === d.name))) return { deletePods: [] };

  settleOrphanedSwitchover(ctx, commit, is, pods);
  const request = is.metadata.annotations?.[ANNOTATIONS.switchover];
  if (request !== undefined && (is.spec.roles?.length ?? 0) > 0) {
    handleRequest(ctx, commit, is, pods, request);
    return { deletePods: [], requeueAfterMs: 1_000 };
  }

  const input: PlanInput = {
    pods: planPods(desired, withExpectedDeletions(ctx.memory.deleting, pods, Date.now())),
    updateRevision: desired[0]?.revision ?? '',
    roles: is.spec.roles ?? [],
    memberUpdateStrategy: is.spec.memberUpdateStrategy,
    ...(is.spec.instanceUpdateStrategy?.rollingUpdate?.maxUnavailable !== undefined
      ? { maxUnavailable: is.spec.instanceUpdateStrategy.rollingUpdate.maxUnavailable }
      : {}),
    // A spread shard's primary is handed over by the federation authority, possibly to another member cluster.
    ...(is.spec.spread !== undefined ? { handOffOnly: true } : {}),
  };
  const held = federationHold(is);
  if (held !== undefined) input.hold = held;
  let plan: UpdatePlan = planUpdate(input);
  // About to act: ask the engines whether the updated secondaries are back in the replication.
  if ((plan.next.length > 0 || plan.switchoverBefore !== undefined) && needsReplicationFacts(is, input)) {
    const facts = await gatherReplication(ctx, is, pods, input.pods, input.updateRevision);
    plan = planUpdate({ ...input, pods: facts.pods, replication: facts.primary !== undefined ? { primary: facts.primary } : {} });
  }
  const lastWaiting = ctx.memory.updateWaiting;
  if (plan.done) {
    lastWaiting.delete(key);
    withdrawUpdateRequest(ctx, commit, is);
    return { deletePods: [] };
  }
  if (plan.switchoverBefore !== undefined) {
    const from = plan.switchoverBefore;
    const candidates = plan.switchoverCandidates ?? [];
    const replicas = pods.filter((p) => p.metadata.name !== from && !isTerminating(p)).map((p) => p.metadata.name);
    // Any updated secondary will do: let the engine pick the most advanced unless that could be an outdated one.
    const to = candidates.length === replicas.length ? undefined : candidates[0];
    requestSwitchover(ctx, commit, is, from, to, `before updating ${from}`);
    return { deletePods: [], waiting: plan.waitingFor ?? `switchover of ${from}`, requeueAfterMs: 1_000 };
  }
  if (plan.next.length > 0) {
    const from = new Map(pods.map((p) => [p.metadata.name, p.metadata.labels?.[LABELS.revision] ?? '(none)']));
    for (const name of plan.next) {
      const role = pods.find((p) => p.metadata.name === name)?.metadata.labels?.[LABELS.role];
      ctx.events.emit(is, 'Normal', 'RollingUpdate', 'Update', `replacing ${role ?? 'pod'} ${name}: revision ${from.get(name)} → ${desired.find((d) => d.name === name)?.revision}`);
    }
  }
  // A lag figure changes every pass; one Event per reason, not per figure.
  const reason = plan.waitingFor?.replace(/: \d+ \w+ behind$/, ': behind');
  if (plan.waitingFor !== undefined && lastWaiting.get(key) !== reason) {
    lastWaiting.set(key, reason!);
    ctx.events.emit(is, 'Normal', 'UpdateWaiting', 'Update', `rolling update waits: ${plan.waitingFor}`);
  }
  const deletePods = plan.next.map((name) => ({ name, uid: pods.find((p) => p.metadata.name === name)?.metadata.uid }));
  return {
    deletePods,
    ...(plan.waitingFor !== undefined ? { waiting: plan.waitingFor, requeueAfterMs: 2_000 } : {}),
  };
}

/** Facts matter for sets whose engine replicates to secondaries that are already updated. */
function needsReplicationFacts(is: InstanceSet, input: PlanInput): boolean {
  const roles = is.spec.roles ?? [];
  const secondaryRoles = new Set(roles.filter((r) => r.isExclusive !== true).map((r) => r.name));
  if (!roles.some((r) => r.isExclusive === true) || !hasRoles(is.spec.engine.type)) return false;
  return input.pods.some((p) => p.role !== undefined && secondaryRoles.has(p.role) && !isOutdated(p, input.updateRevision));
}

/**
 * Probes every pod, takes the one the engines call primary (there must be exactly one), then
 * probes the updated secondaries again so their offsets are read after the primary's.
 */
async function gatherReplication(ctx: ControllerContext, is: InstanceSet, pods: KubeObject[], planned: PlanPod[], updateRevision: string): Promise<{ pods: PlanPod[]; primary?: string }> {
  const driver = engineFor(is.spec.engine.type);
  if (driver === undefined) return { pods: planned };
  try {
    const targets = await targetsOf(ctx, is, pods);
    const first = await Promise.all([...targets.values()].map(async (t) => ({ name: t.podName, target: t, probe: await driver.probe(t, 2_000) })));
    const primaries = first.filter((p) => p.probe.role === 'primary');
    const primary = primaries.length === 1 ? primaries[0] : primaries.length === 0 && is.spec.spread !== undefined ? await remotePrimary(driver, first) : undefined;
    const wanted = planned.filter((p) => p.name !== primary?.name && p.role !== undefined && !isOutdated(p, updateRevision));
    const second = await Promise.all(
      wanted.map(async (p) => {
        const t = targets.get(p.name);
        if (t === undefined) return { name: p.name, probe: { reachable: false, error: 'no address' } satisfies ProbeResult };
        // A live replica under write load trails by its apply lag, whatever the write rate: give
        // it a few short looks to reach where the primary was, so the bound stays small.
        let probe = await driver.probe(t, 2_000);
        const target = primary?.probe.offset;
        for (let i = 1; i < CATCH_UP_LOOKS && probe.following?.linkUp === true && target !== undefined && probe.offset !== undefined && target - probe.offset > driver.maxBehind.limit; i++) {
          await new Promise((res) => setTimeout(res, CATCH_UP_LOOK_MS));
          probe = await driver.probe(t, 2_000);
        }
        return { name: p.name, probe };
      }),
    );
    const facts = replicationFacts(primary, second, driver.maxBehind);
    // Right after a switchover the new primary still carries its secondary label for a probe period.
    if (primary !== undefined) facts.set(primary.name, { replicating: false, caughtUp: false, detail: `${primary.name} is the primary in the engine; its label lags` });
    return {
      pods: planned.map((p) => (facts.has(p.name) ? { ...p, replication: facts.get(p.name)! } : p)),
      ...(primary !== undefined ? { primary: primary.name } : {}),
    };
  } catch (err) {
    // No facts: the plan waits with "replication state unknown" and the next pass asks again.
    ctx.log.info({ instanceSet: keyOf(is.metadata.namespace, is.metadata.name), err: err instanceof Error ? err.message : String(err) }, 'could not probe replication for the rolling update');
    return { pods: planned };
  } finally {
    await driver.close();
  }
}

/**
 * A spread shard whose primary runs in another member cluster (none here claims primary): the one
 * engine every linked replica here follows, probed directly (pods reach each other across member
 * clusters; the shard's credentials are the same everywhere), when it answers as primary — so the
 * updated secondaries here are judged against it (rule 1b) as against a local primary.
 */
export async function remotePrimary(driver: { probe(t: EngineTarget, timeoutMs: number): Promise<ProbeResult> }, local: ProbedPod[]): Promise<ProbedPod | undefined> {
  const followed = new Map(local.flatMap((p) => (p.probe.following?.linkUp === true ? [[`${p.probe.following.host}:${p.probe.following.port}`, p] as const] : [])));
  if (followed.size !== 1) return undefined;
  const [via] = [...followed.values()];
  const f = via!.probe.following!;
  const target: EngineTarget = { ...via!.target, host: f.host, port: f.port, podName: `${f.host}:${f.port}` };
  const probe = await driver.probe(target, 2_000);
  return probe.role === 'primary' ? { name: target.podName, target, probe } : undefined;
}

function handleRequest(ctx: ControllerContext, commit: Commit, is: InstanceSet, pods: KubeObject[], request: string): void {
  const primary = pods.find((p) => p.metadata.labels?.[LABELS.role] === 'primary')?.metadata.name;
  const to = request === 'any' || request === '' ? undefined : request;
  if (primary !== undefined && primary === to) {
    ctx.events.emit(is, 'Normal', 'Switchover', 'Switchover', `${to} already is the primary`);
  } else if (primary === undefined) {
    const msg = 'no pod is labelled primary; retry when the roles are known';
    ctx.events.emit(is, 'Warning', 'SwitchoverFailed', 'Switchover', msg);
    const now = ctx.now();
    commit.record(finishRecord(startRecord('(none)', to, USER_REQUEST, now), 'Failed', msg, now));
  } else {
    // A switchover is running right now: the annotation stays, and is filed when that one ended.
    if (!requestSwitchover(ctx, commit, is, primary, to, USER_REQUEST, true)) return;
  }
  // Filed as intent in status (or refused): the request is consumed either way; the record and
  // the Events say what became of it.
  commit.consumeSwitchoverRequest();
}

/**
 * Scale-in or offlineInstances would remove the pod holding the primary (plan.ts holds it back):
 * ask for the role to move to `to`, a Ready secondary that stays, first. `to` undefined: none is
 * yet; the next pass asks again.
 */
export function switchoverBeforeRemoval(ctx: ControllerContext, commit: Commit, is: InstanceSet, from: string, to: string | undefined): void {
  if (to === undefined) return;
  requestSwitchover(ctx, commit, is, from, to, `before removing ${from} (scale in / offline)`);
}

/** A Running record no live switchover of this controller stands behind: settle it from the labels. */
function settleOrphanedSwitchover(ctx: ControllerContext, commit: Commit, is: InstanceSet, pods: KubeObject[]): void {
  const key = keyOf(is.metadata.namespace, is.metadata.name);
  const mine = ctx.memory.switchovers.get(key);
  const rec = currentRecord(ctx, is);
  const startedHere = mine !== undefined && mine.startedAt === rec?.startedAt;
  const primary = pods.find((p) => p.metadata.labels?.[LABELS.role] === 'primary')?.metadata.name;
  const settled = settleOrphan(rec, startedHere || ctx.memory.locks.isBusy(key), primary, ctx.now());
  if (settled === undefined) return;
  ctx.events.emit(is, settled.phase === 'Failed' ? 'Warning' : 'Normal', settled.phase === 'Failed' ? 'SwitchoverFailed' : 'SwitchoverDone', 'Switchover', settled.message ?? '');
  commit.record(settled);
}

/**
 * Files a switchover as intent: status.switchover Requested, which the role loop carries out
 * (controller/roles/decide.ts, step 6) — it probes the engines, waits for a linked replica, and
 * writes Running, then Succeeded or Failed. One at a time: while a request is open nothing new is
 * filed, except a user's, which replaces one nobody started yet. false: not filed (one is open).
 */
function requestSwitchover(ctx: ControllerContext, commit: Commit, is: InstanceSet, from: string, to: string | undefined, why: string, replace = false): boolean {
  const key = keyOf(is.metadata.namespace, is.metadata.name);
  const lastWaiting = ctx.memory.updateWaiting;
  if (is.spec.spread !== undefined) {
    // Promoting a replica of a spread shard here would leave the other member clusters' replicas
    // following the old primary: the hand-off is the federation authority's, like the election.
    const msg = `no switchover from ${from} (${why}): the shard is spread over member clusters ${is.spec.spread.memberClusters.join(', ')} and this member cluster never promotes a pod of it on its own: waiting for the federation authority`;
    if (lastWaiting.get(key) !== msg) ctx.events.emit(is, 'Warning', 'WaitingForFederation', 'Switchover', msg);
    lastWaiting.set(key, msg);
    return true;
  }
  if (ctx.roleLoop === false) {
    // Nothing here would carry the request out: a user's fails now (the CLI and the record say
    // why); an update's stays a waiting rollout with the reason in its status and one Event.
    const msg = `no switchover from ${from} (${why}): this controller runs without role probes (--no-role-probes), so no role loop carries one out; run it with role probes, or move the primary by hand`;
    if (why === USER_REQUEST) {
      ctx.events.emit(is, 'Warning', 'SwitchoverFailed', 'Switchover', msg);
      const now = ctx.now();
      commit.record(finishRecord(requestRecord(from, to, why, now), 'Failed', msg, now));
    } else if (lastWaiting.get(key) !== msg) {
      ctx.events.emit(is, 'Warning', 'UpdateWaiting', 'Update', msg);
      lastWaiting.set(key, msg);
    }
    return true;
  }
  const open = currentRecord(ctx, is);
  if (isOpen(open) && !(replace && open.phase === 'Requested')) return false;
  commit.record(requestRecord(from, to, why, ctx.now()));
  return true;
}

/** The update finished without the switchover it asked for (e.g. the template was reverted): withdraw the request. */
function withdrawUpdateRequest(ctx: ControllerContext, commit: Commit, is: InstanceSet): void {
  const open = currentRecord(ctx, is);
  if (open?.phase !== 'Requested' || !open.reason.startsWith('before updating')) return;
  commit.record(finishRecord(open, 'Failed', 'withdrawn: the rolling update finished without it', ctx.now()));
}

function targetsOf(ctx: ControllerContext, is: InstanceSet, pods: KubeObject[]): Promise<Map<string, EngineTarget>> {
  ctx.memory.credentials ??= new CredentialsReader(ctx.client.kc.makeApiClient(k8s.CoreV1Api));
  return engineTargets(ctx.memory.credentials, is, pods);
}
