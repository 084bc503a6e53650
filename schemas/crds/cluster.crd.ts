// CustomResourceDefinition clusters.dbtopo.dev (v1alpha1); schemas/types/cluster.ts derives the
// Cluster type from its schema.
import { ALL_MODES } from '../modes.js';
import type { KubeObject } from '../types/k8s.js';
import { conditions, objectSchema, int, mapList, namespacedCrd, obj, setList, str, strEnum } from './openapi.js';

const PHASES = ['Creating', 'Running', 'Updating', 'Degraded', 'Failed'] as const;

const spec = obj(
  'The database as compiled for this member cluster.',
  {
    engine: strEnum('Database engine.', ['redis', 'mysql']),
    mode: strEnum('Deployment shape.', [...ALL_MODES]),
    version: str('Engine version.'),
    shards: int('Number of shards (1 when unsharded).', { minimum: 1 }),
    components: mapList('Components and their InstanceSets.', ['name'], obj('One component.', {
      name: str('Component name.'),
      kind: strEnum('Component kind.', ['server', 'sentinel', 'proxy']),
      instanceSets: setList('InstanceSets of this component; one per shard for sharded servers.', { type: 'string' }),
      replicas: int('Pods per InstanceSet.', { minimum: 0 }),
    }, ['name', 'kind', 'instanceSets', 'replicas'])),
    environment: str('Environment this Cluster was compiled for.'),
    topology: str('Topology this Cluster was compiled from.'),
  },
  ['engine', 'mode', 'version', 'shards', 'components', 'environment', 'topology'],
);

const status = obj('Aggregated state of the InstanceSets, written by the controller.', {
  observedGeneration: { type: 'integer', format: 'int64', description: 'Generation last reconciled.' },
  phase: strEnum('Overall phase.', PHASES),
  message: str('Why the phase is what it is.'),
  components: mapList('State per component.', ['name'], obj('One component.', {
    name: str('Component name.'),
    phase: strEnum('Component phase.', PHASES),
    ready: int('Ready pods.'),
    replicas: int('Desired pods.'),
    message: str('Detail.'),
  }, ['name', 'phase', 'ready', 'replicas'])),
  conditions,
});

/** The schema of a Cluster object; schemas/types/cluster.ts derives its type. */
export const clusterSchema = objectSchema(
  'Cluster',
  'Cluster: one Redis or MySQL database as deployed in one member cluster, and its aggregated status.',
  spec,
  status,
);

export const clusterCrd = namespacedCrd({
  kind: 'Cluster',
  plural: 'clusters',
  singular: 'cluster',
  shortNames: ['dbc'],
  subresources: { status: {} },
  columns: [
    { name: 'PHASE', type: 'string', jsonPath: '.status.phase' },
    { name: 'MESSAGE', type: 'string', jsonPath: '.status.message' },
  ],
  schema: clusterSchema,
}) satisfies KubeObject;
