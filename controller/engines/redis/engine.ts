// RedisEngine: the Engine interface for Redis servers (controller/engines/types.ts). Probing and
// wiring come from RedisDriver; a planned switchover from switchover.ts (under Sentinel, Sentinel
// carries it out). Redis failover is Sentinel's: the role loop never promotes a Redis replica on
// its own (a shard without Sentinel keeps a lost primary until a person acts, as documented in
// docs/engines.md). Redis has no semi-sync.
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { DemoteResult, Engine, EngineTarget, FailoverResult, SemiSyncFixes, SwitchoverRequest, SwitchoverResult } from '../types.js';
import { RedisDriver } from './replication.js';
import { switchoverRedis } from './switchover.js';

/**
 * Offsets are bytes of the replication stream: 64 KiB only absorbs what a live link streams
 * within one probe, so an updated secondary that counts as caught up really is.
 */
export const REDIS_MAX_BEHIND = { limit: 64 * 1024, unit: 'bytes' };

export class RedisEngine extends RedisDriver implements Engine {
  readonly type = 'redis' as const;
  readonly failoverBy = 'sentinel' as const;
  readonly maxBehind = REDIS_MAX_BEHIND;

  async demote(t: EngineTarget, keep: EngineTarget, spec: EngineSpec): Promise<DemoteResult> {
    await this.follow(t, keep, spec);
    return { steps: [`REPLICAOF ${keep.podName} on ${t.podName}`] };
  }

  /** A Redis replica's offset is what it received: the probe already has it. */
  async receivedPositions(replicas: EngineTarget[], timeoutMs: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(
      replicas.map(async (t) => {
        const p = await this.probe(t, timeoutMs);
        if (p.reachable && p.offset !== undefined) out.set(t.podName, p.offset);
      }),
    );
    return out;
  }

  async failover(candidate: EngineTarget, others: EngineTarget[], spec: EngineSpec): Promise<FailoverResult> {
    const started = Date.now();
    const steps: string[] = [];
    await this.promote(candidate, spec);
    steps.push(`REPLICAOF NO ONE on ${candidate.podName}`);
    for (const r of others) {
      await this.follow(r, candidate, spec).then(
        () => steps.push(`REPLICAOF ${candidate.podName} on ${r.podName}`),
        (err: unknown) => steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    return { promoted: candidate.podName, steps, totalMs: Date.now() - started };
  }

  async switchover(req: SwitchoverRequest): Promise<SwitchoverResult> {
    const { sentinels, ...common } = req;
    const s = req.spec.replication?.sentinel;
    if (s === undefined) return await switchoverRedis(common);
    if (sentinels === undefined || sentinels.length === 0) {
      throw new Error(`no sentinel of ${s.instanceSet} is reachable; a switchover of a Sentinel-managed shard needs them`);
    }
    return await switchoverRedis({ ...common, sentinel: { sentinels, masterName: s.masterName } });
  }

  semiSync(): SemiSyncFixes {
    return { disableOn: [] };
  }
}
