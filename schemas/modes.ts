// The one table of the topology language's modes: which engine each belongs to, whether it takes
// Sentinel, a proxy, shards, how many servers per shard, and what it is, in words. The JSON
// Schema's enums, the TypeScript types, the semantic rules (compiler/validate/topology-rules.ts),
// resolve, place and expand, and the generated reference (docs/topology-language.md) all read it.
// Adding a mode starts here; then the expansion of its objects (compiler/expand/).

export type Need = 'required' | 'optional' | 'forbidden';

export interface ModeRule {
  engine: 'redis' | 'mysql';
  sentinel: Need;
  /** `required`: clients only ever talk to the proxy. */
  proxy: Need;
  /** Takes `shards` (each shard its own primary). */
  sharded: boolean;
  /** Servers per shard, primary included. */
  maxReplicas?: number;
  doc: string;
}

export const MODES = {
  standalone: { engine: 'redis', sentinel: 'forbidden', proxy: 'forbidden', sharded: false, maxReplicas: 1, doc: 'one Redis server, no replicas' },
  replication: { engine: 'redis', sentinel: 'required', proxy: 'forbidden', sharded: false, doc: 'a primary and replicas; Sentinel detects failure and promotes a replica' },
  'proxied-replication': { engine: 'redis', sentinel: 'optional', proxy: 'required', sharded: false, doc: 'replication behind twemproxy: clients talk to the proxy only' },
  sharded: { engine: 'redis', sentinel: 'optional', proxy: 'required', sharded: true, doc: 'several shards, each a primary with replicas, behind twemproxy' },
  'primary-replica': { engine: 'mysql', sentinel: 'forbidden', proxy: 'optional', sharded: false, doc: 'a MariaDB primary with replicas (async or semi-sync), optionally behind HAProxy' },
} as const satisfies Record<string, ModeRule>;

export type TopologyMode = keyof typeof MODES;
export type ModeOf<E extends ModeRule['engine']> = { [M in TopologyMode]: (typeof MODES)[M]['engine'] extends E ? M : never }[TopologyMode];
export type RedisMode = ModeOf<'redis'>;
export type MysqlMode = ModeOf<'mysql'>;

const modesOf = <E extends ModeRule['engine']>(engine: E): ModeOf<E>[] => (Object.keys(MODES) as TopologyMode[]).filter((m): m is ModeOf<E> => MODES[m].engine === engine);
export const ALL_MODES = Object.keys(MODES) as TopologyMode[];
export const REDIS_MODES: readonly RedisMode[] = modesOf('redis');
export const MYSQL_MODES: readonly MysqlMode[] = modesOf('mysql');

/** The proxy each engine runs where its mode takes one. */
export const PROXY_KIND = { redis: 'twemproxy', mysql: 'haproxy' } as const;

export const modeRule = (mode: TopologyMode): ModeRule => MODES[mode];
