// aggregateClusterStatus: a Cluster's phase and message from its InstanceSets, in words an
// Argo CD dashboard can show ("server: 2/3 ready"). Pure.
import type { Cluster, ClusterPhase, ClusterStatus, Condition, InstanceSet } from '../../../schemas/types/index.js';
import { canonicalJson } from '../../update/revision.js';

// Worst first: the cluster shows the worst phase of its components.
const SEVERITY: readonly ClusterPhase[] = ['Failed', 'Degraded', 'Creating', 'Updating', 'Running'];

function worst(phases: ClusterPhase[]): ClusterPhase {
  for (const p of SEVERITY) if (phases.includes(p)) return p;
  return 'Running';
}

interface ComponentView {
  name: string;
  phase: ClusterPhase;
  ready: number;
  replicas: number;
  message?: string;
}

/** Never Running before ⇒ still Creating; after that, missing readiness is Degraded (or Failed at 0). */
function componentPhase(
  name: string,
  kind: string,
  sets: Array<InstanceSet | undefined>,
  names: string[],
  wasUp: boolean,
): ComponentView {
  const missing = names.filter((_, i) => sets[i] === undefined);
  const present = sets.filter((s): s is InstanceSet => s !== undefined);
  const replicas = present.reduce((n, s) => n + s.spec.replicas, 0);
  const ready = present.reduce((n, s) => n + (s.status?.readyReplicas ?? 0), 0);
  const view = (phase: ClusterPhase, message?: string): ComponentView => ({ name, phase, ready, replicas, ...(message !== undefined ? { message } : {}) });
  if (missing.length > 0) return view(wasUp ? 'Degraded' : 'Creating', `waiting for InstanceSet ${missing.join(', ')}`);
  const unobserved = present.filter((s) => s.status?.observedGeneration === undefined || (s.metadata.generation !== undefined && s.status.observedGeneration < s.metadata.generation));
  const updating = present.filter((s) => (s.status?.updatedReplicas ?? 0) < s.spec.replicas && (s.status?.updateRevision ?? '') !== (s.status?.currentRevision ?? ''));
  const needsPrimary = kind === 'server' ? present.filter((s) => (s.spec.roles?.length ?? 0) > 0 && s.spec.replicas > 0 && s.status?.primary === undefined) : [];
  if (ready === replicas && needsPrimary.length === 0 && unobserved.length === 0 && updating.length === 0) return view('Running');
  if (updating.length > 0) return view('Updating', `${ready}/${replicas} ready, updating ${updating.map((s) => s.metadata.name).join(', ')}`);
  if (!wasUp) return view('Creating', needsPrimary.length > 0 && ready === replicas ? `${ready}/${replicas} ready, no primary yet` : `${ready}/${replicas} ready`);
  if (ready === 0 && replicas > 0) return view('Failed', `0/${replicas} ready`);
  if (needsPrimary.length > 0) return view('Degraded', `no primary in ${needsPrimary.map((s) => s.metadata.name).join(', ')}`);
  if (ready < replicas) return view('Degraded', `${ready}/${replicas} ready`);
  return view('Updating', `${ready}/${replicas} ready, waiting for status of ${unobserved.map((s) => s.metadata.name).join(', ')}`);
}

export function aggregateClusterStatus(cluster: Cluster, instanceSets: InstanceSet[], nowMs: number): ClusterStatus {
  const byName = new Map(instanceSets.map((s) => [s.metadata.name, s]));
  const prev = cluster.status;
  // A cluster that has been Running (or beyond Creating) before is degraded, not creating, when pods go.
  const wasUp = prev?.phase !== undefined && prev.phase !== 'Creating';
  const components = cluster.spec.components.map((c) => {
    const prevComponent = prev?.components?.find((x) => x.name === c.name);
    const componentUp = wasUp || (prevComponent !== undefined && prevComponent.phase !== 'Creating');
    return componentPhase(c.name, c.kind, c.instanceSets.map((n) => byName.get(n)), c.instanceSets, componentUp);
  });
  const phase = components.length === 0 ? 'Creating' : worst(components.map((c) => c.phase));
  const notRunning = components.filter((c) => c.phase !== 'Running');
  const message =
    notRunning.length === 0
      ? `${components.length}/${components.length} components running`
      : notRunning.map((c) => `${c.name}: ${c.phase}${c.message !== undefined ? ` (${c.message})` : ''}`).join('; ');
  const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ok = phase === 'Running';
  const old = prev?.conditions?.find((c) => c.type === 'Ready');
  const status = ok ? 'True' : 'False';
  const ready: Condition = {
    type: 'Ready',
    status,
    reason: phase,
    message,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
    ...(cluster.metadata.generation !== undefined ? { observedGeneration: cluster.metadata.generation } : {}),
  };
  return {
    ...(cluster.metadata.generation !== undefined ? { observedGeneration: cluster.metadata.generation } : {}),
    phase,
    message,
    components,
    conditions: [ready],
  };
}

export function clusterStatusEqual(a: ClusterStatus | undefined, b: ClusterStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}
