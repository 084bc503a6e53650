// Split-brain guard: when more than one engine reports primary, keep one and demote the others
// IN THE ENGINE (Engine.demote — Redis: REPLICAOF the survivor; MariaDB: fence.ts — read_only,
// kill client sessions, CHANGE MASTER), so the label writer can then label exactly one pod primary.
//
// The role loop (controller/roles/) chooses with chooseSurvivor in its pure decision (SplitBrain)
// and demotes through demoteOthers; members = [{ target, probe, labelledPrimary }] for every server pod.
//
// Which one is kept, in order: the one the role label (and so the primary Service) points at —
// clients already write there; else the one Sentinel reports; else the most advanced
// offset / GTID; ties to the lowest ordinal.
import type { EngineSpec } from '../../schemas/types/index.js';
import { ordinalOf } from '../update/plan.js';
import type { Engine, EngineTarget, ProbeResult } from './types.js';

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

/** Demotes every claimant but the survivor in the engine (Engine.demote); a failure is a step, retried next round. */
export async function demoteOthers(engine: Engine, spec: EngineSpec, members: SplitBrainMember[], decision: SplitBrainDecision): Promise<SplitBrainResolution> {
  const keep = members.find((m) => m.target.podName === decision.keep)!.target;
  const steps: string[] = [];
  for (const name of decision.demote) {
    const t = members.find((m) => m.target.podName === name)!.target;
    try {
      const d = await engine.demote(t, keep, spec);
      steps.push(...d.steps);
      if (d.linkError) steps.push(`${name} cannot replicate (${d.linkError}); it stays read-only, rebuild it from ${keep.podName}`);
    } catch (err) {
      steps.push(`could not demote ${name}: ${err instanceof Error ? err.message : String(err)}; retrying on the next probe`);
    }
  }
  return {
    decision,
    event: { type: 'Warning', reason: 'SplitBrain', message: `${decision.reason}. ${steps.join('; ')}` },
    steps,
  };
}
