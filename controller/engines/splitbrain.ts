// Split-brain guard: when more than one engine reports primary, keep one and demote the others
// IN THE ENGINE (Redis: REPLICAOF the survivor; MariaDB: fence.ts — read_only, kill client
// sessions, CHANGE MASTER), so the label writer can then label exactly one pod primary.
//
// Called by the role-probe loop after every probe round (RUNTIME):
//   const r = await guardSplitBrain(spec, members, { sentinelView });
//   if (r) { emit Event(r.event); re-probe before labelling }
// where members = [{ target, probe, labelledPrimary }] for every server pod of the InstanceSet.
//
// Which one is kept, in order: the one the role label (and so the primary Service) points at —
// clients already write there; else the one Sentinel reports; else the most advanced
// offset / GTID; ties to the lowest ordinal.
import type { EngineSpec } from '../../schemas/types/index.js';
import { ordinalOf } from '../update/plan.js';
import { fence } from './mysql/fence.js';
import { RedisDriver } from './redis/replication.js';
import type { EngineTarget, ProbeResult } from './types.js';

export interface SplitBrainMember {
  target: EngineTarget;
  probe: ProbeResult;
  /** The pod carries the primary role label now. */
  labelledPrimary: boolean;
}

export interface SplitBrainDecision {
  keep: string;
  demote: string[];
  reason: string;
}

/** Pure: undefined when at most one engine claims primary. */
export function chooseSurvivor(
  members: SplitBrainMember[],
  sentinelView?: { host: string; port: number },
): SplitBrainDecision | undefined {
  const claimants = members.filter((m) => m.probe.reachable && m.probe.role === 'primary');
  if (claimants.length < 2) return undefined;
  const names = claimants.map((m) => m.target.podName);
  const labelled = claimants.filter((m) => m.labelledPrimary);
  let keep: SplitBrainMember | undefined;
  let why: string;
  if (labelled.length === 1) {
    keep = labelled[0]!;
    why = 'it carries the primary label (clients write there)';
  } else if (sentinelView && (keep = claimants.find((m) => m.target.host === sentinelView.host && m.target.port === sentinelView.port))) {
    why = 'Sentinel reports it as primary';
  } else {
    keep = [...claimants].sort(
      (a, b) =>
        (b.probe.offset ?? -1) - (a.probe.offset ?? -1) ||
        ordinalOf(a.target.podName) - ordinalOf(b.target.podName) ||
        (a.target.podName < b.target.podName ? -1 : 1),
    )[0]!;
    why = `it is the most advanced (offset ${keep.probe.offset ?? 'unknown'}), ties to the lowest ordinal`;
  }
  const demote = names.filter((n) => n !== keep.target.podName);
  return { keep: keep.target.podName, demote, reason: `${names.join(' and ')} all report primary; keeping ${keep.target.podName}: ${why}` };
}

export interface SplitBrainResolution {
  decision: SplitBrainDecision;
  /** For a Kubernetes Event on the InstanceSet. */
  event: { type: 'Warning'; reason: 'SplitBrain'; message: string };
  steps: string[];
}

/** Chooses a survivor and demotes the others in the engine; undefined when there is no split brain. */
export async function guardSplitBrain(
  spec: EngineSpec,
  members: SplitBrainMember[],
  opts: { sentinelView?: { host: string; port: number } } = {},
): Promise<SplitBrainResolution | undefined> {
  const decision = chooseSurvivor(members, opts.sentinelView);
  if (!decision) return undefined;
  const keep = members.find((m) => m.target.podName === decision.keep)!.target;
  const steps: string[] = [];
  const redis = spec.type === 'redis' ? new RedisDriver() : undefined;
  try {
    for (const name of decision.demote) {
      const t = members.find((m) => m.target.podName === name)!.target;
      try {
        if (redis) {
          await redis.follow(t, keep, spec);
          steps.push(`REPLICAOF ${keep.podName} on ${name}`);
        } else if (spec.type === 'mysql') {
          const f = await fence(t, keep, spec);
          steps.push(...f.steps);
          if (f.linkError) steps.push(`${name} cannot replicate (${f.linkError}); it stays read-only, rebuild it from ${keep.podName}`);
        } else {
          throw new Error(`engine ${spec.type} has no roles`);
        }
      } catch (err) {
        steps.push(`could not demote ${name}: ${err instanceof Error ? err.message : String(err)}; retrying on the next probe`);
      }
    }
  } finally {
    await redis?.close();
  }
  return {
    decision,
    event: { type: 'Warning', reason: 'SplitBrain', message: `${decision.reason}. ${steps.join('; ')}` },
    steps,
  };
}
