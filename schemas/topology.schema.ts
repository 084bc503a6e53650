// JSON Schema (2020-12) of a topology file, the one place its fields are defined:
// schemas/types/topology.ts derives the TypeScript type from it. Descriptions are what editors
// show through yaml-language-server, and docs/topology-language.md is generated from them.
import {
  BYTES_QUANTITY,
  DNS1035_LABEL,
  labelMap,
  MAX_INSTANCES,
  MAX_REPLICAS,
  MAX_SHARDS,
  name63,
  PARAMETER_NAME,
  resourcesSchema,
  VERSION,
} from './fragments.js';

export const TOPOLOGY_SCHEMA_ID = 'https://dbtopo.dev/schemas/topology.schema.json';
import { MYSQL_MODES, REDIS_MODES } from './modes.js';
export { MYSQL_MODES, REDIS_MODES };

const replicas = (description: string) =>
  ({ type: 'integer', minimum: 1, maximum: MAX_REPLICAS, description }) as const;

const parameters = {
  type: 'object',
  description: 'Engine parameters written into redis.conf or my.cnf, e.g. maxmemory-policy: allkeys-lru. Never passwords: use credentials.',
  propertyNames: { pattern: PARAMETER_NAME, maxLength: 128 },
  // One line each: a newline in a value would smuggle extra directives into the config file.
  additionalProperties: { type: ['string', 'number', 'boolean'], pattern: '^[^\\n\\r\\u0000]*$', maxLength: 1024, description: 'Parameter value, on one line.' },
} as const;

export const topologySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: TOPOLOGY_SCHEMA_ID,
  title: 'dbtopo topology',
  description: 'One Redis or MySQL database as the platform team describes it; compiled per environment into Cluster and InstanceSet manifests.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'engine', 'mode', 'version', 'replicas'],
  properties: {
    name: name63('Topology name, unique in the repository; names the Cluster, InstanceSets, Services and pods. A DNS-1035 label.', DNS1035_LABEL),
    team: name63('Team owning the database; used by the environment namespace rule ({team}).'),
    namespace: name63('Kubernetes namespace to deploy into; overrides the environment namespace rule.'),
    engine: { type: 'string', enum: ['redis', 'mysql'], description: 'Database engine.' },
    mode: {
      type: 'string',
      enum: [...REDIS_MODES, ...MYSQL_MODES],
      description: 'Deployment shape. redis: standalone (one server), replication (primary + replicas with Sentinel), proxied-replication (primary + replicas behind twemproxy), sharded (several primary/replica shards behind twemproxy). mysql: primary-replica (optionally semi-sync, optionally behind haproxy).',
    },
    version: { type: 'string', pattern: VERSION, description: 'Engine version, e.g. "7.2.4" for Redis or "10.11" for MySQL/MariaDB; selects the image tag.' },
    replicas: replicas('Servers per shard, primary included (1..100). Standalone takes exactly 1.'),
    shards: { type: 'integer', minimum: 1, maximum: MAX_SHARDS, description: 'Number of shards (1..64); mode sharded only.' },
    resources: { $ref: '#/$defs/resources' },
    storage: { $ref: '#/$defs/storage' },
    placement: { $ref: '#/$defs/placement' },
    sentinel: { $ref: '#/$defs/sentinel' },
    proxy: { $ref: '#/$defs/proxy' },
    replication: {
      type: 'object',
      description: 'MySQL replication: async, or semi-sync (the primary waits for one replica to acknowledge each commit).',
      additionalProperties: false,
      required: ['mode'],
      properties: { mode: { type: 'string', enum: ['async', 'semi-sync'], description: 'Replication mode.' } },
    },
    parameters,
    instances: { $ref: '#/$defs/instances' },
    credentials: {
      type: 'object',
      description: 'Admin credentials of the engine, only ever as references to Kubernetes Secrets in the target namespace.',
      additionalProperties: false,
      required: ['password'],
      properties: {
        password: { $ref: '#/$defs/secretRef', description: 'Secret key holding the admin password.' },
        username: { $ref: '#/$defs/secretRef', description: 'Secret key holding the admin user name (MySQL).' },
      },
    },
    environments: {
      type: 'array',
      description: 'Environments this topology is deployed to; default: all environments.',
      uniqueItems: true,
      minItems: 1,
      items: name63('Environment name (envs/<name>.yaml).'),
    },
    overrides: {
      type: 'object',
      description: 'Per-environment changes, keyed by environment name, e.g. overrides.prod.replicas: 3.',
      propertyNames: { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
      additionalProperties: { $ref: '#/$defs/override' },
    },
  },
  allOf: [
    {
      if: { type: 'object', required: ['engine'], properties: { engine: { const: 'redis' } } },
      then: { type: 'object', properties: { mode: { enum: [...REDIS_MODES] } } },
    },
    {
      if: { type: 'object', required: ['engine'], properties: { engine: { const: 'mysql' } } },
      then: { type: 'object', properties: { mode: { enum: [...MYSQL_MODES] } } },
    },
  ],
  $defs: {
    resources: resourcesSchema,
    storage: {
      type: 'object',
      description: 'Persistent volume of each server.',
      additionalProperties: false,
      required: ['size'],
      properties: {
        size: { type: 'string', pattern: BYTES_QUANTITY, description: 'Volume size, e.g. "20Gi".' },
        class: name63('StorageClass; default: the environment default.', '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'),
      },
    },
    storageOverride: {
      type: 'object',
      description: 'Changes to the persistent volume of each server.',
      additionalProperties: false,
      properties: {
        size: { type: 'string', pattern: BYTES_QUANTITY, description: 'Volume size, e.g. "20Gi".' },
        class: name63('StorageClass.', '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'),
      },
    },
    placement: {
      type: 'object',
      description: 'Where the pods run.',
      additionalProperties: false,
      properties: {
        zoneSpread: { type: 'boolean', description: 'Spread each shard\'s servers across the member cluster\'s zones (topologySpreadConstraints).' },
        antiAffinity: { type: 'string', enum: ['required', 'preferred', 'none'], description: 'Keep servers of one shard off the same node: required, preferred (default) or none.' },
        exclusiveCpu: { type: 'boolean', description: 'Guaranteed QoS with whole CPUs (requests = limits), for the static CPU manager policy; cpu must be an integer.' },
        memberClusters: {
          type: 'array',
          description: 'Member clusters this topology runs in; default: one chosen by the environment\'s weights. Usually set per environment under overrides.',
          uniqueItems: true,
          minItems: 1,
          items: name63('Member cluster name (envs/<env>.yaml memberClusters[].name).'),
        },
        memberClusterLoss: {
          type: 'string',
          enum: ['pause-writes'],
          description:
            'What losing one member cluster costs a shard spread over fewer than three member clusters, acknowledged: pause-writes (its primary needs a replica in another member cluster to acknowledge a write, so with two member clusters, writes pause until the lost one returns; nothing acknowledged is lost). Without it such a placement is error DBT5010.',
        },
        nodeSelector: labelMap('Node labels the pods must run on.'),
      },
    },
    instance: {
      type: 'object',
      description: 'A heterogeneous instance: `replicas` of the servers that differ from the common shape (more memory, another zone).',
      additionalProperties: false,
      required: ['name', 'replicas'],
      properties: {
        name: name63('Instance template name, unique in the topology.'),
        replicas: replicas('How many servers of each shard take this shape.'),
        resources: { $ref: '#/$defs/resources' },
        zone: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', description: 'Zone these servers must run in (topology.kubernetes.io/zone).' },
        nodeSelector: labelMap('Node labels these servers must run on.'),
      },
    },
    instances: {
      type: 'array',
      description: 'Heterogeneous instances; their replicas together must not exceed the topology replicas.',
      maxItems: MAX_INSTANCES,
      items: { $ref: '#/$defs/instance' },
    },
    secretRef: {
      type: 'object',
      description: 'A key of a Kubernetes Secret.',
      additionalProperties: false,
      required: ['name', 'key'],
      properties: {
        name: name63('Secret name.', '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'),
        key: { type: 'string', pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253, description: 'Key within the Secret.' },
      },
    },
    sentinel: {
      type: 'object',
      description: 'Redis Sentinel watching the primaries and promoting a replica when one fails (mode replication; optional for sharded).',
      additionalProperties: false,
      required: ['replicas', 'quorum'],
      properties: {
        replicas: replicas('Number of Sentinel processes; 3 or 5 is usual.'),
        quorum: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS, description: 'Sentinels that must agree a primary is down; at most replicas, a majority is usual.' },
        resources: { $ref: '#/$defs/resources' },
      },
    },
    sentinelOverride: {
      type: 'object',
      description: 'Changes to the Sentinel block.',
      additionalProperties: false,
      properties: {
        replicas: replicas('Number of Sentinel processes.'),
        quorum: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS, description: 'Sentinels that must agree a primary is down.' },
        resources: { $ref: '#/$defs/resources' },
      },
    },
    proxy: {
      type: 'object',
      description: 'Proxy in front of the servers: twemproxy (nutcracker) for Redis, haproxy for MySQL.',
      additionalProperties: false,
      required: ['replicas'],
      properties: {
        kind: { type: 'string', enum: ['twemproxy', 'haproxy'], description: 'Proxy software; default twemproxy for redis, haproxy for mysql.' },
        replicas: replicas('Number of proxy pods.'),
        resources: { $ref: '#/$defs/resources' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port clients connect to; default the engine port (6379 / 3306).' },
      },
    },
    proxyOverride: {
      type: 'object',
      description: 'Changes to the proxy block.',
      additionalProperties: false,
      properties: {
        kind: { type: 'string', enum: ['twemproxy', 'haproxy'], description: 'Proxy software.' },
        replicas: replicas('Number of proxy pods.'),
        resources: { $ref: '#/$defs/resources' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Port clients connect to.' },
      },
    },
    override: {
      type: 'object',
      description: 'Fields one environment changes; scalars replace, blocks merge field by field, instances replace the whole list.',
      additionalProperties: false,
      properties: {
        version: { type: 'string', pattern: VERSION, description: 'Engine version in this environment.' },
        replicas: replicas('Servers per shard in this environment.'),
        shards: { type: 'integer', minimum: 1, maximum: MAX_SHARDS, description: 'Number of shards in this environment.' },
        resources: { $ref: '#/$defs/resources' },
        storage: { $ref: '#/$defs/storageOverride' },
        sentinel: { $ref: '#/$defs/sentinelOverride' },
        proxy: { $ref: '#/$defs/proxyOverride' },
        placement: { $ref: '#/$defs/placement' },
        parameters,
        instances: { $ref: '#/$defs/instances' },
      },
    },
  },
} as const;
