// driverFor: the ServerDriver of an engine type. Only servers have one; sentinels and proxies
// have no role to probe.
import type { EngineSpec } from '../../schemas/types/index.js';
import { MysqlDriver } from './mysql/replication.js';
import { RedisDriver } from './redis/replication.js';
import type { ServerDriver } from './types.js';

export type { EngineTarget, ProbeResult, ServerDriver } from './types.js';

/** A new driver (with its own connection pool) for `type`, or undefined when the type has no roles. */
export function driverFor(type: EngineSpec['type']): ServerDriver | undefined {
  switch (type) {
    case 'redis':
      return new RedisDriver();
    case 'mysql':
      return new MysqlDriver();
    default:
      return undefined;
  }
}
