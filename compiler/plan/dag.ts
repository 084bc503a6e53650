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
import { ARGOCD_DIR, FEDERATION_DIR } from '../argocd/emit.js';
import { rolloutSteps } from '../rollout/order.js';
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
  const add = (type: ActionType, c: ClassifiedChange, scope: { namespace?: string; topology?: string }): PlanAction => {
    const where = scope.topology ?? (scope.namespace !== undefined ? `ns:${scope.namespace}` : '_cluster');
    const id = `${c.env}/${c.memberCluster}/${where}/${type}`;
    let node = nodes.get(id);
    if (!node) {
      node = {
        id,
        type,
        env: c.env,
        memberCluster: c.memberCluster,
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
    for (const type of actionTypesOf(c)) {
      if (type === 'apply-crds') add(type, c, {});
      else if (type === 'create-namespace' || type === 'delete-namespace') add(type, c, { namespace: c.name });
      else add(type, c, { ...(c.namespace !== undefined ? { namespace: c.namespace } : {}), topology: c.topology ?? '_cluster' });
    }
  }

  const edge = (from: PlanAction, to: PlanAction): void => {
    if (from.id !== to.id && !to.after.includes(from.id)) to.after.push(from.id);
  };
  const all = [...nodes.values()];
  const byMember = groupBy(all, (a) => `${a.env}/${a.memberCluster}`);
  for (const members of byMember.values()) {
    const crds = members.find((a) => a.type === 'apply-crds');
    const topologyActions = members.filter((a) => a.topology !== undefined);
    for (const a of members) if (crds && a !== crds) edge(crds, a);
    for (const ns of members.filter((a) => a.type === 'create-namespace')) {
      for (const a of topologyActions) if (a.namespace === ns.namespace) edge(ns, a);
    }
    for (const chain of groupBy(topologyActions, (a) => a.topology ?? '').values()) {
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
  const member = (a: PlanAction): boolean => a.memberCluster !== ARGOCD_DIR && a.memberCluster !== FEDERATION_DIR;
  for (const [env, envActions] of groupBy(all, (a) => a.env)) {
    const order = opts.memberOrder.get(env) ?? [];
    const [first, rest] = rolloutSteps(order, envActions.filter(member).map((a) => a.memberCluster));
    const canary = first?.[0];
    if (canary !== undefined && rest !== undefined) {
      const sinks = sinksOf(envActions.filter((a) => a.memberCluster === canary));
      for (const a of envActions) {
        if (a.memberCluster === canary || !member(a) || a.after.length > 0) continue;
        for (const s of sinks) edge(s, a);
      }
    }
    const federation = sinksOf(envActions.filter((a) => a.memberCluster === FEDERATION_DIR));
    for (const a of envActions) {
      if (!member(a) || a.after.length > 0) continue;
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

/** A ConfigMap or Cluster change that moves the primary still needs the three-step update. */
function hasReplicas(c: ClassifiedChange): boolean {
  return c.kind !== 'InstanceSet' || hasSwitchover(c.head) || hasSwitchover(c.base);
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
