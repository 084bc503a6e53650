// MysqlEngine: the Engine interface for MariaDB servers (controller/engines/types.ts). MariaDB
// has no Sentinel, so the controller is its failover: the role loop promotes the most advanced
// replica after failureThreshold lost probes (failover.ts) and fences a server that comes back
// writable or unwired (fence.ts). Semi-sync's primary side belongs on the primary only (semisync.ts).
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { DemoteResult, Engine, EngineTarget, FailoverResult, ProbeResult, SemiSyncFixes, SwitchoverRequest, SwitchoverResult } from '../types.js';
import { executeFailover, receivedPositions } from './failover.js';
import { fence } from './fence.js';
import { MysqlDriver } from './replication.js';
import { semiSyncFixes } from './semisync.js';
import { switchoverMysql } from './switchover.js';

/** Offsets are GTID sequence numbers, i.e. transactions. */
export const MYSQL_MAX_BEHIND = { limit: 5, unit: 'transactions' };

export class MysqlEngine extends MysqlDriver implements Engine {
  readonly type = 'mysql' as const;
  readonly failoverBy = 'controller' as const;
  readonly maxBehind = MYSQL_MAX_BEHIND;

  async demote(t: EngineTarget, keep: EngineTarget, spec: EngineSpec): Promise<DemoteResult> {
    const f = await fence(t, keep, spec);
    return { steps: f.steps, ...(f.linkError !== undefined ? { linkError: f.linkError } : {}) };
  }

  async receivedPositions(replicas: EngineTarget[], timeoutMs: number): Promise<Map<string, number>> {
    return await receivedPositions(replicas, timeoutMs);
  }

  async failover(candidate: EngineTarget, others: EngineTarget[], spec: EngineSpec): Promise<FailoverResult> {
    return await executeFailover(candidate, others, spec);
  }

  async switchover(req: SwitchoverRequest): Promise<SwitchoverResult> {
    const { sentinels: _none, journal: _unused, ...common } = req;
    return await switchoverMysql(common);
  }

  semiSync(members: Array<{ podName: string; probe?: ProbeResult }>, primaryPod: string | undefined, spec: EngineSpec): SemiSyncFixes {
    return semiSyncFixes(members, primaryPod, spec.replication?.mode === 'semi-sync');
  }
}
