// A change plan from the rendered objects of two sides: diff → classify → DAG. Pure.
import { classify, instanceSetIndex, type ClassifyOptions, type SideIndex } from './classify.js';
import { buildActions } from './dag.js';
import { diffObjects } from './diff.js';
import type { Plan, PlanObject } from './model.js';

export interface PlanOptions extends ClassifyOptions {
  /** env → member cluster names in the environment file's order (the first is the canary). */
  memberOrder: ReadonlyMap<string, ReadonlyArray<string>>;
  /**
   * Every InstanceSet of each side (classify.ts instanceSetKey), when `base` and `head` hold only
   * the objects that may differ (run.ts leaves out the renders both sides share); else computed
   * from them.
   */
  instanceSets?: SideIndex;
}

export function buildPlan(base: ReadonlyArray<PlanObject>, head: ReadonlyArray<PlanObject>, opts: PlanOptions): Plan {
  const sides = opts.instanceSets ?? { base: instanceSetIndex(base), head: instanceSetIndex(head) };
  // The very same object on both sides (a topology rendered once for both, compile-sides.ts)
  // cannot have changed: leave it out of the diff.
  const inBase = new Set(base.map((o) => o.object));
  const inHead = new Set(head.map((o) => o.object));
  const changes = classify(
    diffObjects(
      base.filter((o) => !inHead.has(o.object)),
      head.filter((o) => !inBase.has(o.object)),
    ),
    opts,
    sides,
  );
  const { actions, waves } = buildActions(changes, { memberOrder: opts.memberOrder });
  return { changes, actions, waves, forbidden: changes.filter((c) => c.class === 'forbidden') };
}

/** Exit code of `dbtopo plan` for a plan that compiled on both sides: 4 when anything is forbidden. */
export const EXIT_FORBIDDEN = 4;
export function planExitCode(plan: Plan): 0 | 4 {
  return plan.forbidden.length > 0 ? EXIT_FORBIDDEN : 0;
}
