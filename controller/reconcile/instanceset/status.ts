// InstanceSet status from the observed pods. Pure; the reconciler writes it last, and only when
// it differs from what is stored (so a controller at rest writes nothing).
import {
  LABELS,
  type Condition,
  type ConditionType,
  type InstanceSet,
  type InstanceSetStatus,
  type KubeObject,
  type MemberStatus,
  type Role,
  type SwitchoverStatus,
} from '../../../schemas/types/index.js';
import { defaultRevision, type DesiredPod } from './desired.js';
import { ordinalOf } from './ordinals.js';
import { heldMessage } from './plan.js';
import { isReady, isTerminating, readySince } from './pods.js';
import { lastPrimaryOf, newerRecord } from './switchover-record.js';
import { canonicalJson } from '../../update/revision.js';

/** spec.selector as a string (status.selector, for the scale subresource). */
export function selectorString(sel: InstanceSet['spec']['selector']): string {
  const parts = Object.entries(sel.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

export interface ComputedStatus {
  status: InstanceSetStatus;
  /** ms until a Ready pod becomes available (minReadySeconds), when one is pending. */
  recheckAfterMs?: number;
}

function condition(type: ConditionType, ok: boolean, reason: string, message: string, now: string, prev: Condition[] | undefined, generation: number | undefined): Condition {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  // lastTransitionTime only moves when the status flips, so an unchanged world gives an unchanged status.
  const lastTransitionTime = old !== undefined && old.status === status ? old.lastTransitionTime : now;
  return { type, status, reason, message, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

/** What computeStatus reads besides the InstanceSet and its pods. */
export interface StatusInputs {
  /**
   * Why the rolling update does not move now (update step), shown in an `Updated` condition while
   * pods are outdated or the step waits.
   */
  updateWaiting?: string;
  /** The switchover record this controller wrote last (switchover-record.ts); the newer of it and status's is kept. */
  switchover?: SwitchoverStatus;
  /** The error that stopped this reconcile's steps (reconciler.ts): shown in the Ready condition. */
  error?: string;
  /** Spread shards: pods that left spec, kept until the federation manager releases them (plan.ts). */
  held?: string[];
}

export function computeStatus(is: InstanceSet, desired: DesiredPod[], pods: KubeObject[], nowMs: number, inputs: StatusInputs = {}): ComputedStatus {
  const { updateWaiting, switchover } = inputs;
  const setName = is.metadata.name;
  const prev = is.status;
  const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const live = pods.filter((p) => p.metadata.labels?.[LABELS.instanceSet] === setName && !isTerminating(p));
  const revisionOf = new Map(desired.map((d) => [d.name, d.revision]));
  const minReadyMs = (is.spec.minReadySeconds ?? 0) * 1000;

  let ready = 0;
  let available = 0;
  let updated = 0;
  let recheckAfterMs: number | undefined;
  for (const p of live) {
    const since = readySince(p);
    if (since !== undefined) {
      ready++;
      const left = since + minReadyMs - nowMs;
      if (left <= 0) available++;
      else recheckAfterMs = Math.min(recheckAfterMs ?? left, left);
    }
    if (revisionOf.get(p.metadata.name) === p.metadata.labels?.[LABELS.revision]) updated++;
  }

  const members: MemberStatus[] = live
    .map((p) => {
      const role = p.metadata.labels?.[LABELS.role] as Role | undefined;
      return { podName: p.metadata.name, ...(role !== undefined ? { role } : {}), ready: isReady(p) };
    })
    .sort((a, b) => (ordinalOf(setName, a.podName) ?? 0) - (ordinalOf(setName, b.podName) ?? 0));
  const primaries = members.filter((m) => m.role === 'primary');

  const updateRevision = defaultRevision(is);
  const allUpdated = updated === live.length && live.length === desired.length;
  const missing = desired.filter((d) => !live.some((p) => p.metadata.name === d.name)).length;
  const allReady = missing === 0 && ready === desired.length && live.length === desired.length;
  const gen = is.metadata.generation;
  const conditions: Condition[] = [
    condition(
      'Ready',
      allReady,
      allReady ? 'AllReplicasReady' : 'ReplicasNotReady',
      (allReady ? `${ready}/${desired.length} pods ready` : `${ready}/${desired.length} pods ready, ${missing} missing`) + (inputs.error !== undefined ? `; the last reconcile failed: ${inputs.error}` : ''),
      now,
      prev?.conditions,
      gen,
    ),
  ];
  if (!allUpdated || updateWaiting !== undefined) {
    const message = `${updated}/${desired.length} pods at the update revision${updateWaiting !== undefined ? `; waiting: ${updateWaiting}` : ''}`;
    conditions.push(condition('Updated', false, 'RollingUpdate', message, now, prev?.conditions, gen));
  }
  if (is.spec.spread !== undefined && (is.spec.roles?.length ?? 0) > 0) {
    // Nobody here promotes a pod of a spread shard (roles.ts): say whether a primary is labelled here and why not.
    const over = `shard spread over member clusters ${is.spec.spread.memberClusters.join(', ')}`;
    const here = primaries[0]?.podName;
    const chosen = prev?.federation?.primary;
    conditions.push(
      here !== undefined && primaries.length === 1
        ? condition('Primary', true, 'EngineReported', `${here} is primary (its engine says so, the federation manager chose it) of this ${over}`, now, prev?.conditions, gen)
        : chosen !== undefined && ((prev?.federation?.memberCluster !== undefined && chosen.memberCluster !== prev.federation.memberCluster) || !members.some((m) => m.podName === chosen.pod))
          ? condition('Primary', false, 'PrimaryInOtherMemberCluster', `the primary of this ${over} is ${chosen.pod} in member cluster ${chosen.memberCluster} (the federation manager's choice)`, now, prev?.conditions, gen)
          : condition('Primary', false, 'WaitingForFederation', `no pod here is primary; this member cluster never promotes a pod of this ${over}: waiting for the federation authority to choose the primary`, now, prev?.conditions, gen),
    );
  }
  if (inputs.held !== undefined && inputs.held.length > 0) conditions.push(condition('Held', true, 'WaitingForFederation', heldMessage(inputs.held), now, prev?.conditions, gen));
  const record = newerRecord(prev?.switchover, switchover);
  if (record?.phase === 'Failed') conditions.push(condition('SwitchoverFailed', true, 'SwitchoverFailed', `switchover from ${record.from} failed: ${record.message ?? 'no reason recorded'}`, now, prev?.conditions, gen));
  if (is.spec.paused === true) conditions.push(condition('Paused', true, 'Paused', 'spec.paused is set: pods are not changed', now, prev?.conditions, gen));

  const lastPrimary = lastPrimaryOf(prev, primaries.length === 1 ? primaries[0]?.podName : undefined);
  const status: InstanceSetStatus = {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    replicas: live.length,
    readyReplicas: ready,
    availableReplicas: available,
    updatedReplicas: updated,
    currentRevision: allUpdated ? updateRevision : (prev?.currentRevision ?? updateRevision),
    updateRevision,
    membersStatus: members,
    ...(primaries.length === 1 && primaries[0] !== undefined ? { primary: primaries[0].podName } : {}),
    ...(lastPrimary !== undefined ? { lastPrimary } : {}),
    ...(record !== undefined ? { switchover: record } : {}),
    selector: selectorString(is.spec.selector),
    conditions,
  };
  return { status, ...(recheckAfterMs !== undefined ? { recheckAfterMs } : {}) };
}

/**
 * Equal in what this controller writes: status.federation is the federation manager's (its own
 * field manager); this controller never writes it back, or a stale cache could undo a newer decision.
 */
export function statusEqual(a: InstanceSetStatus | undefined, b: InstanceSetStatus | undefined): boolean {
  const own = (s: InstanceSetStatus | undefined): InstanceSetStatus => {
    const { federation: _federation, ...rest } = s ?? {};
    return rest;
  };
  return canonicalJson(own(a)) === canonicalJson(own(b));
}
