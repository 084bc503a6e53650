// The catalogue of diagnostic codes. Codes are stable: tests, docs and users' CI scripts match on
// them, so a code is never reused for another meaning (retire it instead).
// Ranges: DBT1xxx load, DBT2xxx schema, DBT3xxx semantic, DBT4xxx policy, DBT5xxx expand/emit,
// DBT9xxx cli. docs/diagnostics.md is generated from this table by `npm run schemas`.

export interface CodeInfo {
  title: string;
  /** Default hint; a diagnostic may carry a more specific one. */
  hint: string;
  severity: 'error' | 'warning';
}

export const CODES = {
  // ── load: the file as YAML ──────────────────────────────────────────────────────────────
  DBT1101: { title: 'malformed YAML', hint: 'fix the YAML syntax at this position (indentation, unclosed brackets or quotes, tabs)', severity: 'error' },
  DBT1102: { title: 'duplicate key', hint: 'each key may appear once per mapping; remove or rename one of them', severity: 'error' },
  DBT1103: { title: 'YAML anchors and aliases are not allowed', hint: 'write the value out in full; anchors (&a), aliases (*a) and merge keys (<<) are rejected because they can expand into huge documents', severity: 'error' },
  DBT1104: { title: 'forbidden key', hint: 'keys named __proto__, constructor or prototype are rejected; rename the key', severity: 'error' },
  DBT1105: { title: 'more than one YAML document', hint: 'put one topology or environment per file; remove the "---" separator and move the rest to its own file', severity: 'error' },
  DBT1106: { title: 'file is not a mapping', hint: 'the file must be a YAML mapping of fields, e.g. "name: orders-db"', severity: 'error' },
  DBT1107: { title: 'YAML tag not allowed', hint: 'remove the explicit tag (!!js/function, !custom ...); plain values are typed by the schema', severity: 'error' },
  DBT1108: { title: 'empty file', hint: 'write a topology or environment into the file, or delete it', severity: 'error' },
  DBT1109: { title: 'file too large', hint: 'topology and environment files are short; split the file or remove generated content', severity: 'error' },
  DBT1110: { title: 'key is not a plain string', hint: 'use plain text keys; complex keys ("? [a, b]") and null keys are not allowed', severity: 'error' },
  DBT1111: { title: 'no environment files', hint: 'add at least one envs/<name>.yaml to the repository', severity: 'warning' },

  // ── schema: the shape of a file ─────────────────────────────────────────────────────────
  DBT2001: { title: 'unknown field', hint: 'remove the field or fix its spelling', severity: 'error' },
  DBT2002: { title: 'missing required field', hint: 'add the field', severity: 'error' },
  DBT2003: { title: 'wrong type', hint: 'change the value to the expected type', severity: 'error' },
  DBT2004: { title: 'value not allowed', hint: 'use one of the listed values', severity: 'error' },
  DBT2005: { title: 'value has the wrong format', hint: 'names are DNS-1123 labels (lowercase letters, digits, "-"); quantities look like "500m", "2", "4Gi"', severity: 'error' },
  DBT2006: { title: 'number out of range', hint: 'use a number within the documented range', severity: 'error' },
  DBT2007: { title: 'value too long or too short', hint: 'shorten or lengthen the value to the documented size', severity: 'error' },
  DBT2008: { title: 'duplicate list item', hint: 'list each item once', severity: 'error' },
  DBT2009: { title: 'mode does not fit the engine', hint: 'redis modes: standalone, replication, proxied-replication, sharded; mysql mode: primary-replica', severity: 'error' },
  DBT2010: { title: 'credential written as a literal', hint: 'reference a Kubernetes Secret instead: password: { name: <secret>, key: <key> }', severity: 'error' },
  DBT2099: { title: 'schema violation', hint: 'see the topology language reference (docs/topology-language.md)', severity: 'error' },

  // ── semantic: a well-shaped file that describes something impossible ───────────────────
  DBT3001: { title: 'replica count out of range', hint: 'replicas must be between 1 and 100', severity: 'error' },
  DBT3002: { title: 'standalone with more than one replica', hint: 'standalone Redis has exactly one server; use mode replication for replicas', severity: 'error' },
  DBT3010: { title: 'shard count out of range', hint: 'shards must be between 1 and 64', severity: 'error' },
  DBT3011: { title: 'shards on a mode that is not sharded', hint: 'remove shards, or use engine redis with mode sharded', severity: 'error' },
  DBT3012: { title: 'sharded mode without shards', hint: 'set shards (for example shards: 3)', severity: 'error' },
  DBT3020: { title: 'sentinel quorum larger than the number of sentinels', hint: 'quorum must be at most sentinel.replicas; a majority (replicas/2 + 1) is usual', severity: 'error' },
  DBT3021: { title: 'sentinel quorum below 1', hint: 'quorum must be at least 1; a majority of the sentinels is usual', severity: 'error' },
  DBT3022: { title: 'sentinel on a mode that does not take it', hint: 'sentinels watch Redis replication; remove the sentinel block', severity: 'error' },
  DBT3023: { title: 'sentinel missing', hint: 'mode replication needs a sentinel block for failover, e.g. sentinel: { replicas: 3, quorum: 2 }', severity: 'error' },
  DBT3030: { title: 'proxy on a mode that does not take it', hint: 'remove the proxy block, or choose a mode with a proxy (proxied-replication, sharded, primary-replica)', severity: 'error' },
  DBT3031: { title: 'proxy missing', hint: 'this mode reaches its servers through a proxy; add proxy: { replicas: 2 }', severity: 'error' },
  DBT3032: { title: 'proxy kind does not fit the engine', hint: 'redis uses twemproxy, mysql uses haproxy', severity: 'error' },
  DBT3040: { title: 'instance templates exceed the replicas', hint: 'the replicas of all instances together must be at most the topology replicas', severity: 'error' },
  DBT3041: { title: 'duplicate instance name', hint: 'give each instance template its own name', severity: 'error' },
  DBT3050: { title: 'exclusive CPU needs a whole number of CPUs', hint: 'with placement.exclusiveCpu, set cpu to an integer such as "2" (not "500m" or "1.5")', severity: 'error' },
  DBT3060: { title: 'generated name too long', hint: 'pod and Service names must be at most 63 characters; shorten the topology name', severity: 'error' },
  DBT3070: { title: 'duplicate topology name', hint: 'topology names are unique across the repository; rename one of them', severity: 'error' },
  DBT3071: { title: 'duplicate environment name', hint: 'environment names are unique; rename one of them', severity: 'error' },
  DBT3072: { title: 'environment name differs from its file name', hint: 'name the file envs/<name>.yaml after the environment it holds', severity: 'warning' },
  DBT3080: { title: 'override for an unknown environment', hint: 'overrides are keyed by environment name; use one of the environments in envs/', severity: 'error' },
  DBT3081: { title: 'unknown environment', hint: 'list environments that exist in envs/', severity: 'error' },
  DBT3082: { title: 'override for an environment the topology is not deployed to', hint: 'add the environment to "environments" or remove the override', severity: 'warning' },
  DBT3090: { title: 'unknown member cluster', hint: 'use a member cluster of the environment (envs/<env>.yaml memberClusters[].name); per-environment lists go under overrides.<env>.placement', severity: 'error' },
  DBT3091: { title: 'zone not offered by the environment', hint: 'use a zone listed by one of the environment\'s member clusters', severity: 'error' },
  DBT3092: { title: 'zone spread over a single zone', hint: 'the member clusters chosen offer one zone, so spreading has no effect; add zones to the environment or place the topology elsewhere', severity: 'warning' },
  DBT3100: { title: 'replication setting does not fit the engine', hint: 'semi-sync replication is a MySQL feature; remove replication for Redis', severity: 'error' },
  DBT3101: { title: 'semi-sync replication without a replica', hint: 'semi-sync makes the primary wait for a replica; use replicas >= 2 or replication mode async', severity: 'warning' },
  DBT3102: { title: 'MySQL topology without credentials', hint: 'add credentials.username and credentials.password (Secret references); the rendered init file creates that account for the controller, replication and clients', severity: 'warning' },
  DBT3110: { title: 'secret in parameters', hint: 'passwords never go into parameters; use credentials.password with a Secret reference', severity: 'error' },
  DBT3111: { title: 'parameter managed by dbtopo', hint: 'remove the parameter: dbtopo sets it (replication, ports, paths, identity); use the topology fields instead', severity: 'error' },
  DBT3120: { title: 'duplicate member cluster name', hint: 'member cluster names are unique within an environment', severity: 'error' },
  DBT3121: { title: 'unknown placeholder in namespace rule', hint: 'the namespace rule may use {topology}, {team}, {env} and {engine}', severity: 'error' },
  DBT3122: { title: 'contradictory policy', hint: 'the minimum must not exceed the maximum', severity: 'error' },
  DBT3124: { title: 'namespace rule gives an invalid namespace', hint: 'namespaces are DNS-1123 labels of at most 63 characters; set namespace in the topology or shorten the rule', severity: 'error' },
  DBT3130: { title: 'GitOps identity that never syncs', hint: 'name the identity Argo CD syncs as: its application controller (<argocd namespace>/argocd-application-controller), or the ServiceAccount of the AppProject\'s sync impersonation', severity: 'error' },
  DBT3131: { title: 'guard would lock out the controller', hint: 'guard.controller must be the dbtopo controller\'s ServiceAccount (<install namespace>/dbtopo-controller, controller/install/install.yaml) and must not also be a GitOps identity', severity: 'error' },
  DBT3132: { title: 'guard identity that everyone has', hint: 'system:authenticated, system:unauthenticated and system:serviceaccounts include every caller or every ServiceAccount; name a group of its own', severity: 'error' },
  DBT3133: { title: 'federation manager identity that may do more', hint: 'guard.federation must be a ServiceAccount of its own (default dbtopo-system/dbtopo-federation, controller/install/federation.yaml): neither the controller nor a GitOps identity, or the federation manager could write status or specs it must not', severity: 'error' },
  DBT3125: { title: 'reserved member cluster name', hint: 'rename the member cluster: "federation" is the Argo CD Application (dbtopo-<env>-federation) that syncs the Federation objects to the federation API server', severity: 'error' },
  DBT3123: { title: 'namespace rule needs a team', hint: 'the environment\'s namespace rule uses {team}; set team in the topology or namespace explicitly', severity: 'error' },

  // ── policy: allowed in general, forbidden by this environment ──────────────────────────
  DBT4001: { title: 'fewer replicas than the environment requires', hint: 'raise replicas (or overrides.<env>.replicas) to the policy minimum', severity: 'error' },
  DBT4002: { title: 'more replicas than the environment allows', hint: 'lower replicas (or overrides.<env>.replicas) to the policy maximum', severity: 'error' },
  DBT4003: { title: 'fewer sentinels than the environment requires', hint: 'raise sentinel.replicas (or overrides.<env>.sentinel.replicas) to the policy minimum', severity: 'error' },
  DBT4004: { title: 'more shards than the environment allows', hint: 'lower shards (or overrides.<env>.shards) to the policy maximum', severity: 'error' },
  DBT4005: { title: 'zone spread required', hint: 'set placement.zoneSpread: true (or in overrides.<env>.placement)', severity: 'error' },
  DBT4006: { title: 'anti-affinity required', hint: 'set placement.antiAffinity: required (or in overrides.<env>.placement)', severity: 'error' },
  DBT4007: { title: 'version not allowed', hint: 'use a version the environment allows (policy.allowedVersions)', severity: 'error' },
  DBT4008: { title: 'resources above the environment maximum', hint: 'lower the request to at most policy.maxResources', severity: 'error' },
  DBT4009: { title: 'image registry not allowed', hint: 'pull images from a registry in policy.allowedImageRegistries', severity: 'error' },

  // ── expand / emit (raised by compiler/place and compiler/compile; listed here for the docs) ──
  DBT5001: { title: 'object rendered by two topologies', hint: 'give the topologies different names or namespaces; every object must come from one topology', severity: 'error' },
  DBT5002: { title: 'placement names an unknown member cluster', hint: 'use a member cluster listed in the environment file', severity: 'error' },
  DBT5003: { title: 'no member cluster to place the topology in', hint: 'add a member cluster to the environment file', severity: 'error' },
  DBT5004: { title: 'instance zone not offered by its member clusters', hint: 'pick a zone listed under the member cluster in the environment file, or add the member cluster to placement.memberClusters', severity: 'error' },
  DBT5006: { title: 'two environments share a federation API server', hint: 'set federation.destination of this environment to a cluster of its own: both would render the Federation CRD there, and Argo CD refuses a resource two Applications render', severity: 'error' },
  DBT5007: { title: 'spread shard servers open to any source', hint: 'list memberClusters[].podCIDRs and federation.podCIDRs in the environment file (the addresses pods of other member clusters and the federation manager connect from); the servers\' NetworkPolicy then admits exactly those', severity: 'warning' },
  DBT5008: { title: 'spread MySQL shard with asynchronous replication', hint: 'use replication: { mode: semi-sync } (a primary then waits for a replica before it acknowledges, and never falls back to async), or place the topology in one member cluster (placement.memberClusters)', severity: 'error' },
  DBT5009: { title: 'Sentinels do not watch spread shards', hint: 'the federation manager, not Sentinel, detects the failure of a shard spread over member clusters and chooses its primary (docs/federation.md); the Sentinels keep watching the shards that live in one member cluster. Place the topology in one member cluster for Sentinel failover, or accept this', severity: 'warning' },
  DBT5010: { title: 'spread shard that cannot survive the loss of a member cluster', hint: 'a spread shard\'s primary acknowledges a write only once a replica in another member cluster has it, so the loss of any one member cluster leaves it writable only when its servers live in three or more: place them over a third member cluster (placement.memberClusters), or acknowledge with placement.memberClusterLoss: pause-writes (writes pause, none acknowledged is lost, until the member cluster returns)', severity: 'error' },
  DBT5011: { title: 'federation manager inside a member cluster', hint: 'set federation.destination to a cluster that holds no spread shard\'s servers (a management cluster, as Argo CD\'s own by default): the federation manager is the one failure detector of spread shards, and must not be lost with the primary it would fail over', severity: 'warning' },
  DBT5005: { title: 'member cluster gets no server', hint: 'list fewer member clusters in placement.memberClusters, or raise replicas', severity: 'warning' },

  // ── cli ───────────────────────────────────────────────────────────────────────────────────
  DBT9101: { title: 'invalid acknowledgements file', hint: 'fix acknowledgements.yaml (plan input: acknowledged deletions and migrations)', severity: 'error' },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export function isCode(code: string): code is Code {
  return Object.hasOwn(CODES, code);
}
