// A topology file as the user writes it (environments/topologies/*.yaml): one database.
// The JSON Schema in schemas/topology.schema.ts is the validator; this type is what the
// compiler works with after validation. Keep both in step (test/unit/schemas.test.ts checks).

export type Engine = 'redis' | 'mysql';
import type { MysqlMode, RedisMode, TopologyMode } from '../modes.js';
export type { MysqlMode, RedisMode, TopologyMode };

/** Kubernetes quantities as strings ("500m", "2", "4Gi"). */
export interface Resources {
  cpu?: string;
  memory?: string;
}

export interface Storage {
  size: string;
  class?: string;
}

export interface Placement {
  /** Spread each shard's servers across the member cluster's zones (topologySpreadConstraints). */
  zoneSpread?: boolean;
  /** Keep servers of one shard off the same node. */
  antiAffinity?: 'required' | 'preferred' | 'none';
  /** Guaranteed QoS with integer CPUs (requests = limits), for the static CPU manager policy. */
  exclusiveCpu?: boolean;
  /** Member clusters this topology runs in; default: one chosen by the environment's weights. */
  memberClusters?: string[];
  nodeSelector?: Record<string, string>;
}

/** Heterogeneous instances: `replicas` of the servers differ from the common shape. */
export interface InstanceOverride {
  name: string;
  replicas: number;
  resources?: Resources;
  zone?: string;
  nodeSelector?: Record<string, string>;
}

export interface SecretRef {
  name: string;
  key: string;
}

export interface SentinelSpec {
  replicas: number;
  quorum: number;
  resources?: Resources;
}

export interface ProxySpec {
  /** twemproxy (nutcracker) for Redis; haproxy for MySQL. */
  kind?: 'twemproxy' | 'haproxy';
  replicas: number;
  resources?: Resources;
  port?: number;
}

/** Fields an environment may override for one topology (topology.overrides.<env>). */
export interface TopologyOverride {
  version?: string;
  replicas?: number;
  shards?: number;
  resources?: Resources;
  storage?: Partial<Storage>;
  sentinel?: Partial<SentinelSpec>;
  proxy?: Partial<ProxySpec>;
  placement?: Placement;
  parameters?: Record<string, string | number | boolean>;
  instances?: InstanceOverride[];
}

export interface Topology {
  name: string;
  /** Team owning the database; used by namespace rules. */
  team?: string;
  namespace?: string;
  engine: Engine;
  mode: TopologyMode;
  version: string;
  /** Servers per shard, primary included. */
  replicas: number;
  /** Sharded Redis only. */
  shards?: number;
  resources?: Resources;
  storage?: Storage;
  placement?: Placement;
  sentinel?: SentinelSpec;
  proxy?: ProxySpec;
  /** MySQL replication: async, or semi-sync (the primary waits for one replica to acknowledge). */
  replication?: { mode: 'async' | 'semi-sync' };
  /** Engine parameters written into redis.conf / my.cnf. */
  parameters?: Record<string, string | number | boolean>;
  instances?: InstanceOverride[];
  credentials?: { password: SecretRef; username?: SecretRef };
  /** Environments this topology is deployed to; default: all. */
  environments?: string[];
  overrides?: Record<string, TopologyOverride>;
}
