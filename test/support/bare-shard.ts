// The role loop's round (controller/roles/round.ts) over bare engine processes: the same
// snapshot → decideState → operation → settle path the controller runs, with the role labels
// kept in a Map instead of on pods (there is no Kubernetes here). Used by the engine tests that
// exercise failover and fencing on real servers, and by the round's unit test with a fake engine.
import type { EngineSpec, Role, SwitchoverStatus } from '../../schemas/types/index.js';
import type { Engine, EngineTarget } from '../../controller/engines/types.js';
import type { ProbeHistory } from '../../controller/roles/failover.js';
import type { RoleEvent } from '../../controller/roles/operate.js';
import { runRound, type RoundIntent, type RoundOutcome, type RoundPorts } from '../../controller/roles/round.js';

export interface BareShard {
  engine: Engine;
  spec: EngineSpec;
  targets: EngineTarget[];
  /** Pod name → role label. */
  labels: Map<string, Role>;
  history: ProbeHistory;
  failureThreshold: number;
  probeTimeoutMs: number;
  /** Sentinel watches the shard (default false). */
  sentinelManaged?: boolean;
  /** The switchover records the round wrote, in order (status.switchover in the controller). */
  records?: SwitchoverStatus[];
}

/** One round; the Events it emitted come back with the outcome. */
export async function bareRound(shard: BareShard, intent: RoundIntent = { switching: false }): Promise<RoundOutcome & { events: RoleEvent[] }> {
  const events: RoleEvent[] = [];
  const byName = new Map(shard.targets.map((t) => [t.podName, t]));
  const records = (shard.records ??= []);
  const ports: RoundPorts = {
    engine: shard.engine,
    spec: shard.spec,
    emit: (e) => events.push(e),
    switchover: {
      record: async (rec, expect) => {
        const cur = records.at(-1) ?? intent.switchover;
        if (expect !== undefined && (cur?.startedAt !== expect.startedAt || cur.phase !== 'Requested')) return false;
        records.push(rec);
        return true;
      },
      exclusive: (fn) => fn(),
      now: () => Date.now(),
    },
    snapshot: async () => ({
      members: await Promise.all(
        shard.targets.map(async (t, i) => {
          const label = shard.labels.get(t.podName);
          return { podName: t.podName, ordinal: i, host: t.host, port: t.port, probe: await shard.engine.probe(t, shard.probeTimeoutMs), ...(label !== undefined ? { label } : {}) };
        }),
      ),
      targets: byName,
      sentinelManaged: shard.sentinelManaged ?? false,
      failoverBy: shard.engine.failoverBy,
      failureThreshold: shard.failureThreshold,
      history: shard.history,
    }),
    settle: async (_snap, roles) => {
      for (const c of roles.labels) {
        if (c.role === undefined) shard.labels.delete(c.podName);
        else shard.labels.set(c.podName, c.role);
      }
    },
  };
  return { ...(await runRound(ports, intent)), events };
}
