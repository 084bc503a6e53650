// Planned Redis switchover: move the primary role to a chosen (or the most advanced) replica
// without losing a write the old primary acknowledged.
//
// Without Sentinel: CLIENT PAUSE WRITE on the old primary (clients block, they do not fail), wait
// until the candidate has processed the primary's whole replication stream, REPLICAOF NO ONE on
// the candidate, repoint the other replicas and the old primary, CLIENT UNPAUSE. Writers that
// were blocked during the pause then reach a replica and get READONLY, so they retry on the new
// primary; nothing is acknowledged by the old primary after the candidate caught up.
//
// With Sentinel the controller must not promote behind Sentinel's back (Sentinel would turn the
// promoted replica back into a replica). SENTINEL FAILOVER cannot name a target, so when a
// candidate is asked for, the other replicas get replica-priority 0 (never chosen) until Sentinel
// has seen that in their INFO (it refreshes every 10 s, so a targeted switchover can take that
// long to start), then SENTINEL FAILOVER runs while the old primary is paused; the old primary is
// repointed by us right after Sentinel announces the new one (Sentinel would only do it after
// ~8 s), then unpaused, and the priorities are restored.
import type { EngineSpec } from '../../../schemas/types/index.js';
import { chooseCandidate, healthyReplicas } from '../../update/candidate.js';
import type { EngineTarget, PriorityJournal, SwitchoverResult } from '../types.js';

export type { SwitchoverResult };
import { RedisPool } from './client.js';
import { probeRedis } from './probe.js';
import { RedisDriver } from './replication.js';
import { pairs, sentinelPrimary } from './sentinel.js';

const CMD_TIMEOUT_MS = 2_000;
/** Sentinel turns a stale primary into a replica 4 × its 2 s publish period after it saw it; plus margin. */
const SENTINEL_REPOINT_MS = 15_000;

export interface RedisSwitchoverRequest {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Pod name of the replica to promote; undefined = the most advanced healthy replica. */
  candidate?: string;
  spec: EngineSpec;
  /** Upper bound of the whole operation; also the CLIENT PAUSE timeout, so a crash mid-way unpauses by itself. */
  timeoutMs?: number;
  /** With Sentinel: the sentinels watching this shard and the name they use. */
  sentinel?: { sentinels: EngineTarget[]; masterName: string };
  /** Records a replica-priority about to be set to 0, and its restore, where a successor finds it. */
  journal?: PriorityJournal;
}



async function waitUntil(what: string, deadline: number, fn: () => Promise<boolean>, intervalMs = 10): Promise<void> {
  for (let i = 0; i < 1_000_000; i++) {
    if (await fn().catch(() => false)) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function switchoverRedis(req: RedisSwitchoverRequest): Promise<SwitchoverResult> {
  const started = Date.now();
  const timeoutMs = req.timeoutMs ?? 30_000;
  const deadline = started + timeoutMs;
  const pool = new RedisPool();
  const driver = new RedisDriver();
  const steps: string[] = [];
  const { primary } = req;
  let paused = false;
  let failoverSent = false;
  let pausedAt = 0;
  let pausedMs = 0;
  const restorePriority: Array<{ t: EngineTarget; value: string }> = [];
  try {
    const p = await probeRedis(pool, primary, CMD_TIMEOUT_MS);
    if (p.role !== 'primary') {
      throw new Error(`${primary.podName} is not a primary (${p.error ?? p.role ?? 'no role'}); re-read the roles and retry`);
    }
    const probes = await Promise.all(req.replicas.map(async (t) => ({ target: t, probe: await probeRedis(pool, t, CMD_TIMEOUT_MS) })));
    let candidate = chooseCandidate(primary, probes, req.candidate);
    steps.push(`candidate ${candidate.podName}`);
    const named = req.candidate !== undefined && req.candidate !== 'any';
    // Sentinel picks a replica from its own INFO, up to 10 s old: a replica that is reachable but
    // not linked to this primary (a recreated pod still syncing, with the old pod's address) can
    // look the most advanced to it, and we cannot make it catch up under the pause. Then name the
    // best synced replica instead, so the others are made unelectable first.
    const healthy = new Set(healthyReplicas(primary, probes).map((r) => r.target.podName));
    const unsynced = probes.filter((r) => r.probe.reachable && !healthy.has(r.target.podName)).map((r) => r.target);
    const targeted = req.sentinel !== undefined && (named || unsynced.length > 0);
    if (req.sentinel && !named && targeted) steps.push(`named ${candidate.podName}: ${unsynced.map((r) => r.podName).join(', ')} not in sync`);

    if (req.sentinel) {
      // The role probe keeps a replica that is not synced at replica-priority 0 until it is (and
      // restores it one probe period later): Sentinel cannot promote it before that.
      const eligible = targeted ? [candidate] : probes.filter((r) => healthy.has(r.target.podName)).map((r) => r.target);
      const priorities = await Promise.all(eligible.map(async (t) => pairs(await pool.call(t, CMD_TIMEOUT_MS, 'CONFIG', 'GET', 'replica-priority')).get('replica-priority')));
      if (priorities.every((p) => p === '0')) {
        throw new Error(`no healthy replica electable yet (replica-priority 0 on ${eligible.map((t) => t.podName).join(', ')}); retry in a few seconds`);
      }
    }

    if (req.sentinel && targeted) {
      // Make every other reachable replica unelectable, and wait until Sentinel has read that.
      // (An unreachable one cannot be promoted by Sentinel either.)
      const reachable = new Set(probes.filter((r) => r.probe.reachable).map((r) => r.target.podName));
      for (const r of req.replicas.filter((x) => x.podName !== candidate.podName && reachable.has(x.podName))) {
        const cur = pairs(await pool.call(r, CMD_TIMEOUT_MS, 'CONFIG', 'GET', 'replica-priority')).get('replica-priority') ?? '100';
        // Already unelectable (configured so, or made so while it does not replicate, noted on its
        // pod): nothing to do and nothing to restore.
        if (cur === '0') continue;
        await req.journal?.saved(r.podName, cur);
        restorePriority.push({ t: r, value: cur });
        await pool.call(r, CMD_TIMEOUT_MS, 'CONFIG', 'SET', 'replica-priority', '0');
      }
      if (restorePriority.length > 0) {
        await waitUntil('Sentinel to see replica-priority 0 on the other replicas', deadline, async () =>
          seesPriorities(pool, req.sentinel!.sentinels, req.sentinel!.masterName, restorePriority.map((x) => x.t)),
        200);
        steps.push(`replica-priority 0 on ${restorePriority.map((x) => x.t.podName).join(', ')}`);
      }
    }

    const pauseMs = Math.max(1_000, deadline - Date.now());
    await pool.call(primary, CMD_TIMEOUT_MS, 'CLIENT', 'PAUSE', pauseMs, 'WRITE');
    paused = true;
    pausedAt = Date.now();
    steps.push('paused writes on the old primary');

    const target = Number(parseOffset(String(await pool.call(primary, CMD_TIMEOUT_MS, 'INFO', 'replication'))));
    // Sentinel picks the replica itself when no candidate was named: then every healthy replica
    // must have caught up, whichever it picks.
    const anyBySentinel = req.sentinel !== undefined && !targeted;
    const mustCatchUp = anyBySentinel ? healthyReplicas(primary, probes).map((r) => r.target) : [candidate];
    for (const c of mustCatchUp) {
      await waitUntil(`${c.podName} to reach offset ${target}`, deadline, async () => {
        return ((await probeRedis(pool, c, CMD_TIMEOUT_MS)).offset ?? -1) >= target;
      });
    }
    steps.push(`${mustCatchUp.map((c) => c.podName).join(', ')} caught up at offset ${target}`);

    if (req.sentinel) {
      const { sentinels, masterName } = req.sentinel;
      // From here on the old primary must not take writes until it follows the new one. We repoint
      // it right after the switch; should this process die first, Sentinel repoints it itself
      // ~8 s after the switch: the pause must outlast that (CLIENT PAUSE only ever extends).
      await pool.call(primary, CMD_TIMEOUT_MS, 'CLIENT', 'PAUSE', Math.max(SENTINEL_REPOINT_MS, deadline - Date.now()), 'WRITE');
      await firstAnswer(sentinels, (s) => pool.call(s, CMD_TIMEOUT_MS, 'SENTINEL', 'FAILOVER', masterName));
      failoverSent = true;
      steps.push('SENTINEL FAILOVER');
      let chosen: EngineTarget | undefined;
      await waitUntil('Sentinel to announce a new primary', deadline, async () => {
        const views = await Promise.all(sentinels.map((s) => sentinelPrimary(s, masterName).catch(() => undefined)));
        chosen = req.replicas.find((r) => views.some((v) => v?.host === r.host && v.port === r.port));
        return chosen !== undefined;
      }, 20);
      if (targeted && chosen!.podName !== candidate.podName) {
        steps.push(`Sentinel chose ${chosen!.podName} instead of ${candidate.podName}`);
      }
      candidate = chosen!;
      await waitUntil(`${candidate.podName} to be primary in the engine`, deadline, async () => {
        return (await probeRedis(pool, candidate, CMD_TIMEOUT_MS)).role === 'primary';
      });
    } else {
      await driver.promote(candidate, req.spec);
      steps.push(`REPLICAOF NO ONE on ${candidate.podName}`);
    }
    // The old primary first: it is the one clients may still be blocked on.
    await driver.follow(primary, candidate, req.spec);
    failoverSent = false; // the old primary is a replica now: unpausing it is safe whatever follows
    for (const r of req.replicas) {
      if (r.podName === candidate.podName) continue;
      await driver.follow(r, candidate, req.spec).catch((err: unknown) => {
        // A replica that is down now is repointed by the reconciler (or Sentinel) when it is back.
        steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    steps.push(`repointed ${primary.podName} and the other replicas to ${candidate.podName}`);
    await pool.call(primary, CMD_TIMEOUT_MS, 'CLIENT', 'UNPAUSE');
    paused = false;
    pausedMs = Date.now() - pausedAt;
    steps.push('unpaused the old primary');
    return { from: primary.podName, to: candidate.podName, pausedMs, totalMs: Date.now() - started, steps };
  } finally {
    // After SENTINEL FAILOVER, a failure here must not unpause: Sentinel may still be promoting,
    // and the old primary would take writes the new one never sees. The pause runs out by itself
    // after Sentinel has repointed it.
    if (paused && !failoverSent) await pool.call(primary, CMD_TIMEOUT_MS, 'CLIENT', 'UNPAUSE').catch(() => undefined);
    for (const { t, value } of restorePriority) {
      try {
        await pool.call(t, CMD_TIMEOUT_MS, 'CONFIG', 'SET', 'replica-priority', value);
        await req.journal?.restored(t.podName);
      } catch {
        // left in the journal: the role probe restores it when the replica answers again
      }
    }
    await pool.close();
    await driver.close();
  }
}

function parseOffset(info: string): string {
  const m = /^master_repl_offset:(\d+)/m.exec(info);
  if (!m) throw new Error('INFO replication has no master_repl_offset');
  return m[1]!;
}

async function firstAnswer<T>(targets: EngineTarget[], fn: (t: EngineTarget) => Promise<T>): Promise<T> {
  const errors: string[] = [];
  for (const t of targets) {
    try {
      return await fn(t);
    } catch (err) {
      errors.push(`${t.podName}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`no sentinel accepted the command (${errors.join('; ')}); check that a majority of sentinels is up`);
}

/** Does every reachable sentinel report slave-priority 0 for each of `replicas`? */
async function seesPriorities(pool: RedisPool, sentinels: EngineTarget[], masterName: string, replicas: EngineTarget[]): Promise<boolean> {
  const answers = await Promise.all(
    sentinels.map((s) => pool.call(s, CMD_TIMEOUT_MS, 'SENTINEL', 'REPLICAS', masterName).catch(() => undefined)),
  );
  let seen = 0;
  for (const a of answers) {
    if (!Array.isArray(a)) continue;
    seen++;
    const entries = a.map((x) => pairs(x));
    for (const r of replicas) {
      const e = entries.find((x) => x.get('ip') === r.host && x.get('port') === String(r.port));
      if (!e || e.get('slave-priority') !== '0') return false;
    }
  }
  return seen > 0;
}
