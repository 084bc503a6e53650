// The one table of engines with roles. Sentinels and proxies have no role to probe, so they have
// no Engine; a Sentinel set's job in the role loop is its monitors (MONITORS). Adding an engine: a
// folder controller/engines/<engine>/ with an engine.ts that implements Engine (types.ts), and a
// row here.
import type { EngineSpec } from '../../schemas/types/index.js';
import { MysqlEngine } from './mysql/engine.js';
import { RedisEngine } from './redis/engine.js';
import type { Engine } from './types.js';

export type { Engine, EngineTarget, ProbeResult, ServerDriver } from './types.js';

const ENGINES: Partial<Record<EngineSpec['type'], () => Engine>> = {
  redis: () => new RedisEngine(),
  mysql: () => new MysqlEngine(),
};

/** A new engine (with its own connection pool) for `type`, or undefined when the type has no roles. */
export function engineFor(type: EngineSpec['type']): Engine | undefined {
  return ENGINES[type]?.();
}

/** Does `type` have primary/secondary roles (and so an Engine)? */
export function hasRoles(type: EngineSpec['type']): boolean {
  return ENGINES[type] !== undefined;
}

/** Engine types whose sets watch other sets' primaries instead of holding roles. */
const MONITORS: Partial<Record<EngineSpec['type'], true>> = { 'redis-sentinel': true };

/** Does a set of this engine monitor shards (a Sentinel set with monitors: roles/sentinel-monitors.ts)? */
export function monitorsShards(spec: EngineSpec): boolean {
  return MONITORS[spec.type] === true && (spec.monitors?.length ?? 0) > 0;
}
