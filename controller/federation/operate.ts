// Carries out the one operation decideFederatedShard chose, through the shard's Engine (the same
// engine code the member clusters' role loops use). Intent first: an operation that makes a new
// primary (bootstrap, failover) records it in the Federation's status before any engine is
// touched (`record`); if that write fails nothing is done, and a manager killed after it finishes
// the same decision on its next round (decide.ts, case 2). Returns what it did, for status and
// Events; an engine error is a message, retried next round.
import type { EngineSpec } from '../../schemas/types/index.js';
import type { Engine, EngineTarget } from '../engines/types.js';
import { acknowledgesFor, type FedMember, type FedOperation, type RecordedPrimary } from './decide.js';

/** Bound of one planned hand-off in the engines. */
const SWITCHOVER_TIMEOUT_MS = 30_000;

/** How long a failover waits for the replicas' received positions. */
const RECEIVED_TIMEOUT_MS = 1_000;

export interface OperatePorts {
  engine: Engine;
  spec: EngineSpec;
  /** Durably records `primary` as the shard's primary (Federation status) before the engines move. */
  record(primary: RecordedPrimary): Promise<void>;
}

export interface Outcome {
  /** Something changed in an engine (or the record): re-observe before publishing labels. */
  acted: boolean;
  steps: string[];
  error?: string;
}

export async function operateFederated(ports: OperatePorts, members: FedMember[], op: FedOperation): Promise<Outcome> {
  const { engine, spec } = ports;
  const byPod = new Map(members.map((m) => [m.podName, m]));
  const t = (pod: string): EngineTarget | undefined => byPod.get(pod)?.target;
  // Members are named by their key (decide.ts FedMember.podName); the record names the pod itself.
  const ref = (pod: string): RecordedPrimary => ({ memberCluster: byPod.get(pod)?.memberCluster ?? '', pod: byPod.get(pod)?.pod ?? pod });
  // Each of `pods` follows `primary`; semi-sync acknowledgements only from other member clusters than the primary's (decide.ts).
  const followAll = async (pods: string[], primary: string, p: EngineTarget): Promise<void> => {
    for (const f of pods) {
      const r = t(f);
      if (r === undefined) continue;
      const acknowledges = acknowledgesFor(byPod.get(f)?.memberCluster ?? '', byPod.get(primary)?.memberCluster ?? '');
      if (await engine.follow(r, p, spec, { acknowledges })) steps.push(`${f} follows ${primary}`);
    }
  };
  const steps: string[] = [];
  try {
    switch (op.kind) {
      case 'none':
        return { acted: false, steps };
      case 'adopt':
        await ports.record(ref(op.primary));
        steps.push(`recorded ${op.primary} as the primary: ${op.reason}`);
        return { acted: true, steps };
      case 'bootstrap': {
        const p = t(op.primary);
        if (p === undefined) return { acted: false, steps, error: `${op.primary} has no address` };
        await ports.record(ref(op.primary));
        if (await engine.promote(p, spec)) steps.push(`promoted ${op.primary}`);
        await followAll(op.follow, op.primary, p);
        return { acted: true, steps };
      }
      case 'failover': {
        const c = t(op.candidate);
        if (c === undefined) return { acted: false, steps, error: `${op.candidate} has no address` };
        await ports.record(ref(op.candidate));
        const others = op.others.flatMap((pod) => (t(pod) !== undefined ? [t(pod)!] : []));
        const r = await engine.failover(c, others, spec);
        steps.push(`promoted ${r.promoted} in ${r.totalMs} ms`, ...r.steps);
        return { acted: true, steps };
      }
      case 'demote': {
        const keep = t(op.keep);
        if (keep === undefined) return { acted: false, steps, error: `${op.keep} has no address` };
        for (const pod of op.demote) {
          const d = t(pod);
          if (d === undefined) continue;
          const res = await engine.demote(d, keep, spec);
          steps.push(...res.steps);
          if (res.linkError !== undefined) steps.push(`${pod} cannot replicate (${res.linkError}): it stays read-only; rebuild it from ${op.keep}`);
        }
        return { acted: true, steps };
      }
      case 'switchover': {
        const from = t(op.from);
        const to = t(op.to);
        if (from === undefined || to === undefined) return { acted: false, steps, error: `${from === undefined ? op.from : op.to} has no address` };
        await ports.record(ref(op.to));
        const replicas = members.filter((m) => m.podName !== op.from && m.target !== undefined).map((m) => m.target!);
        const r = await engine.switchover({ primary: from, replicas, candidate: op.to, spec, timeoutMs: SWITCHOVER_TIMEOUT_MS });
        steps.push(`primary moved from ${r.from} to ${r.to} in ${r.totalMs} ms (writes paused ${r.pausedMs} ms)`);
        return { acted: true, steps };
      }
      case 'wire': {
        const p = t(op.primary);
        if (p === undefined) return { acted: false, steps, error: `${op.primary} has no address` };
        await followAll(op.follow, op.primary, p);
        return { acted: steps.length > 0, steps };
      }
    }
  } catch (err) {
    return { acted: true, steps, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Received positions of the reachable replicas (a failover chooses by what they received). */
export async function receivedOf(engine: Engine, members: FedMember[]): Promise<Map<string, number>> {
  const replicas = members.filter((m) => m.probe?.reachable === true && m.probe.role === 'secondary' && m.target !== undefined).map((m) => m.target!);
  return replicas.length === 0 ? new Map() : await engine.receivedPositions(replicas, RECEIVED_TIMEOUT_MS);
}
