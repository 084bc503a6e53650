// One round of the role loop over one shard: snapshot → decideState → one operation → a fresh
// snapshot → … until the decision is to settle (label), at most one of each operation per round
// (decide.ts states the order). Kubernetes stays outside: the caller passes how to snapshot and
// how to settle, so the same round runs in the controller (controller/roles/kube-shard.ts) and
// against bare engines in tests.
import type { SwitchoverStatus } from '../../schemas/types/index.js';
import { decideState, engineViews, type Operation, type OperationKind, type ShardSnapshot, type ShardState, unsettled } from './decide.js';
import { recordProbes } from './failover.js';
import { operate, type OperateContext } from './operate.js';
import type { RoleDecision } from './role-plan.js';

export interface RoundPorts extends OperateContext {
  /** A fresh snapshot: every engine probed now. */
  snapshot(): Promise<ShardSnapshot>;
  /** Applies the settle decision: role labels, semi-sync, electability, warnings. */
  settle(snap: ShardSnapshot, roles: RoleDecision): Promise<void>;
}

export interface RoundOutcome {
  /** The state the round ended in. */
  state: ShardState;
  /** The operations it ran, in order (settle last when it got there). */
  ran: OperationKind[];
  /** The engine operations it ran, with what they were asked to do. */
  operations: Operation[];
  /** Roles still in motion: look again soon. */
  unsettled: boolean;
  /** The last snapshot. */
  snapshot?: ShardSnapshot;
  roles?: RoleDecision;
}

/** Bounds a round: wire, demote, failover, fence and switchover (or resolve) once each, then settle. */
const MAX_OPERATIONS = 6;

export interface RoundIntent {
  /** Another round of this controller holds the shard's engines (a switchover runs). */
  switching: boolean;
  /** status.switchover when it is Requested. */
  switchover?: SwitchoverStatus;
}

export async function runRound(ports: RoundPorts, intent: RoundIntent): Promise<RoundOutcome> {
  const ran: OperationKind[] = [];
  const operations: Operation[] = [];
  // Switching needs no snapshot: the switchover holds the engines, the round looks after it.
  if (intent.switching) return { state: 'Switching', ran, operations, unsettled: true };
  let snap = await ports.snapshot();
  // One entry per member per round in the failover history, from the round's first probes.
  const watched = snap.history !== undefined ? recordProbes(snap.history, engineViews(snap), snap.failureThreshold) : undefined;
  const withWatched = (s: ShardSnapshot): ShardSnapshot => (watched !== undefined ? { ...s, watched } : s);
  snap = withWatched(snap);
  let deferred = false;
  for (let i = 0; i <= MAX_OPERATIONS; i++) {
    const d = decideState(snap, { done: new Set(ran), ...(intent.switchover !== undefined ? { switchover: intent.switchover } : {}) });
    if (d.op.kind === 'none') return { state: d.state, ran, operations, unsettled: true, snapshot: snap };
    if (d.op.kind === 'settle') {
      await ports.settle(snap, d.op.roles);
      ran.push('settle');
      // A request that waits (no replica linked yet) is looked at again soon, like roles in motion.
      const waits = intent.switchover !== undefined && (deferred || (!ran.includes('switchover') && !ran.includes('resolve')));
      return { state: waits ? 'Switching' : d.state, ran, operations, unsettled: waits || unsettled(snap, d.op.roles), snapshot: snap, roles: d.op.roles };
    }
    if ((await operate(ports, snap, d.op)) === 'deferred') deferred = true;
    ran.push(d.op.kind);
    operations.push(d.op);
    // Label from what the engines report after the operation, not from what we asked for.
    snap = withWatched(await ports.snapshot());
  }
  throw new Error(`role round did not settle after ${MAX_OPERATIONS} operations (${ran.join(', ')})`);
}

