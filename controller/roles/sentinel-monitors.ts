// Sentinel InstanceSets: every sentinel monitors each shard it watches (SENTINEL MONITOR, with the
// shared timing), and a +switch-master subscription kicks the shard's role round at once, so a
// Sentinel failover is relabelled without waiting for the next probe period.
import { SENTINEL_TIMING, type InstanceSet } from '../../schemas/types/index.js';
import type { CredentialsReader } from '../engines/credentials.js';
import { ensureMonitor, watchSwitchMaster } from '../engines/redis/sentinel.js';
import { podStatus } from '../reconcile/instanceset/pods.js';
import { engineTargets } from '../reconcile/instanceset/targets.js';
import { keyOf, type ControllerContext } from '../runtime/context.js';

/** The +switch-master subscription of one Sentinel set, and the sentinels it listens to. */
export interface SwitchWatch {
  switchWatch?: { close(): Promise<void> };
  sentinelsWatched?: string;
}

/** Every sentinel monitors each shard it watches; +switch-master kicks the shard's probe at once. */
export async function keepMonitors(ctx: ControllerContext, creds: CredentialsReader, is: InstanceSet, watch: SwitchWatch, kick: (key: string) => void): Promise<void> {
  const namespace = is.metadata.namespace ?? 'default';
  const pods = ctx.caches.pods.byLabel(namespace, is.metadata.name).filter((p) => podStatus(p).podIP !== undefined);
  const sentinels = [...(await engineTargets(creds, is, pods)).values()];
  const ids = sentinels.map((s) => `${s.host}:${s.port}`).sort().join(',');
  if (watch.sentinelsWatched !== ids) {
    await watch.switchWatch?.close();
    const monitors = is.spec.engine.monitors ?? [];
    watch.switchWatch = watchSwitchMaster(sentinels, (masterName) => {
      const m = monitors.find((x) => x.masterName === masterName);
      if (m !== undefined) kick(keyOf(namespace, m.instanceSet));
    });
    watch.sentinelsWatched = ids;
  }
  for (const m of is.spec.engine.monitors ?? []) {
    const server = ctx.caches.instanceSets.get(namespace, m.instanceSet);
    const primaryName = server?.status?.primary;
    const primaryPod = primaryName !== undefined ? ctx.caches.pods.get(namespace, primaryName) : undefined;
    const ip = primaryPod !== undefined ? podStatus(primaryPod).podIP : undefined;
    if (server === undefined || primaryName === undefined || ip === undefined) continue; // no primary yet
    const primary = await creds.target(namespace, server.spec.engine, { podName: primaryName, host: ip, port: m.port });
    for (const s of sentinels) {
      try {
        const changed = await ensureMonitor(s, m.masterName, primary, m.quorum, {
          downAfterMs: SENTINEL_TIMING.downAfterMs,
          failoverTimeoutMs: SENTINEL_TIMING.failoverTimeoutMs,
          parallelSyncs: SENTINEL_TIMING.parallelSyncs,
          ...(primary.password !== undefined ? { authPass: primary.password } : {}),
          ...(primary.username !== undefined ? { authUser: primary.username } : {}),
        });
        if (changed) ctx.events.emit(is, 'Normal', 'Monitor', 'Monitor', `${s.podName} monitors ${m.masterName} at ${primaryName}`);
      } catch (err) {
        ctx.log.warn({ sentinel: s.podName, master: m.masterName, err: err instanceof Error ? err.message : String(err) }, 'ensureMonitor failed');
      }
    }
  }
}
