// The change DAG of a spread shard, executed: the steps `dbtopo plan` prints for a change to it
// (compiler/rollout/spread-steps.ts, the ONE function both use), each given a state from what the
// manager observes this round — never from a status written earlier (a status not rewritten
// since the spec changed would call every step done: the bug class of Argo CD #29410, OCM #1207):
//   - update-secondaries@<m>: every server of member cluster <m> but the primary at the revision
//     its spec gives now (gather.ts computes it from the spec just read), Ready, and replicating
//     from the recorded primary (the engine says so);
//   - switchover@_federation: the recorded primary is at its revision (handed over, or never
//     outdated);
//   - update-primary@_federation: every server updated, Ready, the others replicating;
//   - scale-out@<m>: the servers new in member cluster <m> in this change (expected, or kept by
//     its spec ahead of the Federation, and not seen there before) are there and Ready;
//   - move-ordinal@_federation: no pod is left whose ordinal the Federation places in another
//     member cluster (it goes once release.ts releases it: its message says what it waits for,
//     from this round's release decision);
//   - scale-in@<m>: no pod is left in <m> whose ordinal the Federation places nowhere.
// A step runs once every step before it is done; the member clusters' controllers replace pods on
// their own, so the manager lets a member cluster's rolling update run (status.federation
// .updateGeneration of its InstanceSet, read by controller/update/plan.ts federationHold) only
// once its step may run: the canary member cluster first, the others once the canary's
// secondaries are updated and healthy; a rolling update's switchover acts only once its step may
// run (gateSwitchover). The display is monotone within one change (a step shown Done, with every
// step before it, stays Done until the change is over: after the switchover the old primary is an
// outdated secondary, which is update-primary's business, not its member cluster's
// update-secondaries again); the gates use the observation alone (ShardSteps.observed), never
// that memory. The scale and move steps are shown, not gates: the member clusters scale on their
// own, and what must come after a scale-out — the old pod of a move, a scaled-in pod — waits in
// the release rule (release.ts: released once its successor, or every server that stays, is
// synced), so hold and gateSwitchover look at the update steps alone, as before. Which servers are new (scale-out), and the steps of the
// change under way once their pods are gone (so it ends with them all Done), are the StepMemory's.
// Pure but for the StepMemory the manager keeps.
import type { ActionType } from '../../compiler/plan/model.js';
import { describeMoves, spreadSteps, type OrdinalMove } from '../../compiler/rollout/spread-steps.js';
import type { FederationStepStatus } from '../../schemas/types/index.js';
import type { FedDecision, FedMember } from './decide.js';
import type { ReleaseDecision } from './release.js';

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
  /** Global ordinal (default: the pod name's trailing number). */
  ordinal?: number;
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
  /**
   * `<memberCluster>/<pod>` of every server seen in an earlier round (StepMemory); undefined: no
   * earlier round (a missing server is then new only when its ordinal is leaving another member
   * cluster: the new pod of a move).
   */
  known?: ReadonlySet<string>;
  /** `<memberCluster>/<pod>` found new earlier in this change (StepMemory): scale-out's. */
  fresh?: ReadonlySet<string>;
  /** The per-member actions and moves of the change under way seen in earlier rounds (StepMemory): still steps, Done once nothing is left of them. */
  earlier?: ChangeSeen;
  /** This round's release decision (release.ts) for the leaving pods: why a move or scale-in waits. */
  release?: Pick<ReleaseDecision, 'released' | 'held' | 'switchover'>;
}

/** The per-member actions and the moves of a change (what spreadSteps is given). */
export interface ChangeSeen {
  perMember: ReadonlyMap<string, ReadonlySet<ActionType>>;
  moves: ReadonlyArray<OrdinalMove>;
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
  /** A change is under way (some server outdated or not yet healthy at its new revision, a pod leaving, a new one not yet Ready). */
  moving: boolean;
  /** For the StepMemory: the change's actions and moves (this round's and earlier ones), the servers new in it, the servers known. */
  change: ChangeSeen;
  fresh: Set<string>;
  /** The servers seen now, and those seen earlier that are still expected (a server removed for good is new again if it comes back). */
  known: Set<string>;
}

/** The steps of a rolling update: the only ones that gate (hold, gateSwitchover). */
const UPDATE_ACTIONS: ReadonlySet<ActionType> = new Set<ActionType>(['update-secondaries', 'switchover', 'update-primary']);
const keyOf = (p: { memberCluster: string; pod: string }): string => `${p.memberCluster}/${p.pod}`;
const ordinalOfPod = (p: StepPod): number => p.ordinal ?? Number(/(\d+)$/.exec(p.pod)?.[1] ?? NaN);

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
  const leaving = input.pods.filter((p) => p.leaving === true);
  const expected = input.expected ?? [];
  const missing = expected.filter((e) => !seen.some((p) => p.memberCluster === e.memberCluster && p.pod === e.pod)).map((e) => ({ ...e, missing: true }));
  const live: StepPod[] = [...seen, ...missing];
  const done = input.done ?? new Set<string>();
  const hold = new Map<string, string | undefined>(input.members.map((m) => [m, undefined]));
  const expectedKeys = new Set((input.expected ?? []).map(keyOf));
  const knownNow = new Set([...input.pods.map(keyOf), ...[...(input.known ?? [])].filter((k) => input.expected === undefined || expectedKeys.has(k))]);
  // New servers (scale-out's): not seen in any earlier round — missing, or there now for the first
  // time (a member cluster's spec may add a pod before the Federation places its ordinal there: it
  // is leaving until then) — and those found new earlier in this change. With no earlier round to
  // tell, a missing server is new only as the new pod of a move (its ordinal leaving elsewhere).
  const known = input.known;
  const fresh = new Set(input.fresh ?? []);
  for (const p of missing) if (known !== undefined ? !known.has(keyOf(p)) : leaving.some((l) => l.pod === p.pod && l.memberCluster !== p.memberCluster)) fresh.add(keyOf(p));
  if (known !== undefined) for (const p of input.pods) if (!known.has(keyOf(p))) fresh.add(keyOf(p));
  // The leaving pods that are not new: an ordinal the Federation places in another member cluster
  // (moved) or nowhere (scaled in). One it still places in its own member cluster (that member
  // cluster's spec is ahead of the Federation) is no step yet: release.ts holds it, the shard's
  // message says why.
  const arriving: StepPod[] = [];
  const moved: Array<{ p: StepPod; to: string }> = [];
  const scaledIn: StepPod[] = [];
  for (const l of leaving) {
    if (fresh.has(keyOf(l))) {
      arriving.push(l);
      continue;
    }
    const where = expected.filter((e) => e.pod === l.pod).map((e) => e.memberCluster);
    if (where.includes(l.memberCluster)) continue;
    if (where.length > 0) moved.push({ p: l, to: where[0]! });
    else scaledIn.push(l);
  }
  const newPods: StepPod[] = [...seen, ...arriving, ...missing].filter((p) => fresh.has(keyOf(p)));
  const newBehind = newPods.filter((p) => p.missing === true || p.ready !== true);
  const bad = live.map((p) => ({ p, why: notHealthy(p, p.pod === input.primary) })).filter((x) => x.why !== undefined);
  const outdated = live.some((p) => p.outdated === true);
  const earlier = input.earlier;
  const remembered = done.size > 0 || (earlier !== undefined && (earlier.moves.length > 0 || [...earlier.perMember.values()].some((a) => a.size > 0)));
  const moving = outdated || moved.length > 0 || scaledIn.length > 0 || arriving.length > 0 || newBehind.length > 0 || (remembered && bad.length > 0);
  if (!moving && !remembered) return { steps: [], observed: [], hold, moving: false, change: { perMember: new Map(), moves: [] }, fresh: new Set(), known: knownNow };

  // The change's per-member actions (spreadSteps' input, as `dbtopo plan` derives them from the
  // diff): observed now, and those seen earlier in this change (a step whose pods are gone is
  // still a step of it, Done).
  const perMember = new Map<string, Set<ActionType>>();
  const act = (m: string, a: ActionType): void => {
    let s = perMember.get(m);
    if (s === undefined) perMember.set(m, (s = new Set()));
    s.add(a);
  };
  for (const [m, as] of earlier?.perMember ?? []) for (const a of as) act(m, a);
  const updating = outdated || [...done].some((id) => UPDATE_ACTIONS.has(id.slice(0, id.indexOf('@')) as ActionType));
  if (updating) for (const m of input.members) act(m, 'update-secondaries');
  for (const p of newPods) act(p.memberCluster, 'scale-out');
  for (const p of scaledIn) act(p.memberCluster, 'scale-in');
  const moves: OrdinalMove[] = [...(earlier?.moves ?? [])];
  for (const { p, to } of moved) {
    const ordinal = ordinalOfPod(p);
    if (!moves.some((m) => m.ordinal === ordinal && m.from === p.memberCluster && m.to === to)) moves.push({ shard: input.shard, ordinal, from: p.memberCluster, to });
  }
  const plan = spreadSteps({
    memberOrder: input.memberOrder,
    perMember,
    switchover: [...perMember.values()].some((a) => a.has('update-secondaries')),
    moves,
  });

  // Why a leaving pod is still there: this round's release decision (release.ts).
  const waitsFor = (l: StepPod, to?: string): string => {
    const r = input.release;
    if (r === undefined) return 'not released by the federation manager yet';
    if (r.released.some((x) => x.memberCluster === l.memberCluster && x.pod === l.pod)) return `released, waiting for ${l.memberCluster} to remove ${l.pod}`;
    const reason = (r.held.find((x) => x.memberCluster === l.memberCluster && x.pod === l.pod)?.reason ?? 'not released yet').replace(/^\S+ \([^)]*\) stays: /, '');
    if (l.primary === true || r.switchover?.from === `${l.pod}@${l.memberCluster}`) return `the primary is handed over first: ${reason.replace(/^it is the primary: /, '')}`;
    if (to !== undefined && reason.includes(`moves to ${to}`)) return `its new pod in ${to} is not synced yet: ${reason}`;
    return `held: ${reason}`;
  };

  const primaryPod = live.find((p) => p.pod === input.primary);
  const steps: ShardStep[] = [];
  for (const s of plan) {
    let state: StepState;
    let message: string;
    // An update step runs once every update step before it is done (observed now: no memory in
    // the gates). The scale and move steps are not gates: the member clusters scale on their
    // own, the release rule orders a move.
    const blocker = steps.find((x) => UPDATE_ACTIONS.has(x.action) && x.state !== 'Done');
    const ready = blocker === undefined;
    if (s.action === 'scale-out') {
      const mine = newPods.filter((p) => p.memberCluster === s.memberCluster);
      const behind = mine.filter((p) => p.missing === true || p.ready !== true);
      if (behind.length === 0) {
        state = 'Done';
        message = mine.length === 0 ? 'done' : `${list(mine.map((p) => p.pod))} new here, Ready`;
      } else {
        state = 'Running';
        message = `${list(behind.map((p) => `${p.pod} ${p.missing === true ? 'not there yet' : 'not Ready'}`))}${arriving.some((p) => p.memberCluster === s.memberCluster) ? ' (its ordinal not placed here by the Federation yet)' : ''}`;
      }
    } else if (s.action === 'move-ordinal') {
      if (moved.length === 0) {
        state = 'Done';
        message = `${describeMoves(moves)}: the old pods are gone`;
      } else {
        state = 'Running';
        message = moved.map(({ p, to }) => `ordinal ${ordinalOfPod(p)}: ${p.memberCluster} → ${to}: ${waitsFor(p, to)}`).join('; ');
      }
    } else if (s.action === 'scale-in') {
      const mine = scaledIn.filter((p) => p.memberCluster === s.memberCluster);
      if (mine.length === 0) {
        state = 'Done';
        message = 'the removed servers are gone';
      } else {
        state = 'Running';
        message = mine.map((p) => `${p.pod} (ordinal ${ordinalOfPod(p)}, placed nowhere): ${waitsFor(p)}`).join('; ');
      }
    } else if (s.action === 'update-secondaries') {
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
  return { steps: shown, observed: steps, hold, moving, change: { perMember, moves }, fresh: moving ? fresh : new Set(), known: knownNow };
}

/**
 * The switchover of a rolling update (decide.ts rollingUpdate) runs when its step of the DAG may
 * run — every step before it done: each member cluster's secondaries updated, Ready and
 * replicating — and not a round earlier (the decision sees answers and links, the DAG readiness
 * too): until then the decision is kept from acting, with the step it waits for as its reason.
 */
export function gateSwitchover(d: FedDecision, r: ShardSteps): FedDecision {
  if (d.op.kind !== 'switchover' || d.state !== 'Updating' || r.observed.length === 0) return d;
  // The update steps alone: a scale or a move under way does not hold a rolling update's switchover.
  const updates = r.observed.filter((s) => UPDATE_ACTIONS.has(s.action));
  const at = updates.findIndex((s) => s.action === 'switchover');
  const waiting = updates.slice(0, at < 0 ? updates.length : at).find((s) => s.state !== 'Done');
  if (waiting === undefined) return d;
  return { state: 'Updating', op: { kind: 'none', reason: `rolling update: the switchover waits for ${waiting.id}: ${waiting.message}` }, primary: d.op.from };
}

/**
 * The manager's memory of one shard's steps across rounds: the ids shown Done in the change under
 * way, the change's actions and moves and the servers new in it (a step whose pods are gone stays
 * a step of the change, Done), the servers seen (what is new), and the last steps (shown all
 * Done once the change is over). Display only: the gates never read it.
 */
export class StepMemory {
  private readonly done = new Map<string, Set<string>>();
  private readonly last = new Map<string, ShardStep[]>();
  private readonly known = new Map<string, Set<string>>();
  private readonly fresh = new Map<string, Set<string>>();
  private readonly change = new Map<string, ChangeSeen>();

  doneOf(shardKey: string): ReadonlySet<string> {
    return this.done.get(shardKey) ?? new Set();
  }

  /** What shardSteps needs from earlier rounds. */
  inputOf(shardKey: string): Pick<ShardStepsInput, 'done' | 'known' | 'fresh' | 'earlier'> {
    const known = this.known.get(shardKey);
    const fresh = this.fresh.get(shardKey);
    const earlier = this.change.get(shardKey);
    return { done: this.doneOf(shardKey), ...(known !== undefined ? { known } : {}), ...(fresh !== undefined ? { fresh } : {}), ...(earlier !== undefined ? { earlier } : {}) };
  }

  /** Records this round's steps; returns what to show. */
  record(shardKey: string, r: ShardSteps): ShardStep[] {
    this.known.set(shardKey, r.known);
    if (!r.moving) {
      this.done.delete(shardKey);
      this.fresh.delete(shardKey);
      this.change.delete(shardKey);
      const last = r.steps.length > 0 ? r.steps : this.last.get(shardKey) ?? [];
      const shown = last.map((s) => ({ ...s, state: 'Done' as const, message: s.state === 'Done' ? s.message : 'done' }));
      this.last.set(shardKey, shown);
      return shown;
    }
    if (r.change !== undefined) this.change.set(shardKey, r.change);
    if (r.fresh !== undefined) this.fresh.set(shardKey, r.fresh);
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
      ordinal: m.ordinal,
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
