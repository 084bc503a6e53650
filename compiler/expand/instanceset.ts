// One InstanceSet from a plan: the engine-neutral part (roles, ordinals, instance templates,
// volume claims, update strategy). redis.ts and mysql.ts fill in the engine-specific plan.

import { API_VERSION, LABELS } from '../../schemas/types/index.js';
import type {
  EngineSpec,
  InstanceSet,
  InstanceTemplate,
  MemberUpdateStrategy,
  PodManagementPolicy,
  RoleDefinition,
  SpreadSpec,
} from '../../schemas/types/index.js';
import type { OrdinalSlot, PlacedTopology, ResolvedInstance } from '../model.js';
import { toRanges } from '../place/ordinals.js';
import { names } from '../names.js';
import { instanceSetSelector, metadata, podLabels } from './labels.js';
import { podTemplate, ZONE_KEY, type PodPlan } from './podtemplate.js';
import { constant } from './fragment.js';

export interface SetPlan extends PodPlan {
  /** Slots (global ordinals) in this member cluster; default: 0..replicas-1, all default template. */
  slots: OrdinalSlot[];
  templates: ResolvedInstance[];
  roles: boolean;
  storage?: { size: string; class?: string };
  engine: EngineSpec;
  podManagementPolicy: PodManagementPolicy;
  memberUpdateStrategy: MemberUpdateStrategy;
  /** Servers of a spread shard (servers in several member clusters): spec.spread. */
  spreadOver?: SpreadSpec;
}

/**
 * The member clusters a shard's servers are split over, when more than one: no member cluster's
 * controller may then promote a pod of it (spec.spread; docs/updates.md "Spread shards").
 */
export function shardSpread(p: PlacedTopology, shardIndex: number): SpreadSpec | undefined {
  const holders = p.members.filter((m) => m.shards.some((s) => s.index === shardIndex));
  if (holders.length < 2) return undefined;
  return { memberClusters: holders.map((m) => m.memberCluster).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** Secondaries are updated before the primary; only one pod may be primary. */
export const SERVER_ROLES: RoleDefinition[] = constant([
  { name: 'primary', updatePriority: 2, isExclusive: true, participatesInQuorum: true },
  { name: 'secondary', updatePriority: 1, isExclusive: false, participatesInQuorum: true },
]);

const RETAIN_CLAIMS = constant({ whenDeleted: 'Retain', whenScaled: 'Retain' } as const);

/**
 * Slots of a per-member-cluster component (Sentinels, proxies): the i-th member cluster takes
 * ordinals i*replicas .. (i+1)*replicas-1, so their pod names are unique across clusters too.
 */
export function memberSlots(replicas: number, memberIndex: number): OrdinalSlot[] {
  return Array.from({ length: replicas }, (_, i) => ({ ordinal: memberIndex * replicas + i }));
}

function instanceTemplates(p: SetPlan): InstanceTemplate[] {
  const out: InstanceTemplate[] = [];
  for (const tpl of p.templates) {
    const ordinals = p.slots.filter((s) => s.template === tpl.name).map((s) => s.ordinal);
    if (ordinals.length === 0) continue; // this template's pods live in another member cluster
    const nodeSelector = { ...tpl.nodeSelector, ...(tpl.zone !== undefined ? { [ZONE_KEY]: tpl.zone } : {}) };
    out.push({
      name: tpl.name,
      replicas: ordinals.length,
      ordinals: { ranges: toRanges(ordinals) },
      labels: { [LABELS.template]: tpl.name },
      resources: { requests: { ...tpl.resources.requests }, limits: { ...tpl.resources.limits } },
      ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
      ...(tpl.zone !== undefined ? { zone: tpl.zone } : {}),
    });
  }
  return out;
}

export function instanceSet(p: SetPlan): InstanceSet {
  const t = p.topology;
  const defaults = p.slots.filter((s) => s.template === undefined).map((s) => s.ordinal);
  const instances = instanceTemplates(p);
  const spec: InstanceSet['spec'] = {
    replicas: p.slots.length,
    defaultTemplateOrdinals: { ranges: toRanges(defaults) },
    selector: { matchLabels: instanceSetSelector(t, p.component, p.instanceSet) },
    template: podTemplate(p),
    podManagementPolicy: p.podManagementPolicy,
    memberUpdateStrategy: p.memberUpdateStrategy,
    persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
    serviceName: names.headless(p.instanceSet),
    paused: false,
    engine: p.engine,
  };
  if (instances.length > 0) spec.instances = instances;
  if (p.roles) {
    spec.roles = SERVER_ROLES;
    spec.roleProbe = { ...t.probe };
  }
  if (p.spreadOver !== undefined) spec.spread = { memberClusters: [...p.spreadOver.memberClusters] };
  if (p.storage) {
    spec.volumeClaimTemplates = [
      {
        metadata: { name: 'data', labels: instanceSetSelector(t, p.component, p.instanceSet) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(p.storage.class !== undefined ? { storageClassName: p.storage.class } : {}),
          resources: { requests: { storage: p.storage.size } },
          volumeMode: 'Filesystem',
        },
      },
    ];
  }
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: metadata(t, p.instanceSet, podLabels(t, p.component, p.instanceSet, p.shardLabel)),
    spec,
  };
}
