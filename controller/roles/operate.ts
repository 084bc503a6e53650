// Carries out one operation of the role loop's decision (decide.ts) through the shard's Engine,
// and says what it did as Events. The only I/O here is the engine's; the caller re-snapshots.
import type { EngineSpec, EventReason } from '../../schemas/types/index.js';
import { demoteOthers } from '../engines/splitbrain.js';
import type { Engine } from '../engines/types.js';
import { engineViews, type Operation, type ShardSnapshot } from './decide.js';
import { failoverFromHistory } from './failover.js';

export interface RoleEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  /** The Event's action. */
  action: string;
  message: string;
}

/** What a round needs from the world: the shard's engine and where its Events go. */
export interface OperateContext {
  engine: Engine;
  spec: EngineSpec;
  emit(e: RoleEvent): void;
}

/** How long the failover waits for each replica's received position. */
const RECEIVED_TIMEOUT_MS = 1_000;

export async function operate(ctx: OperateContext, snap: ShardSnapshot, op: Exclude<Operation, { kind: 'settle' } | { kind: 'none' }>): Promise<void> {
  const { engine, spec } = ctx;
  const target = (pod: string) => snap.targets.get(pod);
  switch (op.kind) {
    case 'wire': {
      const p = op.promote !== undefined ? target(op.promote) : undefined;
      if (p !== undefined && (await engine.promote(p, spec))) {
        ctx.emit({ type: 'Normal', reason: 'Bootstrap', action: 'Promote', message: `made ${op.promote} the primary (lowest ordinal of a new set)` });
      }
      for (const f of op.follow) {
        const r = target(f.replica);
        const to = target(f.primary);
        if (r === undefined || to === undefined) continue;
        if (await engine.follow(r, to, spec)) ctx.emit({ type: 'Normal', reason: 'Wired', action: 'Follow', message: `${f.replica} now replicates from ${f.primary}` });
      }
      return;
    }
    case 'demote': {
      const r = await demoteOthers(engine, spec, engineViews(snap), op.survivor);
      ctx.emit({ type: r.event.type, reason: r.event.reason, action: 'Demote', message: r.event.message });
      return;
    }
    case 'failover': {
      const history = snap.history;
      if (history === undefined || snap.watched === undefined) return;
      const views = engineViews(snap);
      // Choose by what the replicas received, not only what they applied.
      const replicas = views.filter((v) => v.probe.reachable && v.probe.role === 'secondary').map((v) => v.target);
      const fd = failoverFromHistory(history, snap.watched, snap.failureThreshold, await engine.receivedPositions(replicas, RECEIVED_TIMEOUT_MS));
      if (fd.action !== 'promote') return;
      const candidate = target(fd.candidate);
      if (candidate === undefined) return;
      const others = views.filter((v) => v.probe.reachable && v.target.podName !== fd.candidate && v.target.podName !== fd.lostPrimary).map((v) => v.target);
      const r = await engine.failover(candidate, others, spec);
      history.history.clear();
      history.lastPrimary = candidate;
      const loss =
        fd.unreceived === undefined
          ? ''
          : spec.replication?.mode === 'semi-sync'
            ? ' (semi-sync fell back to asynchronous replication: rpl_semi_sync_master_timeout passed without an acknowledgement)'
            : ' (asynchronous replication acknowledges a commit before any replica has it; replication mode semi-sync loses none)';
      ctx.emit({ type: 'Warning', reason: 'Failover', action: 'Failover', message: `${fd.reason}${loss}; promoted ${r.promoted} in ${r.totalMs} ms: ${r.steps.join('; ')}` });
      return;
    }
    case 'fence': {
      const primary = target(op.primary);
      if (primary === undefined) return;
      for (const pod of op.pods) {
        const t = target(pod);
        if (t === undefined) continue;
        const f = await engine.demote(t, primary, spec);
        ctx.emit({
          type: f.linkError ? 'Warning' : 'Normal',
          reason: 'Fenced',
          action: 'Failover',
          message: `${pod} replicated from nobody; made it read-only and a replica of ${op.primary}: ${f.steps.join('; ')}${f.linkError ? `; it cannot replicate (${f.linkError}): rebuild it` : ''}`,
        });
      }
      return;
    }
  }
}
