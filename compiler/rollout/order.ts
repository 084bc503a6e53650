// The order in which a change reaches the member clusters of an environment: the environment
// file's `memberClusters` order, the first member cluster that takes part is the canary, every
// other one follows once the canary is done. One function for both users of that order, so they
// cannot disagree:
//   - `dbtopo plan` (compiler/plan/dag.ts): the canary's actions before every other member
//     cluster's, "taking part" meaning "has actions in this change";
//   - the generated ApplicationSet (compiler/argocd/objects.ts): a RollingSync strategy whose
//     first step is the canary's Application and whose second step is the rest, "taking part"
//     meaning "has an Application" (renders namespaced objects). Pure.
import type { Environment } from '../../schemas/types/index.js';

/** The environment's member cluster names in the environment file's order (the first is the canary). */
export function memberOrder(env: Pick<Environment, 'memberClusters'>): string[] {
  return env.memberClusters.map((m) => m.name);
}

/**
 * The member clusters that take part, in rollout steps: `[[canary], [the others…]]`, the others in
 * environment order; `[[only]]` for one, `[]` for none. Names unknown to the order (not in the
 * environment file) go last, by name.
 */
export function rolloutSteps(order: ReadonlyArray<string>, taking: Iterable<string>): string[][] {
  const rank = (m: string): number => {
    const i = order.indexOf(m);
    return i < 0 ? order.length : i;
  };
  const present = [...new Set(taking)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const [canary, ...rest] = present;
  if (canary === undefined) return [];
  return rest.length === 0 ? [[canary]] : [[canary], rest];
}
