// The change DAG of a spread shard, executed: the steps `dbtopo plan` prints for a change to it
// (compiler/rollout/spread-steps.ts, the ONE function both use), each given a state from what the
// manager observes this round — never from a status written earlier (a status not rewritten
// since the spec changed would call every step done: the bug class of Argo CD #29410, OCM #1207):
//   - update-secondaries@<m>: every server of member cluster <m> but the primary at the revision
//     its spec gives now (gather.ts computes it from the spec just read), Ready, and replicating
//     from the recorded primary (the engine says so);
//   - switchover@_federation: the recorded primary is at its revision (handed over, or never
//     outdated);
//   - update-primary@_federation: every server updated, Ready, the others replicating.
// A step runs once every step before it is done; the member clusters' controllers replace pods on
// their own, so the manager lets a member cluster's rolling update run (status.federation
// .updateGeneration of its InstanceSet, read by controller/update/plan.ts federationHold) only
// once its step may run: the canary member cluster first, the others once the canary's
// secondaries are updated and healthy; a rolling update's switchover acts only once its step may
// run (gateSwitchover). The display is monotone within one change (a step shown Done, with every
// step before it, stays Done until the change is over: after the switchover the old primary is an
// outdated secondary, which is update-primary's business, not its member cluster's
// update-secondaries again); the gates use the observation alone (ShardSteps.observed), never
// that memory. Pure but for the StepMemory the manager keeps.
import type { ActionType } from '../../compiler/plan/model.js';
import { spreadSteps } from '../../compiler/rollout/spread-steps.js';
import type { FederationStepStatus } from '../../schemas/types/index.js';
import type { FedDecision, FedMember } from './decide.js';

export type StepState = 'Done' | 'Running' | 'Waiting' | 'Pending';

/** One server as the steps see it. */
export interface StepPod {
  memberCluster: string;
  pod: string;
  /** Not at the revision its member cluster's spec gives now; undefined: unknown. */
  outdated?: boolean;
  ready?: boolean;
  /** Answers as a replica of the recorded primary with its link up. */
  replicating?: boolean;
  /** Answers as primary. */
  primary?: boolean;
  /** Leaving its member cluster (an ordinal moved or scaled in): not updated, it goes. */
  leaving?: boolean;
  /** Expected (the Federation's spec) but not seen: being replaced, or lost. */
  missing?: boolean;
}

export interface ShardStepsInput {
  shard: string;
  /** The Federation's spec.memberClusters: rollout order, the canary first. */
  memberOrder: ReadonlyArray<string>;
  /** The member clusters holding the shard (spec.shards[].members). */
  members: ReadonlyArray<string>;
  pods: ReadonlyArray<StepPod>;
  /** The servers the Federation's spec names (a replaced pod is missing for a moment: not done). */
  expected?: ReadonlyArray<{ memberCluster: string; pod: string }>;
  /** The recorded primary's pod after this round's decision. */
  primary?: string;
  /** This round's operation is the switchover (its reason), or why the manager does not hand over yet. */
  decision?: { switchover: boolean; reason: string };
  /** Step ids shown Done earlier in this change (StepMemory). */
  done?: ReadonlySet<string>;
}

export interface ShardStep {
  id: string;
  action: ActionType;
  memberCluster: string;
  state: StepState;
  message: string;
}

export interface ShardSteps {
  /** What status.steps shows: empty when no change is under way (and none was seen since the memory was cleared). */
  steps: ShardStep[];
  /** The same steps judged on this round's observation alone: what the gates (hold, gateSwitchover) use. */
  observed: ShardStep[];
  /** Per member cluster: undefined = its rolling update may run; else why it waits. */
  hold: Map<string, string | undefined>;
  /** A change is under way (some server outdated or not yet healthy at its new revision). */
  moving: boolean;
}

const list = (xs: string[], max = 4): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);

/** What keeps a server from counting as updated and healthy, or undefined when nothing does. */
function notHealthy(p: StepPod, isPrimary: boolean): string | undefined {
  if (p.missing === true) return 'missing';
  if (p.outdated !== false) return p.outdated === true ? 'outdated' : 'revision unknown';
  if (p.ready !== true) return 'not Ready';
  if (isPrimary) return p.primary === true ? undefined : 'not acting as primary';
  return p.replicating === true ? undefined : 'not replicating from the primary';
}

export function shardSteps(input: ShardStepsInput): ShardSteps {
  const seen = input.pods.filter((p) => p.leaving !== true);
  const missing = (input.expected ?? []).filter((e) => !seen.some((p) => p.memberCluster === e.memberCluster && p.pod === e.pod)).map((e) => ({ ...e, missing: true }));
  const live: StepPod[] = [...seen, ...missing];
  const done = input.done ?? new Set<string>();
  const hold = new Map<string, string | undefined>(input.members.map((m) => [m, undefined]));
  const bad = live.map((p) => ({ p, why: notHealthy(p, p.pod === input.primary) })).filter((x) => x.why !== undefined);
  const outdated = live.some((p) => p.outdated === true);
  const moving = outdated || (done.size > 0 && bad.length > 0);
  if (!moving && done.size === 0) return { steps: [], observed: [], hold, moving: false };

  const plan = spreadSteps({
    memberOrder: input.memberOrder,
    perMember: new Map(input.members.map((m) => [m, new Set<ActionType>(['update-secondaries'])])),
    switchover: true,
  });
  const primaryPod = live.find((p) => p.pod === input.primary);
  const steps: ShardStep[] = [];
  for (const s of plan) {
    let state: StepState;
    let message: string;
    // A step runs once every step before it is done (observed now: no memory in the gates).
    const blocker = steps.find((x) => x.state !== 'Done');
    const ready = blocker === undefined;
    if (s.action === 'update-secondaries') {
      const mine = live.filter((p) => p.memberCluster === s.memberCluster && p.pod !== input.primary);
      const behind = mine.map((p) => ({ p, why: notHealthy(p, false) })).filter((x) => x.why !== undefined);
      if (behind.length === 0) {
        state = 'Done';
        message = mine.length === 0 ? 'no secondary here' : `${list(mine.map((p) => p.pod))} updated, Ready, replicating`;
      } else {
        const detail = list(behind.map((x) => `${x.p.pod} ${x.why}`));
        state = ready ? 'Running' : 'Waiting';
        message = ready ? detail : `${detail}; waits for ${blocker!.id}`;
      }
    } else if (s.action === 'switchover') {
      if (primaryPod !== undefined && primaryPod.outdated === false) {
        state = 'Done';
        message = primaryPod !== undefined ? `the primary ${primaryPod.pod} (${primaryPod.memberCluster}) is at its update revision` : 'done';
      } else if (ready) {
        state = 'Running';
        message = input.decision?.reason ?? 'handing the primary over to an updated secondary';
      } else {
        state = 'Pending';
        message = `after ${blocker!.id}`;
      }
    } else {
      // update-primary: the old primary, wherever it runs, replaced once the switchover is done
      // (the switchover was held until every secondary was: gateSwitchover; the old primary is
      // an outdated secondary of its member cluster now, which its update-secondaries step shows).
      const switched = steps.find((x) => x.action === 'switchover')?.state === 'Done';
      if (bad.length === 0 && !outdated) {
        state = 'Done';
        message = `every server updated and healthy${primaryPod !== undefined ? `; primary ${primaryPod.pod} (${primaryPod.memberCluster})` : ''}`;
      } else if (ready || switched) {
        state = 'Running';
        message = list(bad.map((x) => `${x.p.pod} (${x.p.memberCluster}) ${x.why}`));
      } else {
        state = 'Pending';
        message = `after ${blocker!.id}`;
      }
    }
    const step: ShardStep = { id: s.id, action: s.action, memberCluster: s.memberCluster, state, message };
    steps.push(step);
    if (s.action === 'update-secondaries' && state === 'Waiting') hold.set(s.memberCluster, `${blocker!.id} is not done: ${blocker!.message}`);
  }
  // What is shown: the observed states, a step remembered Done in this change (and everything
  // before it Done) kept Done — after the switchover the old primary is an outdated secondary of
  // its member cluster, update-primary's business, not its update-secondaries' again.
  const shown: ShardStep[] = [];
  for (const st of steps) {
    const prefixDone = shown.every((x) => x.state === 'Done');
    shown.push(st.state !== 'Done' && prefixDone && done.has(st.id) ? { ...st, state: 'Done', message: 'done earlier in this change' } : st);
  }
  return { steps: shown, observed: steps, hold, moving };
}

/**
 * The switchover of a rolling update (decide.ts rollingUpdate) runs when its step of the DAG may
 * run — every step before it done: each member cluster's secondaries updated, Ready and
 * replicating — and not a round earlier (the decision sees answers and links, the DAG readiness
 * too): until then the decision is kept from acting, with the step it waits for as its reason.
 */
export function gateSwitchover(d: FedDecision, r: ShardSteps): FedDecision {
  if (d.op.kind !== 'switchover' || d.state !== 'Updating' || r.observed.length === 0) return d;
  const at = r.observed.findIndex((s) => s.action === 'switchover');
  const waiting = r.observed.slice(0, at < 0 ? r.observed.length : at).find((s) => s.state !== 'Done');
  if (waiting === undefined) return d;
  return { state: 'Updating', op: { kind: 'none', reason: `rolling update: the switchover waits for ${waiting.id}: ${waiting.message}` }, primary: d.op.from };
}

/**
 * The manager's memory of one shard's steps across rounds: the ids shown Done in the change under
 * way, and the last steps (shown all Done once the change is over). Display only.
 */
export class StepMemory {
  private readonly done = new Map<string, Set<string>>();
  private readonly last = new Map<string, ShardStep[]>();

  doneOf(shardKey: string): ReadonlySet<string> {
    return this.done.get(shardKey) ?? new Set();
  }

  /** Records this round's steps; returns what to show. */
  record(shardKey: string, r: ShardSteps): ShardStep[] {
    if (!r.moving) {
      this.done.delete(shardKey);
      const last = r.steps.length > 0 ? r.steps : this.last.get(shardKey) ?? [];
      const shown = last.map((s) => ({ ...s, state: 'Done' as const, message: s.state === 'Done' ? s.message : 'done' }));
      this.last.set(shardKey, shown);
      return shown;
    }
    const set = this.done.get(shardKey) ?? new Set<string>();
    // Only the steps done in order (a step seen done while one before it is not may be a member
    // cluster whose spec this round predates the change).
    for (const s of r.steps) {
      if (s.state !== 'Done') break;
      set.add(s.id);
    }
    this.done.set(shardKey, set);
    this.last.set(shardKey, r.steps);
    return r.steps;
  }
}

/** The steps' view of the observed servers (gather.ts members and readiness). */
export function stepPods(members: ReadonlyArray<FedMember>, ready: (memberCluster: string, pod: string) => boolean | undefined, primary: string | undefined): StepPod[] {
  const rec = members.find((m) => m.podName === primary);
  return members.map((m) => {
    const x = m as FedMember & { pod?: string; leaving?: boolean };
    const pod = x.pod ?? m.podName;
    const f = m.probe?.following;
    const r = ready(m.memberCluster, pod);
    return {
      memberCluster: m.memberCluster,
      pod,
      ...(m.outdated !== undefined ? { outdated: m.outdated } : {}),
      ...(r !== undefined ? { ready: r } : {}),
      replicating: m.probe?.reachable === true && m.probe.role === 'secondary' && f !== undefined && f.linkUp && rec?.target !== undefined && f.host === rec.target.host && f.port === rec.target.port,
      primary: m.probe?.reachable === true && m.probe.role === 'primary',
      ...(x.leaving === true ? { leaving: true } : {}),
    };
  });
}

/**
 * The Federation's status.steps from its shards' steps: one entry per step id (the plan's
 * `<action>@<member cluster>`), Done when every shard is done with it, Running when one runs it
 * (or some are done and others not), else Waiting or Pending; the message names the shards.
 */
export function federationSteps(perShard: ReadonlyArray<{ shard: string; steps: ReadonlyArray<ShardStep> }>): FederationStepStatus[] {
  const order: string[] = [];
  const by = new Map<string, Array<{ shard: string; step: ShardStep }>>();
  for (const { shard, steps } of perShard) {
    for (const step of steps) {
      if (!by.has(step.id)) {
        by.set(step.id, []);
        order.push(step.id);
      }
      by.get(step.id)!.push({ shard, step });
    }
  }
  return order.map((id) => {
    const xs = by.get(id)!;
    const states = new Set(xs.map((x) => x.step.state));
    const state: StepState =
      states.size === 1 && states.has('Done') ? 'Done' : states.has('Running') || states.has('Done') ? 'Running' : states.has('Waiting') ? 'Waiting' : 'Pending';
    const first = xs[0]!.step;
    const message = xs.length === 1 ? `${xs[0]!.shard}: ${first.message}` : xs.map((x) => `${x.shard} ${x.step.state}: ${x.step.message}`).join('; ');
    return { id, action: first.action, ...(first.memberCluster !== '' ? { memberCluster: first.memberCluster } : {}), ...(xs.length === 1 ? { shard: xs[0]!.shard } : {}), state, message };
  });
}
