// The Federation object of a topology in one environment (schemas/crds/federation.crd.ts): its
// spread shards (servers placed in several member clusters, shardSpread()), each member cluster's
// ordinals and pods with the names other member clusters reach them by. It goes to the federation
// API server (rendered/<env>/_federation/), where the federation manager, the one authority of a
// spread shard, reads it (docs/federation.md). None for a topology without a spread shard. Pure.

import { API_VERSION, type Federation, type FederationShard } from '../../schemas/types/index.js';
import { CODES } from '../diagnostics/codes.js';
import type { MemberPlacement, PlacedTopology } from '../model.js';
import type { PlaceProblem } from '../place/index.js';
import type { Topology } from '../../schemas/types/index.js';
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

/**
 * What the servers of this member cluster's spread shards must admit besides the topology's own
 * pods here: the pods of the other member clusters holding those shards (replication; proxies
 * reaching a remote primary through the -primary Service) and the federation manager (probes,
 * wiring). `cidrs`: the ranges they connect from; `missing`: the member clusters (and
 * "the federation manager") the environment gives no podCIDRs for. Undefined: no spread shard here.
 */
export function spreadPeers(p: PlacedTopology, member: MemberPlacement): { cidrs: string[]; missing: string[] } | undefined {
  const others = new Set<string>();
  for (const s of member.shards) for (const m of shardSpread(p, s.index)?.memberClusters ?? []) if (m !== member.memberCluster) others.add(m);
  if (others.size === 0) return undefined;
  const net = p.topology.network;
  const cidrs: string[] = [];
  const missing: string[] = [];
  for (const m of [...others].sort()) {
    const own = net.podCIDRs[m];
    if (own) cidrs.push(...own);
    else missing.push(`member cluster ${m}`);
  }
  if (net.federationPodCIDRs) cidrs.push(...net.federationPodCIDRs);
  else missing.push('the federation manager');
  return { cidrs: [...new Set(cidrs)], missing };
}

/**
 * Problems of a topology's spread shards in one environment, located in its file; `source` is the
 * topology as written (with the environment's overrides), for where a default came from.
 */
export function spreadProblems(p: PlacedTopology, source: Pick<Topology, 'replication' | 'placement'>): PlaceProblem[] {
  const t = p.topology;
  const out: PlaceProblem[] = [];
  const spread = Array.from({ length: t.server.shards }, (_, i) => i).filter((i) => shardSpread(p, i) !== undefined);
  if (spread.length === 0) return out;
  const shardNames = spread.map((i) => p.members.flatMap((m) => m.shards.filter((s) => s.index === i).map((s) => s.instanceSet))[0] ?? String(i)).join(', ');
  const over = [...new Set(spread.flatMap((i) => shardSpread(p, i)?.memberClusters ?? []))].join(', ');
  if (t.engine === 'mysql' && t.replication.mode === 'async') {
    out.push({
      code: 'DBT5008',
      severity: 'error',
      message: `${shardNames} is spread over member clusters ${over} with asynchronous replication: a primary cut off from its replicas would go on acknowledging writes the federation manager's failover then loses`,
      hint: CODES.DBT5008.hint,
      path: source.replication?.mode !== undefined ? ['replication', 'mode'] : ['engine'],
    });
  }
  // Losing a member cluster: the primary needs a replica in another member cluster to acknowledge
  // a write (MariaDB semi-sync acknowledgements, Redis min-replicas-to-write: decide.ts
  // acknowledgesFor / replicasRequired), so a shard stays writable through the loss of any one
  // member cluster only when its servers live in three or more (measured with two: writes pause,
  // none lost, and resume 0.5–4.3 s after the member cluster returns, docs/federation.md).
  const fragile = spread.filter((i) => (shardSpread(p, i)?.memberClusters.length ?? 0) < 3);
  if (fragile.length > 0 && t.placement.memberClusterLoss !== 'pause-writes') {
    const named = fragile.map((i) => p.members.flatMap((m) => m.shards.filter((s) => s.index === i).map((s) => s.instanceSet))[0] ?? String(i)).join(', ');
    out.push({
      code: 'DBT5010',
      severity: 'error',
      message: `${named} ${fragile.length === 1 ? 'is' : 'are'} spread over only ${[...new Set(fragile.flatMap((i) => shardSpread(p, i)?.memberClusters ?? []))].join(' and ')}: while either member cluster is lost, no replica in another member cluster can acknowledge a write, so writes pause until it returns`,
      hint: CODES.DBT5010.hint,
      path: source.placement?.memberClusters !== undefined ? ['placement', 'memberClusters'] : ['name'],
    });
  }
  if (t.sentinel) {
    out.push({
      code: 'DBT5009',
      severity: 'warning',
      message: `the Sentinels of ${t.name} do not watch ${shardNames}, which ${spread.length === 1 ? 'is' : 'are'} spread over member clusters ${over}: the federation manager is ${spread.length === 1 ? 'its' : 'their'} failure detector and decides ${spread.length === 1 ? 'its' : 'their'} primary`,
      hint: CODES.DBT5009.hint,
      path: ['sentinel'],
    });
  }
  const missing = new Set<string>();
  for (const m of p.members) for (const x of spreadPeers(p, m)?.missing ?? []) missing.add(x);
  if (missing.size > 0 && t.proxy) {
    out.push({
      code: 'DBT5007',
      severity: 'warning',
      message: `the servers of ${t.name}'s spread shards accept port ${t.server.port} from any source: the environment gives no podCIDRs for ${[...missing].sort().join(', ')}, which must reach them across member clusters`,
      hint: CODES.DBT5007.hint,
      path: t.placement.memberClusters.length > 0 ? ['placement', 'memberClusters'] : ['name'],
    });
  }
  return out;
}
