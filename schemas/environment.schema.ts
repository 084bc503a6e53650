// JSON Schema (2020-12) of an environment file (envs/<name>.yaml), the one place its fields are
// defined: schemas/types/environment.ts derives the TypeScript type from it.
import { BYTES_QUANTITY, CIDR, IMAGE, MAX_REPLICAS, MAX_SHARDS, name63, REGISTRY, resourcesSchema, SERVICE_ACCOUNT_REF, VERSION } from './fragments.js';

export const ENVIRONMENT_SCHEMA_ID = 'https://dbtopo.dev/schemas/environment.schema.json';

const podCIDRs = (description: string) =>
  ({ type: 'array', description, minItems: 1, maxItems: 16, uniqueItems: true, items: { type: 'string', pattern: CIDR, maxLength: 43, description: 'A CIDR, e.g. 10.16.0.0/14.' } }) as const;
/** An Argo CD destination: a cluster's API server URL or its name registered in Argo CD. */
const destination = (description: string) =>
  ({
    type: 'object',
    description,
    additionalProperties: false,
    minProperties: 1,
    properties: {
      server: { type: 'string', pattern: '^https://[^\\s]+$', maxLength: 253, description: 'API server URL, e.g. https://kubernetes.default.svc.' },
      name: { type: 'string', minLength: 1, maxLength: 253, description: 'Cluster name registered in Argo CD.' },
    },
  }) as const;
const count = (description: string, maximum: number) => ({ type: 'integer', minimum: 1, maximum, description }) as const;
const image = (description: string) => ({ type: 'string', pattern: IMAGE, maxLength: 255, description }) as const;
const versions = (engine: string) =>
  ({
    type: 'array',
    description: `${engine} versions allowed; an entry also allows its patch releases ("7.2" allows "7.2.4").`,
    uniqueItems: true,
    items: { type: 'string', pattern: VERSION, description: 'Version or version prefix.' },
  }) as const;

export const environmentSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: ENVIRONMENT_SCHEMA_ID,
  title: 'dbtopo environment',
  description: 'One environment (dev, staging, prod...): its member Kubernetes clusters, namespace rule, defaults and policy.',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'memberClusters', 'namespace'],
  properties: {
    name: name63('Environment name; the file is envs/<name>.yaml and topologies key their overrides by it.'),
    memberClusters: {
      type: 'array',
      description: 'Kubernetes clusters of this environment that run databases.',
      minItems: 1,
      items: {
        type: 'object',
        description: 'One member cluster.',
        additionalProperties: false,
        required: ['name', 'destination', 'zones'],
        properties: {
          name: name63('Member cluster name; rendered/<env>/<name>/ holds its manifests.'),
          destination: destination('Argo CD destination of this member cluster: its API server URL or its registered cluster name.'),
          zones: {
            type: 'array',
            description: 'Zones (topology.kubernetes.io/zone values) the cluster\'s nodes run in.',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', description: 'Zone name.' },
          },
          weight: { type: 'integer', minimum: 0, maximum: 1000, description: 'Relative share of topologies placed here when a topology names no member cluster; default 1, 0 takes none.' },
          podCIDRs: podCIDRs('Addresses this member cluster\'s pods connect to other member clusters from: its pod CIDRs with flat pod routing, Submariner Globalnet\'s global CIDR. The servers of a spread shard in the other member clusters admit replication from them (NetworkPolicy ipBlock); without them those servers accept their port from any source (warning DBT5007).'),
        },
      },
    },
    namespace: {
      type: 'string',
      minLength: 1,
      maxLength: 63,
      pattern: '^([a-z0-9-]|\\{[a-z]+\\})+$',
      description: 'Namespace rule, a template over {topology}, {team}, {env} and {engine}, e.g. "db-{team}". A topology\'s namespace field wins.',
    },
    clusterDomain: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
      description: 'DNS domain of the member clusters (the kubelet\'s clusterDomain), default cluster.local. HAProxy re-resolves the -primary Services at run time by their full name, without the pods\' search domains.',
    },
    defaults: {
      type: 'object',
      description: 'Values topologies get when they do not set them.',
      additionalProperties: false,
      properties: {
        storageClass: name63('StorageClass of server volumes.', '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'),
        storageSize: { type: 'string', pattern: BYTES_QUANTITY, description: 'Size of server volumes, e.g. "10Gi".' },
        resources: { ...resourcesSchema, description: 'Resources of each server.' },
        sentinelResources: { ...resourcesSchema, description: 'Resources of each Sentinel.' },
        proxyResources: { ...resourcesSchema, description: 'Resources of each proxy.' },
        images: {
          type: 'object',
          description: 'Image per engine component, e.g. redis: "registry.example.com/redis:7.2.4"; without a tag, the topology version is the tag.',
          additionalProperties: false,
          properties: {
            redis: image('Redis and Redis Sentinel image.'),
            mysql: image('MySQL / MariaDB image.'),
            twemproxy: image('twemproxy (nutcracker) image.'),
            haproxy: image('haproxy image.'),
          },
        },
        probePeriodSeconds: { type: 'integer', minimum: 1, maximum: 300, description: 'Seconds between role probes.' },
        imagePullPolicy: {
          type: 'string',
          enum: ['IfNotPresent', 'Always', 'Never'],
          description: 'imagePullPolicy of every container (default IfNotPresent); Never for clusters whose nodes have the images preloaded and may pull nothing.',
        },
      },
    },
    policy: {
      type: 'object',
      description: 'Rules every topology deployed here must satisfy, checked after its overrides for this environment apply.',
      additionalProperties: false,
      properties: {
        minReplicas: count('Fewest servers per shard.', MAX_REPLICAS),
        maxReplicas: count('Most servers per shard.', MAX_REPLICAS),
        minSentinels: count('Fewest Sentinels, where a topology has Sentinels.', MAX_REPLICAS),
        maxShards: count('Most shards.', MAX_SHARDS),
        requireZoneSpread: { type: 'boolean', description: 'Topologies must set placement.zoneSpread: true.' },
        requireAntiAffinity: { type: 'boolean', description: 'Topologies must set placement.antiAffinity: required.' },
        allowedVersions: {
          type: 'object',
          description: 'Versions allowed per engine; an engine not listed allows any version.',
          additionalProperties: false,
          properties: { redis: versions('Redis'), mysql: versions('MySQL') },
        },
        allowedImageRegistries: {
          type: 'array',
          description: 'Registries (host[:port][/path]) images may come from.',
          uniqueItems: true,
          items: { type: 'string', pattern: REGISTRY, maxLength: 253, description: 'Registry prefix, e.g. registry.example.com/db.' },
        },
        maxResources: { ...resourcesSchema, description: 'Largest CPU and memory any one pod may ask for.' },
      },
    },
    argocd: {
      type: 'object',
      description: 'Where Argo CD reads this environment\'s rendered manifests.',
      additionalProperties: false,
      required: ['repoURL'],
      properties: {
        repoURL: { type: 'string', minLength: 1, maxLength: 2048, description: 'Git repository URL.' },
        targetRevision: { type: 'string', minLength: 1, maxLength: 255, description: 'Branch, tag or commit; default HEAD.' },
        project: name63('Argo CD project; default "default".'),
        namespace: name63('Namespace Argo CD runs in; default "argocd".'),
      },
    },
    federation: {
      type: 'object',
      description: 'The federation API server of this environment: where the Federation objects of topologies with spread shards (servers in several member clusters) are synced, and the federation manager, their one authority, runs against (docs/federation.md). Every field has a default.',
      additionalProperties: false,
      properties: {
        destination: destination('Argo CD destination of the federation API server (rendered/<env>/_federation/); default server https://kubernetes.default.svc, the cluster Argo CD runs in.'),
        podCIDRs: podCIDRs('Addresses the federation manager connects to the engines of spread shards from (its pods\' addresses as the member clusters see them). The servers of spread shards admit them (NetworkPolicy ipBlock); without them those servers accept their port from any source (warning DBT5007).'),
      },
    },
    guard: {
      type: 'object',
      description: 'Admission guard rendered into every member cluster (ValidatingAdmissionPolicies, docs/guard.md): who may change what. Every field has a default.',
      additionalProperties: false,
      properties: {
        gitops: {
          type: 'object',
          description: 'Identities that may create, change and delete Cluster and InstanceSet specs: the GitOps sync. Default: Argo CD\'s application controller, <argocd.namespace>/argocd-application-controller, and kube-system/argocd-manager, the ServiceAccount `argocd cluster add` creates in a member cluster.',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            serviceAccounts: {
              type: 'array',
              description: 'ServiceAccounts as <namespace>/<name>: Argo CD\'s application controller, or the ServiceAccounts an AppProject\'s sync impersonation (destinationServiceAccounts) uses.',
              uniqueItems: true,
              items: { type: 'string', pattern: SERVICE_ACCOUNT_REF, maxLength: 317, description: 'A ServiceAccount, e.g. argocd/argocd-application-controller.' },
            },
            users: { type: 'array', description: 'User names (as the API server authenticates them).', uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 253, description: 'A user name.' } },
            groups: { type: 'array', description: 'Groups whose members sync.', uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 253, description: 'A group name.' } },
          },
        },
        controller: {
          type: 'string',
          pattern: SERVICE_ACCOUNT_REF,
          maxLength: 317,
          description: 'The dbtopo controller\'s ServiceAccount as <namespace>/<name>, the only identity that deletes dbtopo pods and claims, sets role labels and writes status; default dbtopo-system/dbtopo-controller (controller/install/install.yaml).',
        },
        federation: {
          type: 'string',
          pattern: SERVICE_ACCOUNT_REF,
          maxLength: 317,
          description: 'The federation manager\'s ServiceAccount in each member cluster as <namespace>/<name> (the identity its cluster Secret\'s token carries there): it may write status.federation of InstanceSets and nothing else of their status; default dbtopo-system/dbtopo-federation (controller/install/federation.yaml).',
        },
        breakGlassGroup: {
          type: 'string',
          minLength: 1,
          maxLength: 253,
          description: 'Group of on-call engineers who may make an emergency change; the object written must carry the annotation dbtopo.dev/break-glass-reason. Default dbtopo:break-glass.',
        },
      },
    },
  },
} as const;
