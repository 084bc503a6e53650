// A topology file as the user writes it (environments/topologies/*.yaml): one database.
// Derived from the JSON Schema in schemas/topology.schema.ts, the one place a field is added or
// changed; the names below are views into the derived type for the code that works with one part.

import type { FromSchema } from 'json-schema-to-ts';
import type { topologySchema } from '../topology.schema.js';
import type { MysqlMode, RedisMode, TopologyMode } from '../modes.js';
export type { MysqlMode, RedisMode, TopologyMode };

export interface Topology extends FromSchema<typeof topologySchema> {}

export type Engine = Topology['engine'];
/** Kubernetes quantities as strings ("500m", "2", "4Gi"). */
export type Resources = NonNullable<Topology['resources']>;
export type Storage = NonNullable<Topology['storage']>;
export type Placement = NonNullable<Topology['placement']>;
/** Heterogeneous instances: `replicas` of the servers differ from the common shape. */
export type InstanceOverride = NonNullable<Topology['instances']>[number];
export type SecretRef = NonNullable<Topology['credentials']>['password'];
export type SentinelSpec = NonNullable<Topology['sentinel']>;
export type ProxySpec = NonNullable<Topology['proxy']>;
/** Fields an environment may override for one topology (topology.overrides.<env>). */
export type TopologyOverride = NonNullable<Topology['overrides']>[string];
