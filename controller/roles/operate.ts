// Carries out one operation of the role loop's decision (decide.ts) through the shard's Engine,
// and says what it did as Events. The I/O here is the engine's and, for a switchover, the record's
// (through SwitchoverPorts); the caller re-snapshots.
import type { EngineSpec, EventReason, SwitchoverStatus } from '../../schemas/types/index.js';
import { deferRecord, finishRecord, runRecord, USER_REQUEST } from '../reconcile/instanceset/switchover-record.js';
import { demoteOthers } from '../engines/splitbrain.js';
import type { Engine, EngineTarget, PriorityJournal } from '../engines/types.js';
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
  /** Where switchover records go; without it a Requested switchover is left alone. */
  switchover?: SwitchoverPorts;
}

/** What carrying out a Requested switchover needs beyond the engine. */
export interface SwitchoverPorts {
  /**
   * Writes the record (status.switchover). With `expect`: only while the current record still is
   * that request, Requested (not replaced by a newer one meanwhile); false: it is not, nothing written.
   */
  record(rec: SwitchoverStatus, expect?: SwitchoverStatus): Promise<boolean>;
  /** Runs the engine switchover with the shard's lock held (no role-watch probe meanwhile). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Redis under Sentinel: the sentinels watching the shard (they carry the switchover out). */
  sentinels?(): Promise<EngineTarget[]>;
  /** Where a switchover notes what it changed on a pod before it changes it (replica-priority). */
  journal?: PriorityJournal;
  now(): number;
}

/** How long one planned switchover may take in the engines. */
const SWITCHOVER_TIMEOUT_MS = 30_000;

/** How long the failover waits for each replica's received position. */
const RECEIVED_TIMEOUT_MS = 1_000;

/** Resolves to 'deferred' when a switchover was tried and stays Requested (try again soon). */
export async function operate(ctx: OperateContext, snap: ShardSnapshot, op: Exclude<Operation, { kind: 'settle' } | { kind: 'none' }>): Promise<'deferred' | undefined> {
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
    case 'switchover':
      return ctx.switchover !== undefined ? await switchover(ctx, ctx.switchover, snap, op.request) : undefined;
    case 'resolve': {
      if (ctx.switchover === undefined) return;
      const rec = finishRecord(op.request, op.phase, op.message, ctx.switchover.now());
      if (await ctx.switchover.record(rec, op.request)) {
        ctx.emit(op.phase === 'Succeeded' ? { type: 'Normal', reason: 'SwitchoverDone', action: 'Switchover', message: op.message } : { type: 'Warning', reason: 'SwitchoverFailed', action: 'Switchover', message: `switchover from ${op.request.from} refused: ${op.message}` });
      }
      return;
    }
  }
}

/**
 * Intent first: the record says Running before any engine is touched, Succeeded or Failed after.
 * Right after a replica was replaced, Sentinel still has its old INFO (refreshed every 10 s) and
 * answers NOGOODSLAVE: a request of the update step stays Requested and is tried next round.
 */
async function switchover(ctx: OperateContext, sw: SwitchoverPorts, snap: ShardSnapshot, request: SwitchoverStatus): Promise<'deferred' | undefined> {
  const primary = snap.targets.get(request.from);
  if (primary === undefined) return;
  const running = runRecord(request);
  if (!(await sw.record(running, request))) return;
  ctx.emit({ type: 'Normal', reason: 'Switchover', action: 'Switchover', message: `moving the primary away from ${request.from} to ${request.to ?? 'the most advanced secondary'} (${request.reason})` });
  try {
    const sentinels = sw.sentinels !== undefined ? await sw.sentinels() : undefined;
    const replicas = [...snap.targets.values()].filter((t) => t.podName !== request.from);
    const res = await sw.exclusive(() =>
      ctx.engine.switchover({
        primary,
        replicas,
        spec: ctx.spec,
        timeoutMs: SWITCHOVER_TIMEOUT_MS,
        ...(request.to !== undefined ? { candidate: request.to } : {}),
        ...(sentinels !== undefined ? { sentinels } : {}),
        ...(sw.journal !== undefined ? { journal: sw.journal } : {}),
      }),
    );
    const done = `primary moved from ${res.from} to ${res.to} in ${res.totalMs} ms (writes paused ${res.pausedMs} ms)`;
    ctx.emit({ type: 'Normal', reason: 'SwitchoverDone', action: 'Switchover', message: done });
    // The engines moved; a record that fails to land is settled from the labels (settleOrphan).
    await sw.record(finishRecord(running, 'Succeeded', done, sw.now())).catch(() => undefined);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (request.reason !== USER_REQUEST && /NOGOODSLAVE|no healthy replica/.test(msg)) {
      const why = msg.split(';')[0]!;
      if (request.message === undefined) ctx.emit({ type: 'Normal', reason: 'UpdateWaiting', action: 'Update', message: `${request.reason.startsWith('before updating') ? 'rolling update' : 'switchover'} waits: no updated secondary can be promoted yet (${why})` });
      await sw.record(deferRecord(running, why, sw.now()));
      return 'deferred';
    }
    ctx.emit({ type: 'Warning', reason: 'SwitchoverFailed', action: 'Switchover', message: `switchover from ${request.from} failed: ${msg}` });
    await sw.record(finishRecord(running, 'Failed', msg, sw.now())).catch(() => undefined);
  }
  return undefined;
}
