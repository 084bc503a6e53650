// Planned MariaDB switchover without losing a committed write:
//  1. old primary: SET GLOBAL read_only=1 (waits for running commits, then refuses writes of every
//     account without READ_ONLY ADMIN), then kill its client sessions so a writer with a
//     privileged account or an open transaction cannot go on (we do not use FLUSH TABLES WITH
//     READ LOCK: it would have to be held on a session for the whole switchover and blocks
//     replication threads' metadata too);
//  2. wait (MASTER_GTID_WAIT, bounded) until the candidate applied the old primary's gtid_binlog_pos;
//  3. promote the candidate (STOP SLAVE; RESET SLAVE ALL; read_only=0);
//  4. repoint the old primary and the other replicas (CHANGE MASTER TO … MASTER_USE_GTID=slave_pos).
// If anything fails before the promotion, the old primary is made writable again.
import type { EngineSpec } from '../../../schemas/types/index.js';
import { chooseCandidate, type ReplicaView } from '../../update/candidate.js';
import type { EngineTarget, SwitchoverResult } from '../types.js';

export type { SwitchoverResult };
import { MysqlPool } from './client.js';
import { disableSemiSyncMaster, killClientSessions } from './fence.js';
import { gtidToOffset, probeMysql } from './probe.js';
import { MysqlDriver } from './replication.js';

const TIMEOUT_MS = 5_000;

export interface MysqlSwitchoverRequest {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Pod to promote; undefined or 'any' = the most advanced healthy replica. */
  candidate?: string;
  spec: EngineSpec;
  /** Bound of the catch-up wait (and so of the write outage when a replica lags). */
  timeoutMs?: number;
}


/** Gtid_IO_Pos of a replica: what it has received, which may be ahead of what it applied. */
export async function receivedGtid(pool: MysqlPool, t: EngineTarget): Promise<string | undefined> {
  const [row] = await pool.query(t, 'SHOW SLAVE STATUS', TIMEOUT_MS);
  const v = row?.['Gtid_IO_Pos'];
  return v === undefined || v === null ? undefined : String(v);
}

export async function replicaViews(pool: MysqlPool, replicas: EngineTarget[], timeoutMs = TIMEOUT_MS): Promise<ReplicaView[]> {
  return await Promise.all(
    replicas.map(async (t) => {
      const probe = await probeMysql(pool, t, timeoutMs);
      const io = probe.reachable ? await receivedGtid(pool, t).catch(() => undefined) : undefined;
      const received = io === undefined ? undefined : gtidToOffset(io);
      return { target: t, probe, ...(received !== undefined ? { received } : {}) };
    }),
  );
}

/** Waits until `t` applied `gtid`; false on timeout. */
export async function waitApplied(pool: MysqlPool, t: EngineTarget, gtid: string, timeoutMs: number): Promise<boolean> {
  if (gtid.trim() === '') return true;
  const seconds = Math.max(0.1, timeoutMs / 1000);
  const [row] = await pool.query(t, 'SELECT MASTER_GTID_WAIT(?, ?) AS r', timeoutMs + TIMEOUT_MS, [gtid, seconds]);
  return Number(row?.['r']) === 0;
}

export async function switchoverMysql(req: MysqlSwitchoverRequest): Promise<SwitchoverResult> {
  const started = Date.now();
  const timeoutMs = req.timeoutMs ?? 30_000;
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  const { primary } = req;
  let fenced = false;
  let promoted = false;
  try {
    const p = await probeMysql(pool, primary, TIMEOUT_MS);
    if (p.role !== 'primary') {
      throw new Error(`${primary.podName} is not a primary (${p.error ?? p.role ?? 'no role'}); re-read the roles and retry`);
    }
    const candidate = chooseCandidate(primary, await replicaViews(pool, req.replicas), req.candidate);
    steps.push(`candidate ${candidate.podName}`);

    await pool.query(primary, 'SET GLOBAL read_only = 1', timeoutMs);
    fenced = true;
    const fencedAt = Date.now();
    const killed = await killClientSessions(pool, primary);
    steps.push(`read_only=1 on ${primary.podName}, killed ${killed} client session(s)`);

    const [row] = await pool.query(primary, 'SELECT @@global.gtid_binlog_pos AS pos', TIMEOUT_MS);
    const pos = String(row?.['pos'] ?? '');
    if (!(await waitApplied(pool, candidate, pos, Math.max(1_000, started + timeoutMs - Date.now())))) {
      throw new Error(`${candidate.podName} did not apply ${pos} within ${timeoutMs} ms; the switchover was rolled back, retry when replication lag is low`);
    }
    steps.push(`${candidate.podName} applied ${pos || '(empty)'}`);

    await driver.promote(candidate, req.spec);
    promoted = true;
    const pausedMs = Date.now() - fencedAt;
    steps.push(`promoted ${candidate.podName}`);

    await driver.follow(primary, candidate, req.spec);
    await disableSemiSyncMaster(pool, primary);
    for (const r of req.replicas) {
      if (r.podName === candidate.podName) continue;
      await driver.follow(r, candidate, req.spec).catch((err: unknown) => {
        steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    steps.push(`repointed ${primary.podName} and the other replicas to ${candidate.podName}`);
    return { from: primary.podName, to: candidate.podName, pausedMs, totalMs: Date.now() - started, steps };
  } catch (err) {
    if (fenced && !promoted) await pool.query(primary, 'SET GLOBAL read_only = 0', TIMEOUT_MS).catch(() => undefined);
    throw err;
  } finally {
    await pool.close();
    await driver.close();
  }
}
