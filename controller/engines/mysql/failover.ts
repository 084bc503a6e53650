// MariaDB failover without Sentinel. The decision is pure and made from the recent probe history
// of every member, so one lost probe never causes a failover: the primary must have failed
// `failureThreshold` probes in a row. The most advanced reachable server is promoted (what it
// received, Gtid_IO_Pos, not only what it applied: with semi-sync an acknowledged commit may
// still sit in its relay log). Candidates are the replicas and the servers that came back
// read-only and unwired — above all the lost primary itself after a crash of every member: a
// restarted replica discards its relay log (GTID mode) and re-fetches from gtid_slave_pos, so an
// acknowledged commit may then exist only in the restarted primary's binlog. Ties go to a
// replica (the recreated or restarted pod then simply rejoins), then to the lowest ordinal.
//
// The lost primary is not touched here: it may be frozen or cut off rather than dead. When it
// answers again, fence.ts makes it read-only and a replica before it is ever labelled.
import type { EngineSpec, EventReason } from '../../../schemas/types/index.js';
import { byAdvancement, type ReplicaView } from '../../update/candidate.js';
import type { EngineTarget, ProbeResult } from '../types.js';
import { guardSplitBrain, type SplitBrainResolution } from '../splitbrain.js';
import { MysqlPool } from './client.js';
import { fence } from './fence.js';
import { MysqlDriver } from './replication.js';
import { gtidToOffset } from './probe.js';
import { receivedGtid, replicaViews, waitApplied } from './switchover.js';

export interface MemberHistory {
  target: EngineTarget;
  /** Probe results, oldest first. */
  probes: ProbeResult[];
  /** Received position (MySQL Gtid_IO_Pos as a number), when known. */
  received?: number;
}

export type FailoverDecision =
  | { action: 'none'; reason: string }
  | { action: 'wait'; reason: string }
  | { action: 'promote'; candidate: string; lostPrimary?: string; reason: string };

const position = (v: ReplicaView): number => v.received ?? v.probe.offset ?? -1;
const isPrimary = (p: ProbeResult | undefined): boolean => p?.reachable === true && p.role === 'primary';
/** Read-only and replicating from nobody: a restarted, recreated or fenced server that claims no role. */
const isUnwired = (p: ProbeResult | undefined): boolean => p?.reachable === true && p.role === undefined && p.following === undefined;

export function decideFailover(input: {
  members: MemberHistory[];
  failureThreshold: number;
  /** The pod currently labelled primary, if any. */
  labelledPrimary?: string;
}): FailoverDecision {
  const k = Math.max(1, input.failureThreshold);
  const { members } = input;
  const healthyPrimary = members.find((m) => isPrimary(m.probes.at(-1)));
  if (healthyPrimary) return { action: 'none', reason: `${healthyPrimary.target.podName} is primary` };

  const lost = members.find((m) => m.target.podName === input.labelledPrimary);
  // Who must have failed k probes in a row: the labelled primary, or (no label) everybody.
  const watched = lost ? [lost] : members;
  for (const m of watched) {
    const recent = m.probes.slice(-k);
    if (recent.length < k || recent.some(isPrimary)) {
      const failed = [...m.probes].reverse().findIndex(isPrimary);
      const n = failed === -1 ? m.probes.length : failed;
      return { action: 'wait', reason: `${m.target.podName} failed ${Math.min(n, k)}/${k} probes` };
    }
  }

  const candidates: ReplicaView[] = members
    .flatMap((m) => {
      const last = m.probes.at(-1);
      const replica = last?.reachable === true && last.role === 'secondary' && m !== lost;
      if (!replica && !isUnwired(last)) return [];
      return [{ target: m.target, probe: last!, ...(m.received !== undefined ? { received: m.received } : {}) }];
    })
    // Most advanced first; on a tie a replica before an unwired server, then the lowest ordinal.
    .sort((a, b) => position(b) - position(a) || Number(a.probe.role !== 'secondary') - Number(b.probe.role !== 'secondary') || byAdvancement(a, b));
  const best = candidates[0];
  // An unwired server that is not the lost primary (a fresh pod) is promoted only over replicas it beats.
  if (!best || (best.probe.role !== 'secondary' && best.target.podName !== lost?.target.podName && !candidates.some((c) => c.probe.role === 'secondary'))) {
    return { action: 'wait', reason: 'no reachable replica to promote' };
  }
  const pos = position(best);
  return {
    action: 'promote',
    candidate: best.target.podName,
    ...(lost ? { lostPrimary: lost.target.podName } : {}),
    reason: `${lost ? `primary ${lost.target.podName} failed ${k} probes in a row` : `no primary for ${k} probes`}; ${best.target.podName} is the most advanced replica (position ${pos ?? 'unknown'})`,
  };
}

export interface FailoverResult {
  promoted: string;
  steps: string[];
  totalMs: number;
}

/**
 * Carries out a `promote` decision: the candidate first applies everything it received (bounded),
 * then is promoted; the other reachable replicas follow it. The lost primary is skipped.
 */
export async function executeFailover(
  candidate: EngineTarget,
  others: EngineTarget[],
  spec: EngineSpec,
  timeoutMs = 10_000,
): Promise<FailoverResult> {
  const started = Date.now();
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  const at = (): string => `+${Date.now() - started} ms`;
  try {
    const io = (await receivedGtid(pool, candidate)) ?? '';
    // No more events from the (possibly half-alive) old primary while we promote. Stopping an IO
    // thread blocked on a frozen primary takes seconds, so every replica is stopped at once.
    await Promise.all(
      [candidate, ...others].map((t) => pool.query(t, 'STOP SLAVE IO_THREAD', timeoutMs).catch(() => undefined)),
    );
    steps.push(`stopped the IO threads ${at()}`);
    if (!(await waitApplied(pool, candidate, io, timeoutMs))) {
      steps.push(`${candidate.podName} had not applied ${io} after ${timeoutMs} ms; promoting anyway`);
    } else {
      steps.push(`${candidate.podName} applied ${io || '(empty)'} ${at()}`);
    }
    await driver.promote(candidate, spec);
    steps.push(`promoted ${candidate.podName} ${at()}`);
    await Promise.all(
      others.map((r) =>
        driver.follow(r, candidate, spec).then(
          () => steps.push(`${r.podName} follows ${candidate.podName} ${at()}`),
          (err: unknown) => steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`),
        ),
      ),
    );
    return { promoted: candidate.podName, steps, totalMs: Date.now() - started };
  } finally {
    await pool.close();
    await driver.close();
  }
}

/** One probe round for the failover history: the applied view plus the received position, each bounded by `timeoutMs`. */
export async function observe(targets: EngineTarget[], timeoutMs = 1_000): Promise<ReplicaView[]> {
  const pool = new MysqlPool();
  try {
    return await Promise.all(
      targets.map(async (t) => {
        // A frozen server accepts TCP but never answers the handshake: bound every probe.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<ReplicaView>((resolve) => {
          timer = setTimeout(() => resolve({ target: t, probe: { reachable: false, error: `no answer in ${timeoutMs} ms` } }), timeoutMs);
        });
        const view = replicaViews(pool, [t], timeoutMs).then((v) => v[0]!);
        try {
          return await Promise.race([view, late]);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  } finally {
    // Do not wait for connections stuck on a frozen server; they time out on their own.
    void pool.close();
  }
}

export interface FailoverState {
  /** Probe history per pod, oldest first. */
  history: Map<string, ProbeResult[]>;
  /** The pod labelled primary; updated by failoverRound. */
  labelledPrimary?: string;
}

export interface RoundResult {
  decision: FailoverDecision;
  failover?: FailoverResult;
  splitBrain?: SplitBrainResolution;
  /** Pods fenced / repointed to the primary this round, with what was done. */
  fenced: Array<{ pod: string; steps: string[]; linkError?: string }>;
  /** The pod to label primary after this round (undefined: label nobody). */
  primary?: string;
}

/**
 * One round of the MariaDB role keeper (no Sentinel): probe everyone; two primaries → split-brain
 * guard; no primary for failureThreshold probes → promote the most advanced replica; otherwise
 * fence and repoint every reachable server that does not follow the primary (a former primary
 * coming back is made read-only and a replica before it could be labelled).
 */
export async function failoverRound(
  state: FailoverState,
  targets: EngineTarget[],
  spec: EngineSpec,
  opts: { failureThreshold: number; probeTimeoutMs?: number },
): Promise<RoundResult> {
  const views = await observe(targets, opts.probeTimeoutMs ?? 1_000);
  const keep = Math.max(opts.failureThreshold, 10);
  for (const v of views) {
    const h = state.history.get(v.target.podName) ?? [];
    h.push(v.probe);
    state.history.set(v.target.podName, h.slice(-keep));
  }
  const fenced: RoundResult['fenced'] = [];
  const claimants = views.filter((v) => v.probe.reachable && v.probe.role === 'primary');
  if (claimants.length > 1) {
    const splitBrain = await guardSplitBrain(
      spec,
      views.map((v) => ({ target: v.target, probe: v.probe, labelledPrimary: v.target.podName === state.labelledPrimary })),
    );
    state.labelledPrimary = splitBrain?.decision.keep;
    return { decision: { action: 'none', reason: 'split brain resolved' }, ...(splitBrain ? { splitBrain } : {}), fenced, ...(state.labelledPrimary ? { primary: state.labelledPrimary } : {}) };
  }
  const members: MemberHistory[] = views.map((v) => ({
    target: v.target,
    probes: state.history.get(v.target.podName) ?? [],
    ...(v.received !== undefined ? { received: v.received } : {}),
  }));
  const decision = decideFailover({
    members,
    failureThreshold: opts.failureThreshold,
    ...(state.labelledPrimary ? { labelledPrimary: state.labelledPrimary } : {}),
  });
  if (decision.action === 'promote') {
    const candidate = targets.find((t) => t.podName === decision.candidate)!;
    const others = views
      .filter((v) => v.probe.reachable && v.target.podName !== decision.candidate && v.target.podName !== decision.lostPrimary)
      .map((v) => v.target);
    const failover = await executeFailover(candidate, others, spec);
    state.labelledPrimary = candidate.podName;
    return { decision, failover, fenced, primary: candidate.podName };
  }
  if (decision.action === 'none' && claimants.length === 1) {
    const primary = claimants[0]!.target;
    for (const v of views) {
      if (v.target === primary || !v.probe.reachable) continue;
      const f = v.probe.following;
      if (v.probe.role === 'secondary' && f?.host === primary.host && f.port === primary.port) continue;
      const r = await fence(v.target, primary, spec).catch((err: unknown) => ({
        changed: false,
        steps: [`could not fence: ${err instanceof Error ? err.message : String(err)}`],
      }));
      fenced.push({ pod: v.target.podName, steps: r.steps, ...('linkError' in r && r.linkError ? { linkError: r.linkError } : {}) });
    }
    state.labelledPrimary = primary.podName;
    return { decision, fenced, primary: primary.podName };
  }
  return { decision, fenced };
}

export interface KeeperState {
  /** Probe history per pod, oldest first. */
  history: Map<string, ProbeResult[]>;
  /**
   * The pod last seen labelled primary, remembered so that a primary whose pod is deleted (its
   * label goes with it, and the recreated pod carries none) is still the one watched.
   */
  lastPrimary?: EngineTarget;
}

/** Per InstanceSet key; the controller keeps one map (ControllerMemory.mysqlKeepers). */
export type Keepers = Map<string, KeeperState>;

export interface KeeperMember {
  target: EngineTarget;
  probe: ProbeResult;
  labelledPrimary: boolean;
}

type KeeperEvent = { type: 'Normal' | 'Warning'; reason: Extract<EventReason, 'Failover' | 'Fenced'>; message: string };

/** Received positions (Gtid_IO_Pos) of the reachable replicas, each bounded; missing ones are left out. */
async function receivedPositions(members: KeeperMember[], timeoutMs: number): Promise<Map<string, number>> {
  const pool = new MysqlPool();
  try {
    const out = new Map<string, number>();
    await Promise.all(
      members
        .filter((m) => m.probe.reachable && m.probe.role === 'secondary')
        .map(async (m) => {
          const io = await receivedGtid(pool, m.target).catch(() => undefined);
          const n = io === undefined ? undefined : gtidToOffset(io);
          if (n !== undefined) out.set(m.target.podName, n);
        }),
    );
    return out;
  } finally {
    void pool.close();
  }
}

/**
 * The MariaDB part of the controller's role-probe round (no Sentinel), fed with the probes the
 * round already made: keeps the probe history per InstanceSet `key`, fails over when the
 * primary failed `failureThreshold` probes in a row, and fences reachable servers that replicate
 * from nobody (a restarted former primary boots read-only and unwired) onto the primary. Two
 * claimants are left to the split-brain guard. Returns Events to emit; the caller re-probes
 * before labelling when any were returned.
 *
 * The primary watched is the pod labelled primary, else the one last seen labelled (its pod was
 * deleted: it counts as failing while it is away), else everybody (a controller restarted while
 * no pod carried the label). A set nobody wired yet is bootstrapped elsewhere (role-plan.ts).
 */
export async function keepMysqlRoles(
  keepers: Keepers,
  key: string,
  spec: EngineSpec,
  members: KeeperMember[],
  failureThreshold: number,
): Promise<KeeperEvent[]> {
  const state = keepers.get(key) ?? { history: new Map<string, ProbeResult[]>() };
  keepers.set(key, state);
  const keep = Math.max(failureThreshold, 10);
  const labelledNow = members.find((m) => m.labelledPrimary)?.target;
  if (labelledNow !== undefined) state.lastPrimary = labelledNow;
  const watched = labelledNow ?? state.lastPrimary;
  const rounds: Array<{ target: EngineTarget; probe: ProbeResult }> = [...members];
  // The watched primary's pod is gone or terminating (no target this round): a failed probe.
  if (watched !== undefined && !members.some((m) => m.target.podName === watched.podName)) {
    rounds.push({ target: watched, probe: { reachable: false, error: `pod ${watched.podName} is gone` } });
  }
  for (const m of rounds) {
    const h = state.history.get(m.target.podName) ?? [];
    h.push(m.probe);
    state.history.set(m.target.podName, h.slice(-keep));
  }
  const claimants = members.filter((m) => isPrimary(m.probe));
  if (claimants.length > 1) return [];
  // Only a set that was wired fails over; a fresh one is bootstrapped by the role plan.
  const wired = members.some((m) => m.probe.reachable && m.probe.role === 'secondary');
  const decide = (received: Map<string, number>): FailoverDecision =>
    decideFailover({
      members: rounds.map((m) => ({
        target: m.target,
        probes: state.history.get(m.target.podName) ?? [],
        ...(received.has(m.target.podName) ? { received: received.get(m.target.podName)! } : {}),
      })),
      failureThreshold,
      ...(watched !== undefined ? { labelledPrimary: watched.podName } : {}),
    });
  let decision = decide(new Map());
  if (decision.action === 'promote' && wired) {
    // Choose by what the replicas received, not only what they applied.
    decision = decide(await receivedPositions(members, 1_000));
  }
  if (decision.action === 'promote' && wired) {
    const chosen = decision.candidate;
    const candidate = members.find((m) => m.target.podName === chosen)!.target;
    const others = members.filter((m) => m.probe.reachable && m.target !== candidate && m.target.podName !== decision.lostPrimary).map((m) => m.target);
    const r = await executeFailover(candidate, others, spec);
    state.history.clear();
    state.lastPrimary = candidate;
    return [{ type: 'Warning', reason: 'Failover', message: `${decision.reason}; promoted ${r.promoted} in ${r.totalMs} ms: ${r.steps.join('; ')}` }];
  }
  const primary = claimants[0];
  if (decision.action !== 'none' || primary === undefined) return [];
  state.lastPrimary = primary.target;
  const events: KeeperEvent[] = [];
  for (const m of members) {
    if (m === primary || !isUnwired(m.probe)) continue;
    const f = await fence(m.target, primary.target, spec);
    events.push({
      type: f.linkError ? 'Warning' : 'Normal',
      reason: 'Fenced',
      message: `${m.target.podName} replicated from nobody; made it read-only and a replica of ${primary.target.podName}: ${f.steps.join('; ')}${f.linkError ? `; it cannot replicate (${f.linkError}): rebuild it` : ''}`,
    });
  }
  return events;
}

/** Forget the history of a deleted InstanceSet. */
export function forgetMysqlRoles(keepers: Keepers, key: string): void {
  keepers.delete(key);
}
