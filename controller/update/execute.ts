// Runs a planned switchover on whatever engine the InstanceSet has: Redis (with or without
// Sentinel) or MariaDB. The caller resolves the pods' engine addresses.
import type { InstanceSet } from '../../schemas/types/index.js';
import { switchoverMysql } from '../engines/mysql/switchover.js';
import { switchoverRedis, type PriorityJournal, type SwitchoverResult } from '../engines/redis/switchover.js';
import type { EngineTarget } from '../engines/types.js';

export interface SwitchoverTargets {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Redis with Sentinel: the sentinels watching this shard. */
  sentinels?: EngineTarget[];
}

export async function executeSwitchover(
  is: InstanceSet,
  t: SwitchoverTargets,
  candidate: string | undefined,
  timeoutMs = 30_000,
  journal?: PriorityJournal,
): Promise<SwitchoverResult> {
  const spec = is.spec.engine;
  const common = { primary: t.primary, replicas: t.replicas, spec, timeoutMs, ...(candidate !== undefined ? { candidate } : {}) };
  switch (spec.type) {
    case 'redis': {
      const s = spec.replication?.sentinel;
      if (s !== undefined) {
        if (!t.sentinels || t.sentinels.length === 0) {
          throw new Error(`no sentinel of ${s.instanceSet} is reachable; a switchover of a Sentinel-managed shard needs them`);
        }
        return await switchoverRedis({ ...common, sentinel: { sentinels: t.sentinels, masterName: s.masterName }, ...(journal !== undefined ? { journal } : {}) });
      }
      return await switchoverRedis(common);
    }
    case 'mysql':
      return await switchoverMysql(common);
    default:
      throw new Error(`${is.metadata.name} (${spec.type}) has no roles; nothing to switch over`);
  }
}
