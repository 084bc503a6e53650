// The Federation object of a topology in one environment (schemas/crds/federation.crd.ts): its
// spread shards (servers placed in several member clusters, shardSpread()), each member cluster's
// ordinals and pods with the names other member clusters reach them by. It goes to the federation
// API server (rendered/<env>/_federation/), where the federation manager, the one authority of a
// spread shard, reads it (docs/federation.md). None for a topology without a spread shard. Pure.

import { API_VERSION, type Federation, type FederationShard } from '../../schemas/types/index.js';
import type { PlacedTopology } from '../model.js';
import { names, podClusterSetHost } from '../names.js';
import { shardSpread } from './instanceset.js';
import { metadata, topologyLabels } from './labels.js';

/**
 * `order`: the environment's member clusters in rollout order (compiler/rollout/order.ts
 * memberOrder: the canary first), which the spec's lists follow.
 */
export function federationObject(p: PlacedTopology, order: readonly string[]): Federation | undefined {
  const t = p.topology;
  const rank = (m: string): number => {
    const i = order.indexOf(m);
    return i < 0 ? order.length : i;
  };
  const members = [...p.members].sort((a, b) => rank(a.memberCluster) - rank(b.memberCluster));
  const shards: FederationShard[] = [];
  for (let index = 0; index < t.server.shards; index++) {
    if (shardSpread(p, index) === undefined) continue;
    let instanceSet: string | undefined;
    const parts: FederationShard['members'] = [];
    for (const m of members) {
      const placed = m.shards.find((s) => s.index === index);
      if (placed === undefined) continue;
      instanceSet = placed.instanceSet;
      const ordinals = placed.slots.map((s) => s.ordinal);
      parts.push({
        memberCluster: m.memberCluster,
        ordinals,
        pods: ordinals.map((o) => ({ name: names.pod(placed.instanceSet, o), clusterSetName: podClusterSetHost(placed.instanceSet, o, m.memberCluster, t.namespace) })),
      });
    }
    if (instanceSet === undefined) continue;
    shards.push({
      name: instanceSet,
      primaryService: names.primary(instanceSet),
      headlessService: names.headless(instanceSet),
      port: t.server.port,
      members: parts,
    });
  }
  if (shards.length === 0) return undefined;
  const memberClusters = members.map((m) => m.memberCluster).filter((m) => shards.some((s) => s.members.some((x) => x.memberCluster === m)));
  return {
    apiVersion: API_VERSION,
    kind: 'Federation',
    metadata: metadata(t, names.federation(t.name), topologyLabels(t)),
    spec: { topology: t.name, environment: t.env, engine: t.engine, memberClusters, shards },
  };
}
