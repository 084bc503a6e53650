// place: a resolved topology → the member clusters it runs in, with each shard's servers split
// over them (global ordinals). Pure; problems come back for the caller to locate.

import type { Environment } from '../../schemas/types/index.js';
import type { MemberPlacement, PlacedTopology, ResolvedTopology } from '../model.js';
import { names } from '../names.js';
import { splitShard } from './ordinals.js';
import { rendezvousPick } from './rendezvous.js';
import { MODES } from '../../schemas/modes.js';

export interface PlaceProblem {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint: string;
  /** Path inside the topology file the problem is about. */
  path: Array<string | number>;
}

export interface PlaceResult {
  placed?: PlacedTopology;
  problems: PlaceProblem[];
}

export function placeTopology(t: ResolvedTopology, env: Environment): PlaceResult {
  const problems: PlaceProblem[] = [];
  const known = new Map(env.memberClusters.map((m) => [m.name, m]));
  let chosen: string[];
  if (t.placement.memberClusters.length > 0) {
    chosen = [];
    t.placement.memberClusters.forEach((name, i) => {
      if (known.has(name)) chosen.push(name);
      else {
        problems.push({
          code: 'DBT5002',
          severity: 'error',
          message: `member cluster "${name}" is not in environment "${env.name}"`,
          hint: `use one of: ${[...known.keys()].join(', ') || '(the environment has none)'}`,
          path: ['placement', 'memberClusters', i],
        });
      }
    });
  } else {
    // Instances pinned to zones decide: the member clusters owning those zones, in environment order.
    const zones = new Set(t.server.instances.flatMap((i) => (i.zone !== undefined ? [i.zone] : [])));
    chosen = env.memberClusters.filter((m) => m.zones.some((z) => zones.has(z))).map((m) => m.name);
    if (chosen.length === 0) {
      const pick = rendezvousPick(t.name, env.memberClusters);
      chosen = pick === undefined ? [] : [pick];
    }
  }
  if (chosen.length === 0) {
    if (problems.length === 0) {
      problems.push({
        code: 'DBT5003',
        severity: 'error',
        message: `environment "${env.name}" has no member cluster to place "${t.name}" in`,
        hint: 'add a member cluster to the environment file',
        path: ['name'],
      });
    }
    return { problems };
  }
  const members = chosen.map((name) => ({ name, zones: known.get(name)?.zones ?? [] }));
  const placements: MemberPlacement[] = members.map((m, index) => ({ memberCluster: m.name, index, zones: [...m.zones], shards: [] }));
  const sharded = MODES[t.mode].sharded;
  const unknown = new Set<string>();
  for (let shard = 0; shard < t.server.shards; shard++) {
    const split = splitShard(t.server.replicas, t.server.instances, members);
    split.unknownZones.forEach((z) => unknown.add(z));
    split.perMember.forEach((slots, i) => {
      if (slots.length === 0) return; // this member cluster runs no server of the shard
      placements[i]?.shards.push({
        index: shard,
        ...(sharded ? { shardLabel: String(shard) } : {}),
        instanceSet: names.serverSet(t.name, sharded ? shard : undefined),
        totalReplicas: t.server.replicas,
        slots,
      });
    });
  }
  for (const template of [...unknown].sort()) {
    const i = t.server.instances.findIndex((x) => x.name === template);
    problems.push({
      code: 'DBT5004',
      severity: 'error',
      message: `instance "${template}" asks for zone "${t.server.instances[i]?.zone}", which none of its member clusters (${chosen.join(', ')}) has`,
      hint: 'pick a zone listed under the member cluster in the environment file, or add the member cluster to placement.memberClusters',
      path: ['instances', i, 'zone'],
    });
  }
  // A member cluster without servers, Sentinels or proxies would only get empty objects.
  const perMember = Boolean(t.sentinel) || Boolean(t.proxy);
  const used = placements.filter((m) => perMember || m.shards.length > 0);
  for (const m of placements) {
    if (used.includes(m)) continue;
    problems.push({
      code: 'DBT5005',
      severity: 'warning',
      message: `member cluster "${m.memberCluster}" gets no server of "${t.name}" (${t.server.replicas} per shard over ${placements.length} member clusters) and is left out`,
      hint: 'list fewer member clusters in placement.memberClusters, or raise replicas',
      path: ['placement', 'memberClusters'],
    });
  }
  return { placed: { topology: t, members: used }, problems };
}
