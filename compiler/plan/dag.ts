// The actions a classified change set implies, as a DAG with waves.
//
// Within a member cluster: CRDs first, then namespaces, then per topology the chain
//   apply → scale-out → rolling-update → update-secondaries → switchover → update-primary → scale-in → delete
// (new capacity before restarts, so a restart never runs a shard below its replica count; the
// primary last, so a shard switches over once; removals last, once nothing depends on them),
// and namespace deletions after every topology deletion in them.
// Across member clusters of an environment: the first member cluster in the environment file's
// order that has actions is the canary; every other member cluster starts after it finished
// (compiler/rollout/order.ts, the order the generated ApplicationSet's RollingSync steps follow);
// the federation API server's actions (Federation objects, `_federation`) come before the canary's.
// Environments are independent (each syncs its own rendered/<env>/ tree).
// Spread topologies (servers with spec.spread, a Federation in rendered/<env>/_federation/): a
// spread shard has one primary across its member clusters, so its actions are not one chain per
// member cluster but the one chain compiler/rollout/spread-steps.ts gives (the same function the
// federation manager executes at run time): secondaries in the canary, then in the others, ONE
// switchover and the old primary's update at `_federation` scope, scale-out before scale-in
// across member clusters, and an ordinal moved between member clusters as `move-ordinal`.
import type { InstanceSet, KubeObject } from '../../schemas/types/index.js';
import { assignOrdinals } from '../../controller/reconcile/instanceset/desired.js';
import { ARGOCD_DIR, FEDERATION_DIR } from '../argocd/emit.js';
import { rolloutSteps } from '../rollout/order.js';
import { spreadSteps, type OrdinalMove } from '../rollout/spread-steps.js';
import { hasSwitchover } from './classify.js';
import { ACTION_TYPES, type ActionType, type ClassifiedChange, type PlanAction } from './model.js';

// The per-topology chain is ACTION_TYPES without the cluster- and namespace-wide actions, in the
// same order, so a new action type has one place to go.
const NOT_PER_TOPOLOGY: ReadonlySet<ActionType> = new Set(['apply-crds', 'create-namespace', 'delete-namespace']);
const TOPOLOGY_CHAIN: ReadonlyArray<ActionType> = ACTION_TYPES.filter((t) => !NOT_PER_TOPOLOGY.has(t));

export interface DagOptions {
  /** env → member cluster names in the environment file's order (canary first). */
  memberOrder: ReadonlyMap<string, ReadonlyArray<string>>;
}

export function buildActions(changes: ReadonlyArray<ClassifiedChange>, opts: DagOptions): { actions: PlanAction[]; waves: string[][] } {
  const nodes = new Map<string, PlanAction>();
  const spread = spreadTopologies(changes);
  /** The actions of spread topologies' chains (spread-steps.ts), by `<env>/<topology>`. */
  const spreadNodes = new Set<string>();
  const add = (type: ActionType, c: ClassifiedChange, scope: { namespace?: string; topology?: string }, memberCluster = c.memberCluster): PlanAction => {
    const where = scope.topology ?? (scope.namespace !== undefined ? `ns:${scope.namespace}` : '_cluster');
    const id = `${c.env}/${memberCluster}/${where}/${type}`;
    let node = nodes.get(id);
    if (!node) {
      node = {
        id,
        type,
        env: c.env,
        memberCluster,
        ...(scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
        ...(scope.topology !== undefined ? { topology: scope.topology } : {}),
        objects: [],
        after: [],
        wave: 0,
      };
      nodes.set(id, node);
    }
    if (!node.objects.includes(c.key)) node.objects.push(c.key);
    return node;
  };

  for (const c of changes) {
    if (c.class === 'forbidden') continue; // not executable: reported, never scheduled
    const inSpread = c.topology !== undefined && spread.has(`${c.env}/${c.topology}`) && isMember(c.memberCluster);
    for (const type of actionTypesOf(c)) {
      if (type === 'apply-crds') add(type, c, {});
      else if (type === 'create-namespace' || type === 'delete-namespace') add(type, c, { namespace: c.name });
      else {
        const scope = { ...(c.namespace !== undefined ? { namespace: c.namespace } : {}), topology: c.topology ?? '_cluster' };
        // A spread shard is switched over once, by the federation manager: not per member cluster.
        const node = inSpread && (type === 'switchover' || type === 'update-primary') ? add(type, c, scope, FEDERATION_DIR) : add(type, c, scope);
        if (inSpread) spreadNodes.add(node.id);
      }
    }
  }
  // Ordinals moving between member clusters (one InstanceSet of a spread topology shrinking in one
  // member cluster and growing in another by the same global ordinal): one explicit action.
  const moves = ordinalMoves(changes, spread);
  for (const { changes: moving } of moves.values()) {
    for (const c of moving) spreadNodes.add(add('move-ordinal', c, { ...(c.namespace !== undefined ? { namespace: c.namespace } : {}), topology: c.topology ?? '_cluster' }, FEDERATION_DIR).id);
  }

  const edge = (from: PlanAction, to: PlanAction): void => {
    if (from.id !== to.id && !to.after.includes(from.id)) to.after.push(from.id);
  };
  const all = [...nodes.values()];
  // (A spread chain's steps at `_federation` scope are ordered by the chain alone, below: they are
  // not objects of the federation API server.)
  const byMember = groupBy(all.filter((a) => !(a.memberCluster === FEDERATION_DIR && spreadNodes.has(a.id))), (a) => `${a.env}/${a.memberCluster}`);
  for (const members of byMember.values()) {
    const crds = members.find((a) => a.type === 'apply-crds');
    const topologyActions = members.filter((a) => a.topology !== undefined);
    for (const a of members) if (crds && a !== crds) edge(crds, a);
    for (const ns of members.filter((a) => a.type === 'create-namespace')) {
      for (const a of topologyActions) if (a.namespace === ns.namespace) edge(ns, a);
    }
    for (const chain of groupBy(topologyActions.filter((a) => !spreadNodes.has(a.id)), (a) => a.topology ?? '').values()) {
      const ordered = [...chain].sort((x, y) => TOPOLOGY_CHAIN.indexOf(x.type) - TOPOLOGY_CHAIN.indexOf(y.type));
      for (let i = 1; i < ordered.length; i++) edge(ordered[i - 1] as PlanAction, ordered[i] as PlanAction);
    }
    for (const del of members.filter((a) => a.type === 'delete-namespace')) {
      for (const a of topologyActions) if (a.namespace === del.namespace) edge(a, del);
    }
  }
  // Canary: the first member cluster (environment order) with actions goes before the others.
  // The federation API server's actions (rendered/<env>/_federation/: Federation objects) go
  // before every member cluster's, as its Application syncs first (compiler/argocd/objects.ts).
  const sinksOf = (actions: readonly PlanAction[]): PlanAction[] => {
    const hasSuccessor = new Set(actions.flatMap((a) => a.after));
    return actions.filter((a) => !hasSuccessor.has(a.id));
  };
  // A spread topology: one chain across its member clusters (spread-steps.ts).
  for (const [key, chain] of groupBy(all.filter((a) => spreadNodes.has(a.id)), (a) => `${a.env}/${a.topology ?? ''}`)) {
    const env = chain[0]!.env;
    const perMember = new Map<string, Set<ActionType>>();
    for (const a of chain) {
      if (a.memberCluster === FEDERATION_DIR) continue;
      const set = perMember.get(a.memberCluster) ?? new Set<ActionType>();
      set.add(a.type);
      perMember.set(a.memberCluster, set);
    }
    const steps = spreadSteps({
      memberOrder: opts.memberOrder.get(env) ?? [],
      perMember,
      switchover: chain.some((a) => a.type === 'switchover'),
      moves: moves.get(key)?.moves ?? [],
    });
    const byStep = new Map(chain.map((a) => [`${a.type}@${a.memberCluster}`, a]));
    let prev: PlanAction | undefined;
    for (const step of steps) {
      const a = byStep.get(step.id);
      if (a === undefined) throw new Error(`spread step ${step.id} of ${key} has no action; report this as a dbtopo bug`);
      if (step.note !== undefined) a.note = step.note;
      if (prev !== undefined) edge(prev, a);
      prev = a;
    }
  }
  const member = (a: PlanAction): boolean => isMember(a.memberCluster);
  for (const [env, envActions] of groupBy(all, (a) => a.env)) {
    const order = opts.memberOrder.get(env) ?? [];
    const [first, rest] = rolloutSteps(order, envActions.filter(member).map((a) => a.memberCluster));
    const canary = first?.[0];
    if (canary !== undefined && rest !== undefined) {
      // (A spread topology's chain already runs the canary first: it is left out of this rule.)
      // Nor what follows a spread chain (a namespace deleted after it): the chain may wait for the
      // other member clusters, which would then wait for it.
      const afterSpread = descendants(envActions, (a) => spreadNodes.has(a.id));
      const sinks = sinksOf(envActions.filter((a) => a.memberCluster === canary && !afterSpread.has(a.id)));
      for (const a of envActions) {
        if (a.memberCluster === canary || !member(a) || spreadNodes.has(a.id) || a.after.length > 0) continue;
        for (const s of sinks) edge(s, a);
      }
    }
    // (A spread chain's own steps at `_federation` scope are not the federation API server's objects.)
    const federation = sinksOf(envActions.filter((a) => a.memberCluster === FEDERATION_DIR && !spreadNodes.has(a.id)));
    for (const a of envActions) {
      if (!(member(a) || spreadNodes.has(a.id)) || a.after.length > 0) continue;
      for (const s of federation) edge(s, a);
    }
  }
  return layer(all);
}

/** The actions one change needs, by its class and kind. */
export function actionTypesOf(c: ClassifiedChange): ActionType[] {
  if (c.kind === 'CustomResourceDefinition') return ['apply-crds'];
  if (c.kind === 'Namespace') return c.type === 'removed' ? ['delete-namespace'] : ['create-namespace'];
  if (c.type === 'removed') return ['delete'];
  if (c.type === 'added') return c.class === 'scale-out' ? ['scale-out'] : ['apply'];
  const types = new Set<ActionType>();
  for (const f of c.fields) {
    switch (f.class) {
      case 'safe':
        types.add('apply');
        break;
      case 'scale-out':
        types.add('scale-out');
        break;
      case 'scale-in':
        types.add('scale-in');
        break;
      case 'rolling-restart':
        types.add('rolling-update');
        break;
      case 'role-affecting':
        if (hasReplicas(c)) {
          types.add('update-secondaries');
          types.add('switchover');
          types.add('update-primary');
        } else types.add('rolling-update');
        break;
      case 'forbidden':
        break;
    }
  }
  return [...types];
}

const isMember = (memberCluster: string): boolean => memberCluster !== ARGOCD_DIR && memberCluster !== FEDERATION_DIR;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const spreadSet = (o: KubeObject | undefined): boolean => o?.kind === 'InstanceSet' && isRecord(o['spec']) && o['spec']['spread'] !== undefined;

/** `<env>/<topology>` of every topology with a spread shard in this change (its server sets carry spec.spread, or its Federation changed). */
function spreadTopologies(changes: ReadonlyArray<ClassifiedChange>): Set<string> {
  const out = new Set<string>();
  for (const c of changes) {
    if (c.topology === undefined) continue;
    if (spreadSet(c.head) || spreadSet(c.base) || (c.kind === 'Federation' && c.memberCluster === FEDERATION_DIR)) out.add(`${c.env}/${c.topology}`);
  }
  return out;
}

const ordinalsOf = (o: KubeObject | undefined): Set<number> => {
  if (!spreadSet(o)) return new Set();
  try {
    return new Set([...assignOrdinals(o as unknown as InstanceSet).values()].flat());
  } catch {
    return new Set();
  }
};

/**
 * Per spread topology (`<env>/<topology>`): the global ordinals of a server set that leave one
 * member cluster's InstanceSet and appear in another's, and the changes that carry them.
 */
export function ordinalMoves(changes: ReadonlyArray<ClassifiedChange>, spread: ReadonlySet<string>): Map<string, { moves: OrdinalMove[]; changes: ClassifiedChange[] }> {
  const out = new Map<string, { moves: OrdinalMove[]; changes: ClassifiedChange[] }>();
  const sets = groupBy(
    changes.filter((c) => c.kind === 'InstanceSet' && c.class !== 'forbidden' && c.topology !== undefined && spread.has(`${c.env}/${c.topology}`) && isMember(c.memberCluster)),
    (c) => `${c.env}/${c.topology ?? ''}\0${c.namespace ?? ''}/${c.name}`,
  );
  for (const [k, list] of sets) {
    const key = k.split('\0')[0]!;
    const left = new Map<number, ClassifiedChange>();
    const arrived = new Map<number, ClassifiedChange>();
    for (const c of list) {
      const base = ordinalsOf(c.base);
      const head = ordinalsOf(c.head);
      for (const n of base) if (!head.has(n)) left.set(n, c);
      for (const n of head) if (!base.has(n)) arrived.set(n, c);
    }
    for (const [n, from] of left) {
      const to = arrived.get(n);
      if (to === undefined || to.memberCluster === from.memberCluster) continue;
      const entry = out.get(key) ?? { moves: [], changes: [] };
      entry.moves.push({ shard: from.name, ordinal: n, from: from.memberCluster, to: to.memberCluster });
      for (const c of [to, from]) if (!entry.changes.includes(c)) entry.changes.push(c);
      out.set(key, entry);
    }
  }
  for (const e of out.values()) e.moves.sort((a, b) => ((a.shard ?? '') < (b.shard ?? '') ? -1 : (a.shard ?? '') > (b.shard ?? '') ? 1 : a.ordinal - b.ordinal));
  return out;
}

/** A ConfigMap or Cluster change that moves the primary still needs the three-step update. */
function hasReplicas(c: ClassifiedChange): boolean {
  return c.kind !== 'InstanceSet' || hasSwitchover(c.head) || hasSwitchover(c.base);
}

/** The ids of the actions that are `from`, or come after one of them. */
function descendants(actions: ReadonlyArray<PlanAction>, from: (a: PlanAction) => boolean): Set<string> {
  const next = new Map<string, string[]>();
  for (const a of actions) for (const p of a.after) next.set(p, [...(next.get(p) ?? []), a.id]);
  const out = new Set(actions.filter(from).map((a) => a.id));
  const todo = [...out];
  while (todo.length > 0) {
    for (const n of next.get(todo.pop()!) ?? []) {
      if (!out.has(n)) {
        out.add(n);
        todo.push(n);
      }
    }
  }
  return out;
}

/** Kahn's algorithm by levels; sorted ids inside a wave keep the output deterministic. */
function layer(actions: PlanAction[]): { actions: PlanAction[]; waves: string[][] } {
  const byId = new Map(actions.map((a) => [a.id, a]));
  const indegree = new Map(actions.map((a) => [a.id, a.after.length]));
  const next = new Map<string, string[]>();
  for (const a of actions) {
    for (const p of a.after) {
      const list = next.get(p);
      if (list) list.push(a.id);
      else next.set(p, [a.id]);
    }
  }
  const waves: string[][] = [];
  let current = actions.filter((a) => a.after.length === 0).map((a) => a.id).sort();
  while (current.length > 0) {
    waves.push(current);
    const following: string[] = [];
    for (const id of current) {
      (byId.get(id) as PlanAction).wave = waves.length - 1;
      for (const n of next.get(id) ?? []) {
        const d = (indegree.get(n) ?? 0) - 1;
        indegree.set(n, d);
        if (d === 0) following.push(n);
      }
    }
    current = following.sort();
  }
  const placed = waves.reduce((n, w) => n + w.length, 0);
  if (placed !== actions.length) throw new Error('the action graph has a cycle; report this as a dbtopo bug');
  for (const a of actions) a.after.sort();
  const order = new Map(waves.flat().map((id, i) => [id, i]));
  return { actions: [...actions].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0)), waves };
}

function groupBy<T>(items: ReadonlyArray<T>, key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
