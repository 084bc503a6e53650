// RedisDriver: probe, follow (REPLICAOF host port) and promote (REPLICAOF NO ONE).
// Both writes are idempotent: the engine is probed first and nothing is sent when it already
// is where we want it, so a level-triggered reconciler can call them every pass.
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { EngineTarget, ProbeResult, ServerDriver } from '../types.js';
import { RedisPool } from './client.js';
import { probeRedis } from './probe.js';

const COMMAND_TIMEOUT_MS = 2_000;

/** Pure: does `p` already follow `primary`? (The link may still be syncing; re-sending REPLICAOF would not help.) */
export function alreadyFollows(p: ProbeResult, primary: EngineTarget): boolean {
  return p.role === 'secondary' && p.following?.host === primary.host && p.following.port === primary.port;
}

export class RedisDriver implements ServerDriver {
  private readonly pool = new RedisPool();

  async probe(t: EngineTarget, timeoutMs: number): Promise<ProbeResult> {
    return await probeRedis(this.pool, t, timeoutMs);
  }

  async follow(replica: EngineTarget, primary: EngineTarget, _spec: EngineSpec): Promise<boolean> {
    const now = await this.mustProbe(replica);
    if (alreadyFollows(now, primary)) return false;
    // The replica authenticates to its primary with the primary's credentials.
    if (primary.password !== undefined) {
      await this.pool.call(replica, COMMAND_TIMEOUT_MS, 'CONFIG', 'SET', 'masterauth', primary.password);
      if (primary.username !== undefined) {
        await this.pool.call(replica, COMMAND_TIMEOUT_MS, 'CONFIG', 'SET', 'masteruser', primary.username);
      }
    }
    await this.pool.call(replica, COMMAND_TIMEOUT_MS, 'REPLICAOF', primary.host, primary.port);
    return true;
  }

  /** min-replicas-to-write on `t` (Engine.requireReplicas); nothing sent when it already is `n`. */
  async requireReplicas(t: EngineTarget, n: number): Promise<boolean> {
    const cur = (await this.pool.call(t, COMMAND_TIMEOUT_MS, 'CONFIG', 'GET', 'min-replicas-to-write')) as string[];
    if (Number(cur?.[1]) === n) return false;
    await this.pool.call(t, COMMAND_TIMEOUT_MS, 'CONFIG', 'SET', 'min-replicas-to-write', n);
    return true;
  }

  async promote(t: EngineTarget, _spec: EngineSpec): Promise<boolean> {
    const now = await this.mustProbe(t);
    if (now.role === 'primary') return false;
    await this.pool.call(t, COMMAND_TIMEOUT_MS, 'REPLICAOF', 'NO', 'ONE');
    return true;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async mustProbe(t: EngineTarget): Promise<ProbeResult> {
    const p = await this.probe(t, COMMAND_TIMEOUT_MS);
    if (!p.reachable || p.role === undefined) {
      throw new Error(`redis ${t.podName} (${t.host}:${t.port}) cannot be probed: ${p.error ?? 'no role'}; retry when the pod is Ready`);
    }
    return p;
  }
}
