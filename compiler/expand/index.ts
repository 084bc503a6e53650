// expand: a placed topology → the Kubernetes objects of each of its member clusters. Pure.

import type { KubeObject } from '../../schemas/types/index.js';
import type { MemberPlacement, PlacedTopology } from '../model.js';
import { clusterObject } from './cluster.js';
import { configMap } from './configmaps.js';
import { instanceSet, type SetPlan } from './instanceset.js';
import { mysqlPlans } from './mysql.js';
import { networkPolicies } from './networkpolicy.js';
import { pdb } from './pdb.js';
import { redisPlans } from './redis.js';
import { proxyService, serviceExport, setServices } from './services.js';
import { spreadPeers } from './federation.js';

export interface MemberObjects {
  memberCluster: string;
  namespace: string;
  objects: KubeObject[];
}

export function plansFor(p: PlacedTopology, member: MemberPlacement): SetPlan[] {
  return p.topology.engine === 'redis' ? redisPlans(p, member) : mysqlPlans(p, member);
}

export function expandMember(p: PlacedTopology, member: MemberPlacement): MemberObjects {
  const t = p.topology;
  const plans = plansFor(p, member);
  // Spread: Cluster and InstanceSet are closed interfaces; a copy is an open KubeObject.
  const objects: KubeObject[] = [{ ...clusterObject(t, plans) }];
  for (const plan of plans) {
    objects.push({ ...instanceSet(plan) });
    objects.push(configMap(t, plan.component, plan.instanceSet, plan.shardLabel, plan.configFiles));
    objects.push(...setServices(plan));
    // A spread shard's pods are reached from the other member clusters by their clusterset names.
    if (plan.spreadOver !== undefined) objects.push(serviceExport(plan));
    objects.push(pdb(plan));
  }
  const proxy = proxyService(t);
  if (proxy && plans.some((x) => x.component === 'proxy')) objects.push(proxy);
  objects.push(...networkPolicies(t, new Set(plans.map((x) => x.component)), spreadPeers(p, member)));
  return { memberCluster: member.memberCluster, namespace: t.namespace, objects };
}

export function expandTopology(p: PlacedTopology): MemberObjects[] {
  return p.members.map((m) => expandMember(p, m));
}
