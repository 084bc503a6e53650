// The Cluster object: the whole database as deployed in one member cluster.

import { API_VERSION } from '../../schemas/types/index.js';
import type { Cluster, ClusterComponent } from '../../schemas/types/index.js';
import type { ClusterSpec } from '../../schemas/types/index.js';
import type { ResolvedTopology } from '../model.js';
import { names } from '../names.js';
import type { SetPlan } from './instanceset.js';
import { metadata, topologyLabels, type Component } from './labels.js';

const ORDER: Component[] = ['server', 'sentinel', 'proxy'];

export function clusterObject(t: ResolvedTopology, plans: readonly SetPlan[]): Cluster {
  const components: ClusterComponent[] = [];
  for (const kind of ORDER) {
    const sets = plans.filter((p) => p.component === kind);
    if (sets.length === 0) continue;
    components.push({
      name: kind,
      kind,
      instanceSets: sets.map((p) => p.instanceSet),
      replicas: sets.reduce((n, p) => n + p.slots.length, 0),
    });
  }
  const spec: ClusterSpec = {
    engine: t.engine,
    mode: t.mode,
    version: t.version,
    shards: t.server.shards,
    components,
    environment: t.env,
    topology: t.name,
  };
  return { apiVersion: API_VERSION, kind: 'Cluster', metadata: metadata(t, names.cluster(t.name), topologyLabels(t)), spec };
}
