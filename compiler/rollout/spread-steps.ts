// The order of a change to a spread topology (servers in several member clusters, one primary per
// shard, decided by the federation manager): ONE function for both users of that order, so they
// cannot disagree:
//   - `dbtopo plan` (compiler/plan/dag.ts): the actions of a spread topology are chained in this
//     order instead of one chain per member cluster (which would switch over once per member
//     cluster, while a spread shard has one primary);
//   - the federation manager (controller/federation/steps.ts): the same steps, each given a state
//     from what it observes now, written to the Federation's status.steps; the gate of the
//     non-canary member clusters' secondaries follows from it.
// The order, as one chain (each step starts once the step before it is done):
//   apply@<m>…  scale-out@<m>…  move-ordinal@_federation  (rolling-update@<m>, update-secondaries@<m>)…
//   switchover@_federation  update-primary@_federation  scale-in@<m>…  delete@<m>…
// with <m> the member clusters taking part, the canary first (rolloutSteps, order.ts). New capacity
// before restarts, an ordinal's new pod before its old one goes (move-ordinal between the scale-out
// that makes it and the scale-in that removes it), every secondary in every member cluster before
// the one switchover, the old primary after it — wherever it runs, which only the run time knows —
// and removals last. Pure.
import type { ActionType } from '../plan/model.js';
import { rolloutSteps } from './order.js';

/** Where the steps of a spread shard that belong to no one member cluster run (the federation API server's directory). */
export const FEDERATION_SCOPE = '_federation';

/** A global ordinal leaving one member cluster for another. */
export interface OrdinalMove {
  /** The server set (shard) the ordinal belongs to. */
  shard?: string;
  ordinal: number;
  from: string;
  to: string;
}

export interface SpreadChange {
  /** Member cluster names in the environment file's order (the first taking part is the canary). */
  memberOrder: ReadonlyArray<string>;
  /** Per member cluster, the per-member actions the change needs there (switchover/update-primary are not per member). */
  perMember: ReadonlyMap<string, ReadonlySet<ActionType>>;
  /** The change replaces servers with roles (template, config, version): the primary is handed over once. */
  switchover: boolean;
  moves?: ReadonlyArray<OrdinalMove>;
}

export interface SpreadStep {
  /** `<action>@<member cluster>` (`@_federation` for the steps of the whole shard). */
  id: string;
  action: ActionType;
  /** A member cluster, or FEDERATION_SCOPE. */
  memberCluster: string;
  /** The step that must be done first (empty for the first). */
  after: string[];
  /** What the step means when its type alone does not say it (the plan prints it). */
  note?: string;
}

/** Per-member actions, in the order of the chain; the ones in one group run member cluster by member cluster. */
const PHASES: ReadonlyArray<ReadonlyArray<ActionType> | 'move' | 'primary'> = [
  ['apply'],
  ['scale-out'],
  'move',
  ['rolling-update', 'update-secondaries'],
  'primary',
  ['scale-in'],
  ['delete'],
];

export const stepId = (action: ActionType, memberCluster: string): string => `${action}@${memberCluster}`;

export const describeMoves = (moves: ReadonlyArray<OrdinalMove>): string =>
  moves.map((m) => `${m.shard !== undefined ? `${m.shard} ` : ''}ordinal ${m.ordinal}: ${m.from} → ${m.to}`).join('; ');

/** The steps of a change to a spread topology, in the order they run (a chain). */
export function spreadSteps(c: SpreadChange): SpreadStep[] {
  const taking = [...c.perMember].filter(([, types]) => types.size > 0).map(([m]) => m);
  const members = rolloutSteps(c.memberOrder, taking).flat();
  const moves = [...(c.moves ?? [])];
  const out: SpreadStep[] = [];
  const push = (action: ActionType, memberCluster: string, note?: string): void => {
    const prev = out[out.length - 1];
    out.push({ id: stepId(action, memberCluster), action, memberCluster, after: prev !== undefined ? [prev.id] : [], ...(note !== undefined ? { note } : {}) });
  };
  for (const phase of PHASES) {
    if (phase === 'move') {
      if (moves.length > 0) push('move-ordinal', FEDERATION_SCOPE, `${describeMoves(moves)}: the new pod is in sync before the old one is removed`);
      continue;
    }
    if (phase === 'primary') {
      if (!c.switchover) continue;
      push('switchover', FEDERATION_SCOPE, 'one switchover per spread shard, by the federation manager, to an updated secondary in any member cluster');
      push('update-primary', FEDERATION_SCOPE, 'the old primary, in whichever member cluster holds it at run time, replaced last');
      continue;
    }
    for (const m of members) for (const type of phase) if (c.perMember.get(m)?.has(type) === true) push(type, m);
  }
  return out;
}
